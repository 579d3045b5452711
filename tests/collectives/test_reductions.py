"""Reduction kernels (``reduction: device``): each algorithm's closed-form count of reducing
steps is the number of steps of its schedule in which some rank adds what it received, and
every such step costs one launch overhead, in the simulation and in the formula."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives.algorithms import ALGORITHMS
from clustersim.collectives.schedule import Plan
from tests.collectives.helpers import FLAT, MiB, scenario, two_level


def _reducing_steps(op: str, name: str, p: int, chunks: int) -> int:
    algorithm = ALGORITHMS[(op, name)]
    plan = Plan(p, np.full(algorithm.layout(p, chunks), 1024.0))
    return sum(1 for step in algorithm.schedule(plan) if step.reduced_bytes(p).max() > 0)


@pytest.mark.parametrize(("op", "name"), FLAT, ids=[f"{o}-{n}" for o, n in FLAT])
def test_the_closed_form_counts_the_schedules_reducing_steps(op: str, name: str) -> None:
    algorithm = ALGORITHMS[(op, name)]
    for p in range(2, 18):
        for chunks in (1, 3, 8) if algorithm.pipelines else (1,):
            plan = Plan(p, np.full(algorithm.layout(p, chunks), 1024.0))
            expected = _reducing_steps(op, name, p, chunks)
            assert algorithm.reduction_kernels(plan) == expected, (p, chunks)
    reduces = op in ("allreduce", "reduce_scatter", "reduce")
    assert (algorithm.reduction_kernels(Plan(8, np.full(algorithm.layout(8, 1), 8.0))) > 0) == (
        reduces
    )


def test_the_counts_by_hand() -> None:
    """Thakur et al.'s step counts: the ring's p - 1 reduce-scatter steps, ⌈lg p⌉ for the
    recursive and binomial ones, the chain's k + p - 2, the double binary tree's k + D - 1."""
    cases = {
        ("allreduce", "ring", 8, 1): 7,
        ("allreduce", "halving_doubling", 6, 1): 3,  # fold the 2 extra ranks, then lg 4 = 2
        ("allreduce", "recursive_doubling", 16, 1): 4,
        ("reduce", "tree", 5, 1): 3,
        ("reduce", "ring", 4, 8): 10,
        ("allreduce", "direct", 9, 1): 1,
        ("allreduce", "double_binary_tree", 8, 3): 3 + 3 - 1,
    }
    for (op, name, p, chunks), count in cases.items():
        algorithm = ALGORITHMS[(op, name)]
        plan = Plan(p, np.full(algorithm.layout(p, chunks), 64.0))
        assert algorithm.reduction_kernels(plan) == count, (op, name)


@pytest.mark.parametrize("name", ["ring", "halving_doubling", "double_binary_tree", "direct"])
def test_each_reduction_step_pays_one_launch(name: str) -> None:
    """Raising the launch overhead by 10 us raises the simulated and the predicted time by
    10 us per reduction kernel (fully connected: contention-free)."""
    times = {}
    for overhead in (0.0, 10e-6):
        spec = scenario("allreduce", name, 6, 6 * MiB, reduction="device")
        spec["cluster"]["device"] = {"preset": "H100", "launch_overhead": overhead}
        result = clustersim.run(spec)
        times[overhead] = (result.metrics["time_s"], result.analytic["time_s"])
        kernels = result.analytic["reduction_kernels"]
    sim = times[10e-6][0] - times[0.0][0]
    formula = times[10e-6][1] - times[0.0][1]
    assert sim == pytest.approx(kernels * 10e-6, rel=1e-9)
    assert formula == pytest.approx(kernels * 10e-6, rel=1e-9)
    assert times[10e-6][0] == pytest.approx(times[10e-6][1], rel=1e-9)


def test_the_hierarchical_all_reduce_launches_per_ring_step_that_reduces() -> None:
    """(g - 1) intra-machine reduce-scatter steps and (m - 1) inter-machine ones."""
    spec = two_level(3, 4, 4 * 64 * 12, verify=False, reduction="device")
    result = clustersim.run(spec)
    assert result.analytic["reduction_kernels"] == (4 - 1) + (3 - 1)
    assert result.metrics["time_s"] == pytest.approx(result.analytic["time_s"], rel=1e-9)


def test_free_reductions_launch_nothing() -> None:
    result = clustersim.run(scenario("allreduce", "ring", 4, MiB))
    assert "reduction_kernels" not in result.analytic
    assert result.metrics["compute_busy_s_per_rank"] == [0.0] * 4
