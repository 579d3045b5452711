"""The pipelined ring broadcast and reduce (:mod:`clustersim.collectives.chain`): NCCL's rooted
collectives, their formula, and the bus bandwidth they reach where the binomial tree cannot."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives import chain
from clustersim.collectives.algorithms import DEFAULT_PIPELINE_CHUNK
from tests.collectives.helpers import BW, LAT, MiB, scenario


def test_formula_hand_values() -> None:
    a, b, g, n = 1e-6, 1e-9, 1e-10, 1e6
    # 8 ranks, 4 chunks: 4 + 8 - 2 = 10 steps of one chunk
    assert chain.ring_broadcast_time(n, 8, a, b, chunks=4) == pytest.approx(10 * (a + n / 4 * b))
    assert chain.ring_reduce_time(n, 8, a, b, g, chunks=4) == pytest.approx(
        10 * (a + n / 4 * (b + g))
    )
    assert chain.ring_broadcast_time(n, 2, a, b, chunks=1) == pytest.approx(a + n * b)
    assert chain.chain_bytes(1.0, 8) == 7


@pytest.mark.parametrize("op", ["broadcast", "reduce"])
def test_pipelined_ring_reaches_the_link_bandwidth(op: str) -> None:
    """64 MiB on 8 ranks in 512 KiB chunks: bus bandwidth near B, where the binomial tree moves
    the whole buffer ⌈lg 8⌉ = 3 times (B/3)."""
    ring = clustersim.run(scenario(op, "ring", 8, 64 * MiB))
    tree = clustersim.run(scenario(op, "tree", 8, 64 * MiB))
    k = 64 * MiB // DEFAULT_PIPELINE_CHUNK
    assert ring.metrics["time_s"] == pytest.approx(
        (k + 6) * (LAT + DEFAULT_PIPELINE_CHUNK / BW), rel=1e-9
    )
    assert ring.metrics["busbw_Bps"] > 0.9 * BW
    assert tree.metrics["busbw_Bps"] == pytest.approx(BW / 3, rel=1e-3)
    assert ring.metrics["time_s"] < 0.37 * tree.metrics["time_s"]


def test_small_messages_favour_the_tree() -> None:
    """4 KiB in one chunk: the chain's p - 1 = 7 latencies against the tree's 3."""
    ring = clustersim.run(scenario("broadcast", "ring", 8, 4096))
    tree = clustersim.run(scenario("broadcast", "tree", 8, 4096))
    assert ring.metrics["time_s"] == pytest.approx(7 * (LAT + 4096 / BW), rel=1e-9)
    assert tree.metrics["time_s"] < ring.metrics["time_s"]


@pytest.mark.parametrize("root", [0, 3, 7])
def test_chain_from_any_root_on_a_ring_is_contention_free(root: int) -> None:
    """On a ring topology each hop of the chain is one link: simulation == formula, and the
    reverse directions and the link into the root carry nothing."""
    spec = scenario("reduce", "ring", 8, 8 * MiB, kind="ring", root=root, verify=True)
    result = clustersim.run(spec)
    assert result.passed
    assert result.metrics["time_s"] == pytest.approx(result.analytic["time_s"], rel=1e-9)
    assert len(result.metrics["bytes_per_link"]) == 7


def test_pipeline_chunk_sets_the_chunks() -> None:
    result = clustersim.run(scenario("broadcast", "ring", 4, 8 * MiB, pipeline_chunk=MiB))
    assert result.metrics["time_s"] == pytest.approx((8 + 2) * (LAT + MiB / BW), rel=1e-9)
    assert result.metrics["sim_events"] <= 3 * (8 + 2) + 10
