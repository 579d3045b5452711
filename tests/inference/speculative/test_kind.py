"""The ``speculative_decoding`` kind end to end: metrics, analytic values, checks, determinism."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.inference.speculative import costs
from clustersim.inference.speculative.kind import analytic, simulate
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.inference.speculative.helpers import scenario


def test_metrics_and_analytic_names() -> None:
    result = clustersim.run(scenario())
    for name in (
        "alpha",
        "tokens_per_step",
        "time_per_token_s",
        "speedup",
        "target_passes",
        "draft_passes",
        "flops_total",
        "bytes_read_total",
        "baseline_flops_total",
        "baseline_bytes_read_total",
        "baseline_time_per_token_s",
        "cost_coefficient",
    ):
        assert name in result.metrics, name
    for name in (
        "alpha",
        "tokens_per_step",
        "speedup",
        "flops_ratio",
        "memory_read_ratio",
        "optimal_gamma",
        "cost_coefficient",
        "time_per_token_s",
    ):
        assert name in result.analytic, name
    assert result.checks == {}  # verify: false


def test_speedup_matches_theorem_3_8_at_measured_alpha() -> None:
    """alpha ~ 0.7, gamma = 5, draft and target on one A100: the measured speedup and tokens
    per step agree with Leviathan et al.'s formulas at the measured alpha and the device
    model's c."""
    result = clustersim.run(scenario(tokens=4000))
    m = result.metrics
    alpha, c = m["alpha"], m["cost_coefficient"]
    assert 0.65 < alpha < 0.78
    assert m["tokens_per_step"] == pytest.approx(costs.expected_tokens_per_step(alpha, 5), rel=0.01)
    assert m["speedup"] == pytest.approx(costs.speedup(alpha, 5, c), rel=0.02)
    # and the analytic block (alpha from the toy models) is close as well
    assert m["speedup"] == pytest.approx(result.analytic["speedup"], rel=0.04)
    assert m["baseline_time_per_token_s"] == pytest.approx(
        result.analytic["baseline_time_per_token_s"], rel=1e-3
    )


def test_speculation_spends_flops_to_save_memory_traffic() -> None:
    m = clustersim.run(scenario()).metrics
    assert m["flops_total"] > 1.5 * m["baseline_flops_total"]  # FLOPs up
    assert m["bytes_read_total"] < 0.5 * m["baseline_bytes_read_total"]  # bytes read down
    assert m["flops_ratio"] == pytest.approx(m["flops_total"] / m["baseline_flops_total"])


def test_autoregressive_is_its_own_baseline() -> None:
    result = clustersim.run(scenario(method="autoregressive"))
    m = result.metrics
    assert m["speedup"] == pytest.approx(1.0)
    assert m["target_passes"] == 256 and m["draft_passes"] == 0
    assert "alpha" not in m
    assert result.analytic["speedup"] == 1.0


def test_same_seed_identical_result_json() -> None:
    a = clustersim.run(scenario(verify=True, check_samples=200))
    b = clustersim.run(scenario(verify=True, check_samples=200))
    assert a.to_json(include_wall=False) == b.to_json(include_wall=False)
    other = scenario()
    other["seed"] = 4
    assert clustersim.run(other).metrics["alpha"] != a.metrics["alpha"]


def test_checks_pass_in_a_scenario() -> None:
    result = clustersim.run(scenario(verify=True, check_samples=1000))
    assert set(result.checks) == {"output_matches_target", "greedy_matches_target"}
    assert result.passed, result.checks
    record = result.checks["output_matches_target"]
    assert record["samples"] == 1000 and record["significance"] == 0.001
    assert record["draft_only_rejected"]


@pytest.mark.parametrize("method", ["speculative", "pearl", "self_speculative", "autoregressive"])
def test_analytic_does_not_depend_on_simulate(method: str) -> None:
    """The plan carries everything both need: analytic before or after simulate is the same."""
    loaded = load_scenario(scenario(method=method, tokens=64))
    _, first = prepare_scenario(loaded, Simulation(loaded.seed))
    alone = analytic(first)
    _, second = prepare_scenario(loaded, Simulation(loaded.seed))
    simulate(second)
    assert analytic(second) == alone
