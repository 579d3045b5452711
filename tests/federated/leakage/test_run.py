"""The leakage kind end to end: the attacks on the simulated clock, the defences, the checks."""

from __future__ import annotations

import math

import pytest

import clustersim
from clustersim.federated.leakage import kind as leakage
from tests.federated.leakage.helpers import scenario

DEFENCES = [
    {"kind": "none"},
    {"kind": "noise", "variance": 1.0},
    {"kind": "fp16"},
    {"kind": "terngrad"},
]


@pytest.fixture(scope="module")
def result():
    return clustersim.run(scenario({"defences": DEFENCES, "images": True}))


def test_the_undefended_gradient_gives_the_image_away(result) -> None:
    m = result.metrics
    assert m["analytic_psnr_db"]["none"] > 100  # exact but for float32 on the wire
    assert m["dlg_psnr_db"]["none"] > 60
    assert m["dlg_label_rate"]["none"] == 1.0 == m["analytic_label_rate"]["none"]
    assert m["dlg_leaked_fraction"]["none"] == 1.0


def test_strong_noise_defeats_both_attacks(result) -> None:
    m = result.metrics
    assert m["dlg_psnr_db"]["noise 1"] < 10 and m["analytic_psnr_db"]["noise 1"] < 10
    assert m["dlg_leaked_fraction"]["noise 1"] == 0.0


def test_the_wire_bytes_and_upload_times_follow_the_closed_forms(result) -> None:
    m, a = result.metrics, result.analytic
    assert m["payload_bytes"] == a["payload_bytes"]  # dense, fp16, ternary: exact
    for label in m["defences"]:
        assert m["upload_time_s"][label] == pytest.approx(a["upload_time_s"][label], rel=1e-12)
        assert m["gradient_time_s"][label] == pytest.approx(a["gradient_time_s"][label])
    assert m["payload_bytes"]["fp16"] == m["payload_bytes"]["none"] / 2


def test_the_attack_takes_time_on_the_servers_clock(result) -> None:
    m = result.metrics
    assert all(t > 0 for t in m["attack_time_s"].values())
    assert m["time_s"] > sum(m["upload_time_s"].values())


def test_images_and_the_loss_history_are_reported_on_request(result) -> None:
    m = result.metrics
    side = m["image_shape"][1]
    assert len(m["original_image"]) == side * side
    assert set(m["dlg_images"]) == set(m["defences"]) == set(m["dlg_loss_history"])
    assert "original_image" not in clustersim.run(scenario()).metrics


def test_every_check_passes(result) -> None:
    assert set(result.checks) == {
        "matching_gradient_matches_finite_differences",
        "analytic_recovery_exact",
        "transmitted_equals_decoded",
    }
    assert result.passed, result.checks


def test_a_broken_matching_gradient_fails_its_check(monkeypatch) -> None:
    real = leakage.matching

    def wrong(model, params, x, labels, target):
        d, gx, gy = real(model, params, x, labels, target)
        return d, 1.01 * gx, gy

    monkeypatch.setattr(leakage, "matching", wrong)
    r = clustersim.run(scenario({"attack": {"method": "analytic"}}))
    assert not r.checks["matching_gradient_matches_finite_differences"]["passed"]


def test_a_non_finite_recovery_fails_its_check(monkeypatch) -> None:
    monkeypatch.setattr(leakage, "analytic_input", lambda g: g[0][0][:, 0] * math.nan)
    r = clustersim.run(scenario({"attack": {"method": "dlg"}, "batch_size": 2}))
    assert not r.checks["analytic_recovery_exact"]["passed"]


def test_the_accuracy_cost_is_against_undefended_fedsgd(result) -> None:
    m = result.metrics
    for label in m["defences"]:
        assert m["accuracy_cost"][label] == pytest.approx(
            m["accuracy_undefended"] - m["accuracy"][label]
        )
    assert m["accuracy_cost"]["none"] == 0.0  # the same minibatches, the same arithmetic
