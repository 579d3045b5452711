"""A whole BranchyNet run: the checks pass, easy samples leave earlier than hard ones, the
threshold sweep traces the accuracy-latency curve, and the run is deterministic. (The scenario
file's own claims are its expect: block, run by tests/test_scenarios.py.)"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import clustersim
from tests.inference.early_exit.helpers import scenario

SWEEP = [0.0, 0.1, 0.5, 1.0, 2.4]


@functools.cache
def _run() -> clustersim.Result:
    return clustersim.run(scenario(sweep=SWEEP))


def test_every_check_passes() -> None:
    result = _run()
    assert result.passed, result.checks
    assert set(result.checks) == {
        "early_exit_off_equals_main",
        "final_exit_equals_main",
        "latency_matches_costs",
        "easy_exit_earlier",
    }


def test_metrics_hang_together() -> None:
    m = _run().metrics
    assert sum(m["exit_fraction"]) == pytest.approx(1.0)
    assert m["latency_p99_s"] >= m["latency_s"]
    assert m["speedup"] == pytest.approx(m["latency_main_s"] / m["latency_s"])
    assert m["mean_exit_easy"] < m["mean_exit_hard"]
    assert _run().analytic["latency_main_s"] == pytest.approx(m["latency_main_s"], rel=1e-12)


def test_the_sweep_trades_latency_for_thresholds() -> None:
    m = _run().metrics
    latency = np.array(m["sweep_latency_s"])
    assert (np.diff(latency) <= 1e-15).all()  # more exits, never slower (batch 1)
    assert m["sweep_accuracy"][0] == m["accuracy_main"]  # T = 0: the main network
    assert m["sweep_exit_fraction"][-1][0] == 1.0  # T above log(10): all leave at exit 0
    assert latency[-1] == pytest.approx(_run().analytic["latency_exit_s"][0], rel=1e-12)


def test_same_seed_same_output() -> None:
    again = clustersim.run(scenario(sweep=SWEEP))
    assert again.to_json(include_wall=False) == _run().to_json(include_wall=False)
