"""Expectations in scenario files: bounds, expressions, checks that must pass or fail."""

from __future__ import annotations

import copy

import pytest
import yaml

import clustersim
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario

RING = {
    "name": "ring",
    "seed": 1,
    "cluster": {
        "topology": {"kind": "ring", "nodes": 8},
        "device": "H100",
        "link": {"bandwidth": "50 GiB/s", "latency": "500 ns"},
    },
    "workload": {"kind": "collective", "op": "allreduce", "size": "1 MiB"},
}


def run_with(expect: dict):
    scenario = copy.deepcopy(RING)
    scenario["expect"] = expect
    return clustersim.run(scenario)


def test_the_notes_2_n_minus_1_g_holds_exactly():
    result = run_with({"let": {"N": "metrics.ranks", "S": "workload.size"},
                       "bytes_total": {"equals": "2*(N-1)*S", "rtol": 0}})  # fmt: skip
    record = result.expectations["bytes_total"]
    assert record["met"] and record["rel_err"] == 0.0 and record["target"] == 14 * 2**20
    assert result.passed


def test_a_wrong_formula_is_reported_and_fails_the_run():
    result = run_with({"let": {"N": "metrics.ranks", "S": "workload.size"},
                       "bytes_total": {"equals": "2*N*S"}})  # fmt: skip
    record = result.expectations["bytes_total"]
    assert not record["met"] and record["rel_err"] == pytest.approx(1 / 8)
    assert not result.passed


def test_analytic_bounds_and_ranges_with_units():
    result = run_with({"time_s": {"analytic": True, "rtol": 1e-9},
                       "algbw_Bps": {"min": "1 GB/s", "max": "1 TB/s"},
                       "bytes_max_link": {"max": "1 KiB"}})  # fmt: skip
    assert result.expectations["time_s"]["met"]
    assert result.expectations["algbw_Bps"]["met"]
    assert not result.expectations["bytes_max_link"]["met"]


def test_list_metrics_must_meet_the_bound_in_every_element():
    result = run_with({"bytes_sent_per_rank": {"equals": "2 * 7 / 8 * workload.size"}})
    assert result.expectations["bytes_sent_per_rank"]["met"]


def test_checks_that_must_pass_or_must_fail():
    result = run_with({"checks": {"allreduce_equals_sum": "pass"}})
    assert result.expectations["checks.allreduce_equals_sum"]["met"]
    negative = run_with({"checks": {"allreduce_equals_sum": "fail"}})
    assert not negative.expectations["checks.allreduce_equals_sum"]["met"]
    assert not negative.passed


@pytest.mark.parametrize(
    ("expect", "words"),
    [
        ({"time_s": {"analytic": True, "min": 1}}, ["expect.time_s", "exactly one"]),
        (
            {"time_s": {"equals": "__import__('os')"}},
            ["expect.time_s.equals", "only the functions"],
        ),
        ({"time_s": {"equals": "metrics.x +"}}, ["expect.time_s.equals", "not a number"]),
        ({"time_s": {"rtl": 1}}, ["expect.time_s.rtl", "did you mean 'rtol'"]),
        ({"checks": {"allreduce_equals_sum": "maybe"}}, ["expect.checks.allreduce_equals_sum"]),
        ({"let": {"2x": "1"}}, ["expect.let.2x"]),
    ],
)
def test_malformed_expectations_are_refused_at_load(expect, words):
    scenario = copy.deepcopy(RING)
    scenario["expect"] = expect
    with pytest.raises(InputError) as err:
        load_scenario(scenario)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


@pytest.mark.parametrize(
    ("expect", "words"),
    [
        ({"no_such_metric": {"min": 0}}, ["expect.no_such_metric", "it reports", "time_s"]),
        ({"checks": {"no_such_check": "pass"}}, ["no check 'no_such_check'"]),
        ({"time_s": {"equals": "metrics.nothing"}}, ["'metrics.nothing' is not a number"]),
    ],
)
def test_names_the_run_does_not_have_are_input_errors(tmp_path, expect, words):
    scenario = copy.deepcopy(RING)
    scenario["expect"] = expect
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with pytest.raises(InputError) as err:
        clustersim.run(path)  # the file as written: a name it does not have is a mistake
    for word in words:
        assert word in str(err.value)


def test_expectations_are_in_the_json_and_the_table():
    from clustersim.report import format_table

    result = run_with({"time_s": {"analytic": True}})
    assert result.to_dict()["expectations"]["time_s"]["met"] is True
    table = format_table(result)
    assert "expectations" in table and "MET   time_s" in table


def test_an_undefined_expression_is_a_missed_expectation():
    result = run_with({"time_s": {"equals": "1 / (metrics.ranks - 8)"}})
    assert result.expectations["time_s"]["met"] is False
    assert "undefined" in result.expectations["time_s"]["error"]


def test_an_override_that_drops_a_check_skips_its_expectation():
    scenario = copy.deepcopy(RING)
    scenario["expect"] = {"checks": {"allreduce_equals_sum": "pass"}, "time_s": {"analytic": True}}
    result = clustersim.run(scenario, ["workload.verify=false"])
    assert result.expectations["checks.allreduce_equals_sum"]["skipped"]
    assert result.expectations["time_s"]["met"] and result.passed
