"""A slow client at a narrow width no longer holds the round up."""

from __future__ import annotations

import clustersim
from tests.federated.helpers import run
from tests.federated.heterofl.helpers import MLP, heterofl

WIDE = {"name": "mlp", "hidden": [256, 256]}
SLOW = [1.0] * 9 + [30.0]  # one client 30 times slower


def test_the_straggler_at_a_quarter_width_shortens_the_round() -> None:
    fedavg = run({"model": WIDE, "rounds": 2, "slowdown": SLOW}).metrics
    hetero = clustersim.run(
        heterofl([1.0] * 9 + [0.25], model=WIDE, rounds=2, slowdown=SLOW)
    ).metrics
    # the others' rounds (transfers over 100 Mbps, a wide model) are what is left
    assert hetero["round_time_mean_s"] < 0.7 * fedavg["round_time_mean_s"]
    assert hetero["round_compute_s"][0] < 0.5 * fedavg["round_compute_s"][0]
    assert hetero["bytes_up_total"] < fedavg["bytes_up_total"]


def test_the_analytic_round_follows_the_sub_models_contention_free() -> None:
    """On the star (every client its own link, the server's link 1000x faster) the simulated
    round equals the contention-free straggler bound with per-client sub-model bytes and
    times."""
    r = clustersim.run(heterofl([1.0, 0.5, 0.25, 0.125, 0.0625] * 2, rounds=2, model=MLP))
    assert abs(r.metrics["round_time_mean_s"] / r.analytic["round_time_mean_s"] - 1) < 1e-9
    assert r.metrics["bytes_up_total"] == r.analytic["bytes_up_total"]
