"""Scenario builders the parameter-server tests share: W workers on a switch with one server."""

from __future__ import annotations

import clustersim

MB = 1e6
BW = 12.5e9  # 100 Gbps
LAT = 5e-6
G = 40 * MB
C = 0.02


def scenario(
    workers: int = 4,
    nodes: int | None = None,
    topology_kind: str = "switch",
    seed: int = 3,
    **workload,
) -> dict:
    spec = {
        "kind": "parameter_server",
        "workers": workers,
        "model_size": G,
        "compute": C,
        "iterations": 3,
        **workload,
    }
    servers = spec.get("servers") or 1
    return {
        "name": "ps-test",
        "seed": seed,
        "cluster": {
            "topology": {"kind": topology_kind, "nodes": nodes or workers + servers},
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": spec,
    }


def run(**kwargs) -> clustersim.Result:
    return clustersim.run(scenario(**kwargs))
