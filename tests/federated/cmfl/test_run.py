"""CMFL on the simulated clock: irrelevant updates are not sent; threshold 0 is FedAvg."""

from __future__ import annotations

import math

import numpy as np
import pytest

import clustersim
from clustersim.federated import cmfl, trainer
from tests.federated.helpers import run, scenario

MLP = {"name": "mlp", "hidden": [32]}


def _cmfl(threshold, **workload):
    return clustersim.run(
        scenario({"algorithm": "cmfl", "model": MLP, "cmfl": {"threshold": threshold}, **workload})
    )


def test_threshold_zero_is_the_fedavg_run() -> None:
    r = _cmfl(0.0, rounds=4)
    fedavg = run({"model": MLP, "rounds": 4}).metrics
    for key in ("accuracy_curve", "time_curve_s", "bytes_up_total"):
        assert r.metrics[key] == fedavg[key], key
    assert r.metrics["uploads_skipped"] == 0 and r.metrics["bytes_saved"] == 0.0


def test_skipped_uploads_save_their_bytes_and_time() -> None:
    r = _cmfl(0.6, rounds=6)
    fedavg = run({"model": MLP, "rounds": 6}).metrics
    m = r.metrics
    assert m["uploads_skipped"] > 0
    assert m["updates_skipped"] == m["uploads_skipped"]
    model_bytes = m["model_bytes"]
    assert m["bytes_saved"] == m["uploads_skipped"] * model_bytes
    assert m["bytes_up_total"] == fedavg["bytes_up_total"] - m["bytes_saved"]
    assert m["updates_reported"] + m["updates_skipped"] == sum(m["selected_per_client"])
    assert m["time_s"] <= fedavg["time_s"]
    # the first round has no global update to compare with: everyone uploads
    assert m["relevance_mean_curve"][0] is None
    assert all(0.0 <= e <= 1.0 for e in m["relevance_mean_curve"][1:])
    assert r.passed, r.checks


def test_a_threshold_of_one_stops_every_upload_after_the_first_round() -> None:
    m = _cmfl(1.0, rounds=4).metrics
    assert m["updates_reported"] == 10  # round 1 only
    assert m["uploads_skipped"] == 30
    assert m["accuracy_curve"][1:] == [m["accuracy_curve"][0]] * 3  # the model stands still


def test_exactly_the_clients_below_the_threshold_skip(monkeypatch) -> None:
    """With client k's relevance fixed at k/10, a threshold of 0.45 lets clients 5..9 upload
    every round and clients 0..4 only in the first (which has no global update)."""
    monkeypatch.setattr(cmfl, "relevance", lambda u, g: np.arange(u.shape[0]) / 10)
    m = _cmfl(0.45, rounds=4).metrics
    assert m["participation_per_client"] == [1] * 5 + [4] * 5
    assert m["uploads_skipped"] == 5 * 3


def test_a_schedule_moves_the_threshold_linearly() -> None:
    sched = _cmfl(0.6, rounds=5, cmfl={"threshold": 0.6, "end": 0.5}).metrics["threshold_curve"]
    assert sched == pytest.approx([0.6, 0.575, 0.55, 0.525, 0.5])


def test_the_check_fails_when_the_filter_drops_updates_at_threshold_zero(monkeypatch) -> None:
    real = cmfl.relevant
    monkeypatch.setattr(cmfl, "relevant", lambda s, t: real(s, t) & (np.arange(s.size) > 0))
    r = _cmfl(0.5, rounds=3)
    assert not r.checks["cmfl_threshold0_equals_fedavg"]["passed"]


def test_the_check_fails_on_nan(monkeypatch) -> None:
    real = trainer.FederatedTrainer._relevance

    def broken(self, t, updates):
        out = real(self, t, updates)
        if self.cmfl_record is not None:
            self.cmfl_record["max_abs_diff"] = math.nan
        return out

    monkeypatch.setattr(trainer.FederatedTrainer, "_relevance", broken)
    assert not _cmfl(0.5, rounds=3).checks["cmfl_threshold0_equals_fedavg"]["passed"]


def test_the_cmfl_check_passes_with_its_control() -> None:
    record = _cmfl(0.55, rounds=3).checks["cmfl_threshold0_equals_fedavg"]
    assert record["passed"] and record["max_abs_diff"] == 0.0 and record["control_diff"] > 0
    assert record["round"] == 2
