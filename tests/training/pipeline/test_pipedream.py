"""PipeDream without a flush: steady state, weight stashing and its negative control, and
replicated stages that synchronise in rounds (SOSP 2019 §3).
"""

from __future__ import annotations

import pytest

from tests.training.pipeline.helpers import run


def test_pipedream_steady_state_and_weight_versions() -> None:
    r = run({"schedule": "pipedream", "stages": 4, "microbatches": 8})
    assert r.metrics["bubble_fraction"] == pytest.approx(0.0, abs=1e-9)
    assert r.metrics["throughput_samples_per_s"] == pytest.approx(
        r.analytic["throughput_samples_per_s"], rel=1e-9
    )
    # SOSP 2019 §3.3: stage i of K keeps K-i weight versions
    assert r.metrics["weight_versions_per_stage"] == [4, 3, 2, 1]
    assert r.analytic["weight_versions_per_stage"] == [4, 3, 2, 1]
    check = r.checks["weight_stashing_consistent"]
    assert check["passed"] and check["version_mismatches"] == 0


def test_weight_stashing_negative_control_fails() -> None:
    r = run({"schedule": "pipedream", "stages": 4, "microbatches": 8, "weight_stashing": False})
    check = r.checks["weight_stashing_consistent"]
    assert not check["passed"]
    assert check["version_mismatches"] > 0 and check["max_abs_err"] > 1e-3
    assert not r.passed


def test_replicated_pipedream_stages_sync_in_rounds() -> None:
    r = run(
        {
            "schedule": "pipedream",
            "stages": 2,
            "microbatches": 4,
            "replicas": 2,
            "profile": {"count": 4, "flops": "10 GFLOP", "activation": "1 MB", "params": "100 MB"},
        },
        link={"bandwidth": "100 GB/s", "latency": "1 us"},
    )
    assert r.checks["weight_stashing_consistent"]["passed"]
    assert r.metrics["plan"] == "2-2"
