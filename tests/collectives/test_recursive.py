"""Recursive doubling and halving (:mod:`clustersim.collectives.recursive`): the formulas
against hand values from Thakur et al. and MPICH's comments, and the event count at scale."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.collectives import recursive
from tests.collectives.helpers import MiB, scenario


def test_traffic_formulas_hand_values() -> None:
    n = 1.0
    assert recursive.recursive_doubling_allreduce_bytes(n, 8) == 24  # 8 ranks × 3 steps
    assert recursive.recursive_doubling_allreduce_bytes(n, 6) == 4 * 2 + 2 * 2  # p'=4, r=2
    assert recursive.halving_doubling_allreduce_bytes(n, 6) == 10
    assert recursive.recursive_halving_reduce_scatter_bytes(n, 6) == 3 + 2 + 2 / 6


def test_formula_hand_values() -> None:
    a, b, g, n = 1e-6, 1e-9, 1e-10, 1e6
    # Rabenseifner, p = 8: 2·3·α + 2·(7/8)·nβ + (7/8)·nγ
    assert recursive.halving_doubling_allreduce_time(n, 8, a, b, g) == pytest.approx(
        6 * a + 1.75 * n * b + 0.875 * n * g, rel=1e-15
    )
    # MPICH's non-power-of-two comment, p = 6 (p' = 4): (2·2+2)α + (2·3/4 + 2)nβ + (1 + 3/4)nγ
    assert recursive.halving_doubling_allreduce_time(n, 6, a, b, g) == pytest.approx(
        6 * a + 3.5 * n * b + 1.75 * n * g, rel=1e-15
    )
    assert recursive.recursive_doubling_allreduce_time(n, 8, a, b, g) == pytest.approx(
        3 * (a + n * b + n * g), rel=1e-15
    )
    assert recursive.recursive_doubling_allreduce_time(n, 6, a, b, g) == pytest.approx(
        4 * (a + n * b) + 3 * n * g, rel=1e-15
    )
    assert recursive.recursive_doubling_allgather_time(n, 8, a, b) == pytest.approx(
        3 * a + 7 / 8 * n * b, rel=1e-15
    )
    # p = 6: fold n/6, steps of 2+min(1,2)=3 and... chunks (1 + 3 + 4 + 5) · n/6
    assert recursive.recursive_doubling_allgather_time(n, 6, a, b) == pytest.approx(
        4 * a + (4 - 1 + 3 + 6) * n / 6 * b, rel=1e-15
    )
    assert recursive.recursive_halving_reduce_scatter_time(n, 8, a, b, g) == pytest.approx(
        3 * a + 7 / 8 * n * (b + g), rel=1e-15
    )


def test_recursive_doubling_at_1024_ranks_is_cheap_in_events() -> None:
    result = clustersim.run(
        scenario("allreduce", "recursive_doubling", 1024, 64 * MiB, kind="switch")
    )
    assert result.metrics["sim_events"] <= 3 * 10 + 10
    assert result.metrics["time_s"] == pytest.approx(result.analytic["time_s"], rel=1e-9)
