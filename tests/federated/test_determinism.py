"""Same scenario and seed, same output; FedAvg and FedProx runs on one seed see the same draws."""

from __future__ import annotations

from clustersim.result import Result
from tests.federated.helpers import run

SYSTEM = {
    "clients_per_round": 4,
    "rounds": 4,
    "local_epochs": 3,
    "stragglers": 0.5,
    "slowdown": {"dist": "lognormal", "sigma": 0.5},
    "network": {"packet_loss": 0.05, "bandwidth": {"dist": "lognormal", "median": "20 Mbps"}},
    "availability": {"offline_probability": 0.2, "dropout_probability": 0.1},
    "errors": {"update_loss": 0.1, "bit_error_rate": 1e-6},
}


def _json(result: Result) -> str:
    return result.to_json(include_wall=False)


def test_same_seed_same_json() -> None:
    assert _json(run(SYSTEM)) == _json(run(SYSTEM))


def test_another_seed_changes_the_draws() -> None:
    assert _json(run(SYSTEM, seed=2)) != _json(run(SYSTEM))


def test_algorithms_share_selection_stragglers_and_minibatches() -> None:
    """The round's draws come from per-round streams: FedProx at mu = 0 keeps the stragglers
    FedAvg drops, and otherwise trains on exactly the same minibatches."""
    quiet = {k: v for k, v in SYSTEM.items() if k not in ("errors", "availability")}
    fedavg = run(quiet).metrics
    prox = run({**quiet, "algorithm": "fedprox", "mu": 0.0}).metrics
    assert fedavg["selected_per_client"] == prox["selected_per_client"]
    assert fedavg["updates_straggler"] > 0 and prox["updates_straggler"] == 0
    no_stragglers = {**quiet, "stragglers": 0.0}
    a = run(no_stragglers).metrics
    b = run({**no_stragglers, "algorithm": "fedprox", "mu": 0.0}).metrics
    assert a["accuracy_curve"] == b["accuracy_curve"] and a["loss_curve"] == b["loss_curve"]
