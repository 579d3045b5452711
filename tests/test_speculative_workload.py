"""The ``speculative_decoding`` workload: metrics, analytic values, errors, determinism."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.inference.speculative import costs

REPO = Path(__file__).resolve().parents[1]


def scenario(**workload: Any) -> dict[str, Any]:
    """A small two-A100 scenario; ``workload`` overrides the speculative defaults."""
    return {
        "name": "spec-test",
        "seed": 3,
        "cluster": {
            "topology": {"kind": "fully_connected", "nodes": 2},
            "device": "A100",
            "link": "NVLink3",
        },
        "workload": {
            "kind": "speculative_decoding",
            "method": "speculative",
            "gamma": 5,
            "tokens": 256,
            "draft_quality": 0.7,
            "verify": False,
            **workload,
        },
    }


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


def test_remote_draft_pays_the_link_every_round() -> None:
    local = clustersim.run(scenario()).metrics
    remote = clustersim.run(scenario(draft_device="n1")).metrics
    assert local["bytes_total"] == 0
    # gamma tokens with their 32000-entry fp16 distributions, every round, plus the verdicts
    assert remote["bytes_total"] >= remote["target_passes"] * 5 * 32000 * 2
    assert remote["time_s"] > local["time_s"]
    assert remote["alpha"] == local["alpha"]  # same tokens, different timing


def test_greedy_ships_token_ids_only() -> None:
    remote = clustersim.run(scenario(draft_device="n1", temperature=0)).metrics
    assert remote["bytes_total"] < remote["target_passes"] * 1000


def test_timeline_shows_draft_then_verify() -> None:
    result = clustersim.run(scenario(tokens=20), trace=True)
    spans = [s for s in result.trace.spans if s.lane == ("n0", "compute")]
    names = [s.name for s in spans]
    assert names[:6] == ["draft"] * 5 + ["verify"]
    assert all(b.start >= a.end - 1e-15 for a, b in itertools.pairwise(spans))


def test_checks_pass_in_a_scenario() -> None:
    result = clustersim.run(scenario(verify=True, check_samples=1000))
    assert set(result.checks) == {"output_matches_target", "greedy_matches_target"}
    assert result.passed, result.checks
    record = result.checks["output_matches_target"]
    assert record["samples"] == 1000 and record["significance"] == 0.001
    assert record["draft_only_rejected"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gamma": 0}, "gamma must be an integer >= 1, got 0"),
        ({"temperature": -1}, "temperature must be a finite number >= 0"),
        ({"draft_quality": 1.5}, "draft_quality must be in \\[0, 1\\]"),
        ({"tokens": 0}, "tokens must be an integer >= 1"),
        ({"target_model": "llama9"}, "unknown model preset 'llama9'"),
        ({"vocab": 1}, "vocab must be an integer in 2..512"),
        ({"method": "self_speculative", "exit_layer": 40}, "exit_layer must be below"),
        ({"method": "tree", "tree_width": 70, "gamma": 3}, "nodes; expected at most 4096"),
        ({"tree_expansion": [2, 0]}, "tree_expansion must be a list of 1 to 16 integers"),
        ({"check_significance": 2}, "check_significance must be in \\(0, 1\\)"),
        ({"posterior_alpha": 0}, "posterior_alpha must be in \\(0, 1\\]"),
        ({"launch_overhead": "-1 us"}, "launch_overhead must be a time >= 0"),
    ],
)
def test_bad_parameters_name_field_value_and_expectation(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        clustersim.run(scenario(**override))


def test_bad_devices_are_input_errors() -> None:
    with pytest.raises(InputError, match="workload.target_device: 'gpu9' is not a device"):
        clustersim.run(scenario(target_device="gpu9"))
    with pytest.raises(InputError, match="medusa drafts inside the target model"):
        clustersim.run(scenario(method="medusa", draft_device="n1"))


def test_misspelt_key_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown key 'gama'"):
        clustersim.run(scenario(gama=3))
