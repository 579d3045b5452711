"""Every ``scenarios/speculative_*.yaml`` runs, passes its checks and shows what it claims.

(``tests/test_scenarios.py`` also runs them at full size; here they run shrunk, with the
assertions each description promises.)
"""

from __future__ import annotations

import pytest

import clustersim
from clustersim.inference.speculative import costs
from tests.paths import SCENARIOS

FAST = ["workload.check_samples=500", "workload.greedy_check_tokens=32"]


def test_the_speculative_scenarios_exist() -> None:
    names = sorted(p.name for p in SCENARIOS.glob("speculative_*.yaml"))
    assert names == [
        "speculative_edge_cloud.yaml",
        "speculative_gamma_sweep.yaml",
        "speculative_methods.yaml",
    ]


def test_gamma_sweep_point_matches_leviathan() -> None:
    result = clustersim.run(SCENARIOS / "speculative_gamma_sweep.yaml", FAST)
    assert result.passed, result.checks
    m = result.metrics
    alpha = m["alpha"]
    assert m["tokens_per_step"] == pytest.approx(costs.expected_tokens_per_step(alpha, 5), rel=0.03)
    assert m["speedup"] == pytest.approx(costs.speedup(alpha, 5, m["cost_coefficient"]), rel=0.04)


@pytest.mark.parametrize(
    "method", ["pearl", "speculative", "tree", "medusa", "self_speculative", "autoregressive"]
)
def test_methods_scenario_runs_every_method(method: str) -> None:
    result = clustersim.run(
        SCENARIOS / "speculative_methods.yaml",
        [*FAST, f"workload.method={method}", "workload.tokens=200"],
    )
    assert result.passed, result.checks
    m = result.metrics
    if method == "autoregressive":
        assert m["speedup"] == pytest.approx(1.0)
    else:
        assert m["speedup"] > 1.3, (method, m["speedup"])
    if method == "pearl":
        assert m["overlap_s"] > 0  # the draft on n1 works while the target verifies on n0
        assert m["bytes_total"] > 0
    elif method != "autoregressive":
        assert m["bytes_total"] == 0  # everything else stays on n0


def test_edge_cloud_pays_the_round_trip_per_round() -> None:
    greedy = clustersim.run(SCENARIOS / "speculative_edge_cloud.yaml", FAST)
    assert greedy.passed, greedy.checks
    m = greedy.metrics
    assert m["speedup"] > 1.2
    assert m["speedup"] < 0.9 * greedy.analytic["speedup"]  # the formula ignores the link
    assert 0 < m["bytes_total"] < 100 * m["target_passes"]  # token ids only at T = 0
    sampled = clustersim.run(
        SCENARIOS / "speculative_edge_cloud.yaml",
        [*FAST, "workload.temperature=1", "workload.verify=false"],
    ).metrics
    # distributions of 32000 fp16 probabilities per drafted token now cross Wi-Fi
    assert sampled["bytes_total"] > 6 * 64000 * sampled["target_passes"]
    assert sampled["speedup"] < 0.8 * m["speedup"]
