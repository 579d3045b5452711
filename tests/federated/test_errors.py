"""Communication errors: retransmitted packets, lost updates, corrupted bits."""

from __future__ import annotations

import math

import pytest

from tests.federated.helpers import run


def test_packet_loss_costs_bytes_and_time() -> None:
    base = run({"rounds": 5, "model": {"name": "mlp", "hidden": [64]}}).metrics
    lossy = run(
        {"rounds": 5, "model": {"name": "mlp", "hidden": [64]}, "network": {"packet_loss": 0.2}}
    ).metrics
    # 1/(1-p) transmissions per packet on average: about 25 % more bytes at p = 0.2
    ratio = lossy["bytes_down_total"] / base["bytes_down_total"]
    assert 1.15 < ratio < 1.35
    assert lossy["time_s"] > base["time_s"]
    assert lossy["final_accuracy"] == base["final_accuracy"]  # retransmission loses nothing


def test_lost_updates_are_not_aggregated() -> None:
    r = run({"rounds": 20, "errors": {"update_loss": 0.5}})
    m = r.metrics
    selected = sum(m["selected_per_client"])
    assert m["updates_reported"] + m["updates_lost"] == selected
    assert 0.3 * selected < m["updates_lost"] < 0.7 * selected
    assert r.checks["aggregate_is_weighted_mean"]["passed"]


def test_detected_corruption_is_discarded() -> None:
    r = run({"rounds": 10, "errors": {"bit_error_rate": 2e-4, "detect": True}})
    m = r.metrics
    assert m["updates_corrupted"] > 0 and m["updates_corrupted_used"] == 0
    assert r.passed


def test_undetected_corruption_reaches_the_model() -> None:
    """At a bit-error rate of 1e-3 every update has a few flipped bits; without a checksum
    some land in exponents: the model blows up and the checks fail on the non-finite
    numbers (a run whose numbers blew up never passes)."""
    clean = run({"rounds": 10}).metrics
    r = run({"rounds": 10, "errors": {"bit_error_rate": 1e-3, "detect": False}})
    m = r.metrics
    assert m["updates_corrupted_used"] > 0 and m["updates_corrupted"] == 0
    final = m["final_accuracy"]
    assert final is None or final < clean["final_accuracy"] - 0.1 or not r.passed
    loss = m["final_loss"]
    if loss is None or not math.isfinite(loss):
        assert not r.passed


@pytest.mark.parametrize("detect", [True, False])
def test_no_errors_no_corruption(detect: bool) -> None:
    m = run({"rounds": 3, "errors": {"bit_error_rate": 0.0, "detect": detect}}).metrics
    assert m["updates_corrupted"] == m["updates_corrupted_used"] == 0
