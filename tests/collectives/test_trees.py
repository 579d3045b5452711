"""Tree collectives (:mod:`clustersim.collectives.trees`): NCCL's double binary trees as
``trees.cc`` draws them, the pipelined kernel for any depth, the formulas, and the link the two
trees share with three ranks."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives import trees
from clustersim.collectives.algorithms import DEFAULT_PIPELINE_CHUNK
from tests.collectives.helpers import BW, LAT, MiB, kernel_result, scenario


def test_nccl_trees_match_the_diagrams_in_trees_cc() -> None:
    a, b = trees.double_trees(12)
    # tree A (btree): 0-8, 8-4, 8-10, 4-2, 4-6, 2-1, 2-3, ...; tree B is its mirror, rooted at 11
    assert a.tolist() == [-1, 2, 4, 2, 8, 6, 4, 6, 0, 10, 8, 10]
    assert b.tolist() == [11 - x if x >= 0 else -1 for x in a[::-1]]
    shifted = trees.double_trees(13)[1]  # odd: shifted by one, rooted at 1
    assert shifted[1] == -1 and shifted[9] == 1 and shifted[0] == 9
    for p in range(2, 70):
        first, second = trees.double_trees(p)
        for parent in (first, second):
            assert (parent < 0).sum() == 1
            assert trees.tree_depth(parent).max() == (p - 1).bit_length()  # ⌈lg p⌉
        if p % 2 == 0:  # every rank is an inner node of at most one tree
            inner = [set(t[t >= 0].tolist()) for t in (first, second)]
            assert not inner[0] & inner[1]


@pytest.mark.parametrize("tree_chunks", [1, 3, 5])
def test_double_binary_tree_kernel_for_any_pipeline_depth(tree_chunks: int) -> None:
    for p in (2, 3, 5, 6, 11, 16):
        assert kernel_result("allreduce", "double_binary_tree", p, 200, tree_chunks=tree_chunks)[
            "passed"
        ]


def test_traffic_formulas_hand_values() -> None:
    assert trees.tree_bytes(1.0, 8) == 7 and trees.two_tree_bytes(1.0, 8) == 14


def test_formula_hand_values() -> None:
    a, b, g, n = 1e-6, 1e-9, 1e-10, 1e6
    assert trees.tree_allreduce_time(n, 5, a, b, g) == pytest.approx(
        6 * (a + n * b) + 3 * n * g, rel=1e-15
    )
    assert trees.binomial_broadcast_time(n, 9, a, b) == pytest.approx(4 * (a + n * b))
    # double binary tree, p = 8 (depth 3), k = 4: 2·(4+2) steps of n/8, g = 2·7 - 3 = 11 chunks
    assert trees.double_binary_tree_allreduce_time(n, 8, a, b, g, chunks=4) == pytest.approx(
        12 * (a + n / 8 * b) + 11 * n / 8 * g
    )


def test_default_pipeline_chunk_and_events() -> None:
    result = clustersim.run(scenario("allreduce", "double_binary_tree", 8, 64 * MiB))
    k = 32 * MiB // DEFAULT_PIPELINE_CHUNK
    assert result.analytic["time_s"] == pytest.approx(
        trees.double_binary_tree_allreduce_time(64 * MiB, 8, LAT, 1 / BW, chunks=k)
    )
    assert result.metrics["sim_events"] <= 3 * 2 * (k + 2) + 10


def test_double_binary_tree_with_three_ranks_shares_a_link() -> None:
    """With three ranks both trees send 2 -> 0 (and 0 -> 2) in the same steps: the port model
    counts the shared link, so the formula is slower than the one-flow-per-link one, and the
    simulation equals it."""
    result = clustersim.run(
        scenario("allreduce", "double_binary_tree", 3, 6 * MiB, pipeline_chunk=MiB)
    )
    k = 3  # 3 MiB per tree in 1 MiB chunks
    alone = trees.double_binary_tree_allreduce_time(6 * MiB, 3, LAT, 1 / BW, chunks=k)
    assert result.analytic["port_load_max"] == 2
    assert result.analytic["time_s"] > 1.05 * alone
    assert result.metrics["time_s"] == pytest.approx(result.analytic["time_s"], rel=1e-9)
