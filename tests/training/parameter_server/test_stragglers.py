"""Stragglers slow the barrier by the expected order statistic; backup workers cut it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.training.parameter_server.costs import expected_order_statistic, ps_bytes_total
from tests.training.parameter_server.helpers import C, G, run


def test_fixed_stragglers_slow_the_barrier_by_the_max_exactly() -> None:
    factors = [1.0, 1.5, 1.0, 3.0]
    result = run(workers=4, stragglers=factors)
    m, a = result.metrics, result.analytic
    assert m["time_per_iteration_s"] - a["time_per_iteration_s"] == pytest.approx(
        C * (max(factors) - 1), rel=1e-9
    )
    assert m["time_per_iteration_s"] == pytest.approx(
        a["time_per_iteration_with_stragglers_s"], rel=1e-9
    )
    # each of the 3 iterations, worker i waits C * (3 - f_i) for the slowest (f = 3)
    assert m["straggler_idle_s_per_worker"] == pytest.approx(
        [3 * C * (3.0 - f) for f in factors], rel=1e-9
    )
    assert m["straggler_idle_s_mean"] == pytest.approx(
        np.mean(m["straggler_idle_s_per_worker"]), rel=1e-12
    )
    assert max(m["straggler_idle_s_per_worker"]) < m["time_s"]  # a share of the run, not more
    assert m["compute_s"] == pytest.approx(C * np.mean(factors), rel=1e-12)
    # every worker's step is compute + barrier wait + communication
    per_worker_idle = m["straggler_idle_s_mean"] / 3
    assert m["compute_s"] + per_worker_idle + m["communication_s"] == pytest.approx(
        m["time_per_iteration_s"], rel=1e-9
    )
    assert m["straggler_idle_fraction"] == pytest.approx(
        m["straggler_idle_s_mean"] / m["time_s"], rel=1e-12
    )


def test_random_stragglers_cost_the_expected_maximum() -> None:
    workers, iterations, sigma = 8, 1500, 0.5
    result = run(
        workers=workers,
        iterations=iterations,
        seed=11,
        stragglers={"dist": "lognormal", "sigma": sigma},
    )
    m, a = result.metrics, result.analytic
    delay = m["time_per_iteration_s"] - a["time_per_iteration_s"]
    assert delay > 0  # direction: the barrier waits for the slowest worker
    expected = C * (expected_order_statistic(np.ones(workers), "lognormal", sigma=sigma) - 1)
    assert a["straggler_delay_s"] == pytest.approx(expected, rel=1e-12)
    # amount: within 4 standard errors of the mean maximum over the iterations
    draws = np.random.default_rng(0).lognormal(0, sigma, (200_000, workers)).max(axis=1)
    stderr = C * draws.std() / math.sqrt(iterations)
    assert abs(delay - expected) < 4 * stderr


def test_backup_workers_drop_the_late_gradients_and_cut_the_step() -> None:
    stragglers = {"dist": "lognormal", "sigma": 0.8}
    slow = run(workers=8, iterations=100, stragglers=stragglers).metrics
    fast = run(workers=8, iterations=100, stragglers=stragglers, backup_workers=2).metrics
    assert fast["time_per_iteration_s"] < slow["time_per_iteration_s"]
    assert fast["straggler_idle_s_mean"] < slow["straggler_idle_s_mean"]
    assert fast["gradients_dropped"] == 2 * 100 and slow["gradients_dropped"] == 0
    assert fast["bytes_pushed"] == 100 * 6 * G and fast["bytes_pulled"] == 100 * 8 * G
    assert fast["bytes_total"] == ps_bytes_total(8, G, 100, 2)


def test_backup_worker_hides_a_fixed_straggler_exactly() -> None:
    result = run(workers=4, stragglers=[1.0, 1.0, 5.0, 1.0], backup_workers=1)
    m, a = result.metrics, result.analytic
    assert m["time_per_iteration_s"] == pytest.approx(a["time_per_iteration_s"], rel=1e-9)
    assert a["time_per_iteration_with_stragglers_s"] == a["time_per_iteration_s"]
    assert m["gradients_dropped"] == 3
    assert m["straggler_idle_s_per_worker"] == [0.0] * m["workers"]
    no_backup = run(workers=4, stragglers=[1.0, 1.0, 5.0, 1.0]).metrics
    assert no_backup["time_per_iteration_s"] - m["time_per_iteration_s"] > 4 * C


def test_random_stragglers_are_deterministic_per_seed() -> None:
    spec = {"workers": 4, "mode": "async", "stragglers": {"dist": "exponential", "scale": 0.5}}
    a, b = run(**spec).metrics, run(**spec).metrics
    c = run(seed=99, **spec).metrics
    assert a == b
    assert a["time_s"] != c["time_s"]
