"""Asynchronous and stale-synchronous modes: staleness, and the clock gap SSP bounds."""

from __future__ import annotations

import pytest

from tests.training.parameter_server.helpers import MB, run


def test_async_lockstep_staleness() -> None:
    m = run(workers=5, mode="async", iterations=4).metrics
    # all five pushes land together: they are applied 0..4 updates after the parameters read
    assert m["staleness_mean"] == 2.0 and m["staleness_max"] == 4
    assert m["clock_gap_max"] == 0 and m["straggler_idle_s_mean"] == 0.0


@pytest.mark.parametrize("staleness", [0, 1, 3])
def test_ssp_bounds_the_clock_gap(staleness: int) -> None:
    factors = [1.0, 1.0, 1.0, 4.0]
    ssp = run(
        workers=4,
        mode="ssp",
        staleness=staleness,
        iterations=12,
        stragglers=factors,
        model_size=4 * MB,
    ).metrics
    free = run(
        workers=4, mode="async", iterations=12, stragglers=factors, model_size=4 * MB
    ).metrics
    assert ssp["clock_gap_max"] <= staleness
    # a gradient can be overtaken by at most 2s+1 pushes of each other worker
    assert ssp["staleness_max"] <= (4 - 1) * (2 * staleness + 1)
    assert free["clock_gap_max"] > 3  # async lets the fast workers run far ahead
    assert ssp["straggler_idle_s_mean"] > 0 and free["straggler_idle_s_mean"] == 0
    assert ssp["time_s"] == pytest.approx(free["time_s"], rel=0.3)  # the straggler sets both


def test_ssp_with_zero_staleness_is_bulk_synchronous() -> None:
    factors = [1.0, 2.0, 1.0]
    ssp = run(workers=3, mode="ssp", staleness=0, stragglers=factors).metrics
    assert ssp["clock_gap_max"] == 0
    assert ssp["staleness_max"] == 3 - 1  # only the same step's other pushes overtake
