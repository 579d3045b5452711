"""Small FedMARL scenarios on the federated tests' star."""

from __future__ import annotations

from typing import Any

from tests.federated.helpers import star

__all__ = ["scenario"]


def scenario(workload: dict[str, Any] | None = None, *, seed: int = 1) -> dict[str, Any]:
    """Six clients (the last two 1000x and 2000x slower), 3 rounds an episode, 3 training
    episodes."""
    wl = {
        "kind": "fedmarl",
        "episodes": 3,
        "weights": {"accuracy": 10, "latency": 5, "bandwidth": 1},
        "evaluation": {"seeds": 1, "drop_rates": [0.5]},
        "federated": {
            "server": "server",
            "rounds": 3,
            "lr": 0.1,
            "dataset": {"name": "blobs", "samples": 300, "test_samples": 100, "features": 8},
            "model": {"name": "mlp", "hidden": [32]},
            "slowdown": [1, 1, 1, 1, 1000, 2000],
        },
        **(workload or {}),
    }
    return {"name": "fedmarl-test", "seed": seed, "cluster": star(6), "workload": wl}
