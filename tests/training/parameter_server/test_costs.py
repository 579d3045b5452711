"""The closed forms: a push or pull phase's bound terms, and order statistics of slowed workers
against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.training.parameter_server.costs import (
    expected_order_statistic,
    order_statistic,
    ps_phase_time,
)


def test_phase_time_terms() -> None:
    # server-bound, worker-bound and route-bound phases
    assert ps_phase_time(1.0, 4, [10.0], [2.0], 10.0, [5.0]) == 1.0 + 20.0
    assert ps_phase_time(0.0, 1, [5.0, 5.0], [10.0, 10.0], 10.0, [1.0]) == 10.0
    assert ps_phase_time(0.0, 2, [6.0], [100.0], 6.0, [100.0], route_bandwidth=2.0) == 3.0


def test_expected_order_statistic_against_closed_forms() -> None:
    for w, b in ((1, 0), (8, 0), (8, 3), (32, 2)):
        # X_(k:W) of 1 + Exp(scale): scale·(1/W + ... + 1/(W-k+1)) over the shift
        k = w - b
        closed = 1 + 0.7 * sum(1 / i for i in range(w - k + 1, w + 1))
        got = expected_order_statistic(np.ones(w), "exponential", b, scale=0.7)
        assert got == pytest.approx(closed, rel=1e-6)
    # one lognormal: E[f] = exp(mu + sigma²/2)
    assert expected_order_statistic([2.0], "lognormal", mu=0.1, sigma=0.8) == pytest.approx(
        2 * math.exp(0.1 + 0.32), rel=1e-6
    )
    assert order_statistic([3.0, 1.0, 2.0, 5.0], 1) == 3.0
