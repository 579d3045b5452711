"""The fedmarl kind end to end: training, the comparison on shared seeds, the checks."""

from __future__ import annotations

import math

import pytest

import clustersim
from clustersim.federated.fedmarl import kind as fedmarl
from tests.federated.fedmarl.helpers import scenario


@pytest.fixture(scope="module")
def result():
    return clustersim.run(scenario())


def test_the_policies_are_compared_on_the_same_reward(result) -> None:
    m = result.metrics
    assert m["policies"] == ["fedavg", "random 0.5", "fedmarl", "fedmarl greedy"]
    for label in m["policies"]:
        total = m["accuracy_term"][label] - m["latency_term"][label] - m["bandwidth_term"][label]
        assert m["reward"][label] == pytest.approx(total, rel=1e-12, abs=1e-12)
    assert m["participation"]["fedavg"] == 1.0 and m["participation"]["random 0.5"] == 0.5
    assert m["best_policy"] == max(m["reward"], key=m["reward"].get)
    assert len(m["learning_reward_curve"]) == 3


def test_fedavg_is_slowest_when_stragglers_dominate(result) -> None:
    m = result.metrics
    assert m["latency_term"]["fedavg"] > m["latency_term"]["random 0.5"]
    assert m["bandwidth_term"]["fedavg"] == 2 * m["bandwidth_term"]["random 0.5"]


def test_fedavg_terms_are_at_least_the_contention_free_ones(result) -> None:
    m, a = result.metrics, result.analytic
    assert m["fedavg_upload_bytes"] == a["fedavg_upload_bytes"]
    assert m["fedavg_latency_total_s"] >= a["fedavg_latency_total_s"] * (1 - 1e-12)


def test_both_checks_pass(result) -> None:
    record = result.checks["fedmarl_all_selected_equals_fedavg"]
    assert record["passed"] and record["max_abs_diff"] == 0.0 and record["control_diff"] > 0
    assert result.checks["reward_terms_add_up"]["passed"]


def test_the_reduction_check_fails_when_the_episode_is_not_fedavg(monkeypatch) -> None:
    real = fedmarl._everyone

    def all_but_last(t, s, rng):
        out = real(t, s, rng)
        out[-1] = False
        return out

    monkeypatch.setattr(fedmarl, "_everyone", all_but_last)
    r = clustersim.run(scenario({"episodes": 1}))
    assert not r.checks["fedmarl_all_selected_equals_fedavg"]["passed"]


def test_a_nan_reward_fails_the_terms_check(monkeypatch) -> None:
    real = fedmarl._terms_error

    def nan(episodes, weights):
        return {**real(episodes, weights), "max_abs_err": math.nan}

    monkeypatch.setattr(fedmarl, "_terms_error", nan)
    assert not clustersim.run(scenario({"episodes": 1})).checks["reward_terms_add_up"]["passed"]
