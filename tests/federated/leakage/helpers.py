"""Small leakage scenarios: one client and a server on a star."""

from __future__ import annotations

from typing import Any

__all__ = ["scenario"]


def scenario(workload: dict[str, Any] | None = None, *, seed: int = 1) -> dict[str, Any]:
    """A victim ``c0`` on a 100 Mbps link to a switch, the attacker ``server`` on 10 Gbps."""
    wl = {
        "kind": "leakage",
        "server": "server",
        "targets": 1,
        "dataset": {"name": "images", "samples": 200, "test_samples": 100},
        "attack": {"iterations": 150},
        "utility": {"clients": 4, "rounds": 10},
        **(workload or {}),
    }
    cluster = {
        "topology": {
            "kind": "custom",
            "nodes": [{"name": "server"}, {"name": "c0"}, {"name": "sw", "kind": "switch"}],
            "links": [
                {"a": "server", "b": "sw", "bandwidth": "10 Gbps", "latency": "1 us"},
                {"a": "c0", "b": "sw", "bandwidth": "100 Mbps", "latency": "1 ms"},
            ],
        },
        "device": "RaspberryPi4",
    }
    return {"name": "leak-test", "seed": seed, "cluster": cluster, "workload": wl}
