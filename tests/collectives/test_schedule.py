"""Schedules (:mod:`clustersim.collectives.schedule`): the plan's chunk arithmetic, MPICH's fold
to a power of two, and every algorithm's flows against its traffic formula without a clock."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.collectives.algorithms import ALGORITHMS
from clustersim.collectives.schedule import Plan, Step, bytes_total, fold_ranks, schedule_pairs
from tests.collectives.helpers import FLAT, layout


def test_plan_size_and_chunk_ranges() -> None:
    plan = Plan(3, np.array([4.0, 4.0, 2.0]))
    assert plan.size == 10.0
    assert plan.range_bytes(0, 2).tolist() == 8.0
    assert plan.range_bytes(np.array([0, 1]), np.array([3, 2])).tolist() == [10.0, 4.0]


@pytest.mark.parametrize(
    ("p", "expected"),
    [(8, (8, 0, list(range(8)))), (6, (4, 2, [1, 3, 4, 5])), (5, (4, 1, [1, 2, 3, 4]))],
)
def test_fold_ranks_follows_mpich(p: int, expected: tuple[int, int, list[int]]) -> None:
    pof2, rem, real = fold_ranks(p)
    assert (pof2, rem, real.tolist()) == expected


def test_reduced_bytes_counts_only_reducing_flows() -> None:
    step = Step(np.array([0, 1, 2]), np.array([1, 2, 1]), np.array([1.0, 2.0, 4.0]), "t")
    assert step.reduced_bytes(3).tolist() == [0.0, 0.0, 0.0]
    step = Step(step.src, step.dst, step.sizes, "t", reduce=True)
    assert step.reduced_bytes(3).tolist() == [0.0, 5.0, 2.0]
    step = Step(step.src, step.dst, step.sizes, "t", reduce=np.array([True, False, True]))
    assert step.reduced_bytes(3).tolist() == [0.0, 5.0, 0.0]


@pytest.mark.parametrize(("op", "name"), FLAT)
@pytest.mark.parametrize("p", [2, 3, 5, 6, 8, 12])
def test_schedule_traffic_equals_the_formula(op: str, name: str, p: int) -> None:
    pof2 = fold_ranks(p)[0]
    elements = p * pof2 * 8  # chunks divide evenly for every layout
    lengths = layout(op, name, p, elements)
    algorithm = ALGORITHMS[(op, name)]
    plan = Plan(p, lengths * 4.0)
    assert bytes_total(algorithm.schedule(plan)) == algorithm.traffic(plan.size, p)


def test_schedule_pairs_are_distinct_and_sorted() -> None:
    steps = [
        Step(np.array([0, 1]), np.array([1, 0]), 1.0, "a"),
        Step(np.array([0, 1]), np.array([1, 0]), 2.0, "b"),
        Step(np.array([2]), np.array([0]), 1.0, "c"),
    ]
    src, dst = schedule_pairs(steps)
    assert list(zip(src.tolist(), dst.tolist(), strict=True)) == [(0, 1), (1, 0), (2, 0)]
    assert [a.size for a in schedule_pairs([])] == [0, 0]
