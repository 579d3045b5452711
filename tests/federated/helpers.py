"""Small federated scenarios the tests vary, run in-process."""

from __future__ import annotations

from typing import Any

import clustersim
from clustersim.result import Result

__all__ = ["run", "scenario", "star"]


def star(clients: int, *, bandwidth: str = "100 Mbps", latency: str = "1 ms") -> dict[str, Any]:
    """A custom star: ``clients`` devices ``c0..`` each on its own link to a switch, and a
    ``server`` on a 100 Gbps link (so the clients' links are their bottlenecks)."""
    return {
        "topology": {
            "kind": "custom",
            "nodes": [
                {"name": "server"},
                {"name": f"c[0-{clients - 1}]"},
                {"name": "sw", "kind": "switch"},
            ],
            "links": [
                {"a": "server", "b": "sw", "bandwidth": "100 Gbps", "latency": "1 us"},
                {"a": f"c[0-{clients - 1}]", "b": "sw", "bandwidth": bandwidth, "latency": latency},
            ],
        },
        "device": "RaspberryPi4",
    }


def scenario(
    workload: dict[str, Any] | None = None,
    *,
    cluster: dict[str, Any] | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """A federated scenario: by default 10 clients on a star, blobs, logistic regression."""
    wl = {
        "kind": "federated",
        "server": "server",
        "rounds": 3,
        "local_epochs": 1,
        "batch_size": 10,
        "lr": 0.1,
        "dataset": {"name": "blobs", "samples": 600, "test_samples": 200, "features": 8},
        **(workload or {}),
    }
    return {"name": "fl-test", "seed": seed, "cluster": cluster or star(10), "workload": wl}


def run(workload: dict[str, Any] | None = None, *, trace: bool = False, **kw: Any) -> Result:
    """Run :func:`scenario` and return its Result."""
    return clustersim.run(scenario(workload, **kw), trace=trace)
