"""The four checks pass on correct runs and fail when the thing they check is broken."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated import aggregation, partition, trainer
from tests.federated.helpers import run

FEDSGD = {"batch_size": None, "local_epochs": 1, "rounds": 4}


def test_every_check_passes_on_a_plain_run() -> None:
    r = run({"clients_per_round": 5, "rounds": 3})
    assert set(r.checks) == {
        "partition_complete",
        "aggregate_is_weighted_mean",
        "fedavg_equals_sgd",
        "fedprox_mu0_equals_fedavg",
    }
    assert r.passed, r.checks
    assert r.checks["fedavg_equals_sgd"]["mode"] == "replay"


@pytest.mark.parametrize("partition_", [{"kind": "iid"}, {"kind": "quantity", "beta": 0.5}])
def test_fedsgd_runs_match_centralised_gd_every_round(partition_) -> None:
    """One full-batch local step, every client: FedAvg is gradient descent on the union, to
    float precision, in every round of the run itself; with unequal sizes too."""
    r = run({**FEDSGD, "partition": partition_})
    record = r.checks["fedavg_equals_sgd"]
    assert record["passed"] and record["mode"] == "run" and record["rounds"] == 4
    assert record["max_abs_err"] < 1e-13
    assert record["equal_sizes"] == (partition_["kind"] == "iid")


def test_fedavg_equals_sgd_fails_with_the_wrong_weights(monkeypatch) -> None:
    """The plain mean is not the union's gradient step when the client sizes differ."""
    monkeypatch.setitem(aggregation.AGGREGATORS, "weighted", aggregation.mean)
    r = run({**FEDSGD, "partition": {"kind": "quantity", "beta": 0.5}})
    assert not r.checks["fedavg_equals_sgd"]["passed"]
    assert r.checks["fedavg_equals_sgd"]["max_abs_err"] > 1e-6


def test_aggregate_check_fails_when_the_rule_drops_an_update(monkeypatch) -> None:
    monkeypatch.setitem(
        aggregation.AGGREGATORS, "weighted", lambda w, ups: aggregation.weighted(w, ups[:-1])
    )
    r = run({"rounds": 2})
    assert not r.checks["aggregate_is_weighted_mean"]["passed"]


def test_partition_check_fails_on_a_duplicated_sample(monkeypatch) -> None:
    real = partition.iid

    def leaky(rng, samples, sizes):
        parts = real(rng, samples, sizes)
        parts[1] = np.concatenate([parts[1][:-1], parts[0][:1]])  # one sample on two clients
        return parts

    monkeypatch.setattr(partition, "iid", leaky)
    record = run({"rounds": 1}).checks["partition_complete"]
    assert not record["passed"] and record["missing"] == 1 and record["repeated"] == 1


def test_fedprox_mu0_check_fails_when_the_proximal_term_is_off_at_zero(monkeypatch) -> None:
    real = trainer.proximal
    monkeypatch.setattr(trainer, "proximal", lambda mu: real(mu + 1e-3))
    record = run({"rounds": 1}).checks["fedprox_mu0_equals_fedavg"]
    assert not record["passed"] and record["max_abs_diff"] > record["tolerance"]


def test_no_checks_without_verify_or_training() -> None:
    assert run({"verify": False, "rounds": 1}).checks == {}
    assert run({"train": False, "rounds": 1}).checks == {}
