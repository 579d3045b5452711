"""Every client at rate 1 is exactly FedAvg; the check fails when that reduction breaks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import clustersim
from clustersim.federated import aggregation, trainer
from tests.federated.helpers import run
from tests.federated.heterofl.helpers import MLP, heterofl


def test_a_whole_run_at_rate_one_is_the_fedavg_run() -> None:
    hetero = clustersim.run(heterofl(1.0, rounds=4, clients_per_round=6)).metrics
    fedavg = run({"model": MLP, "rounds": 4, "clients_per_round": 6}).metrics
    for key in ("accuracy_curve", "loss_curve", "time_curve_s", "bytes_up_total"):
        assert hetero[key] == fedavg[key], key


def test_the_check_passes_with_mixed_rates_and_its_control_differs() -> None:
    r = clustersim.run(heterofl([1.0, 0.5, 0.25, 0.125, 0.0625] * 2, rounds=2))
    record = r.checks["heterofl_all_full_equals_fedavg"]
    assert record["passed"] and record["max_abs_diff"] == 0.0
    assert record["control_diff"] > 1e-6  # one client at rate 1/2 is not FedAvg
    assert r.passed


def test_the_check_fails_when_the_per_element_average_is_wrong(monkeypatch) -> None:
    real = aggregation.per_element

    def off(w, updates, weights):
        return real(w, updates, weights) + 1e-9  # a tiny, systematic error

    monkeypatch.setattr(aggregation, "per_element", off)
    r = clustersim.run(heterofl(1.0, rounds=1))
    assert not r.checks["heterofl_all_full_equals_fedavg"]["passed"]


def test_the_check_fails_on_nan(monkeypatch) -> None:
    real = trainer.FederatedTrainer._full_width_check

    def broken(self, batches, clients):
        record = real(self, batches, clients)
        return {**record, "max_abs_diff": math.nan}

    monkeypatch.setattr(trainer.FederatedTrainer, "_full_width_check", broken)
    r = clustersim.run(heterofl(1.0, rounds=1))
    assert not r.checks["heterofl_all_full_equals_fedavg"]["passed"]


@pytest.mark.parametrize("masked", [False, True])
def test_every_width_is_evaluated_at_the_end(masked) -> None:
    m = clustersim.run(
        heterofl([1.0, 0.25] * 5, rounds=3, heterofl={"rates": [1.0, 0.25] * 5, "masked": masked})
    ).metrics
    assert len(m["width_accuracy"]) == len(m["width_levels"]) == 5
    assert m["width_accuracy"][0] == m["final_accuracy"]  # rate 1 is the global model
    assert all(0.0 <= a <= 1.0 for a in m["width_accuracy"])
    assert np.isfinite(m["final_loss"])
