"""Scenario builders the data-parallel tests share."""

from __future__ import annotations

GBPS = 1e9 / 8
RESNET = {"builtin": "resnet50"}
DGC = {"method": "dgc", "sparsity": 0.99, "warmup_epochs": 1}
TERNGRAD = {"method": "terngrad"}


def scenario(
    nodes: int = 4,
    topology: str = "switch",
    bandwidth: float = 10 * GBPS,
    latency: float = 5e-6,
    device: str = "H100",
    **workload,
) -> dict:
    base = {
        "kind": "data_parallel",
        "iterations": 20,
        "dataset": {"samples": 1024, "test_samples": 256},
    }
    base.update(workload)
    return {
        "name": "dp-test",
        "seed": 3,
        "cluster": {
            "topology": {"kind": topology, "nodes": nodes},
            "device": device,
            "link": {"bandwidth": bandwidth, "latency": latency},
        },
        "workload": base,
    }


def compressed_scenario(
    nodes: int = 4,
    topology: str = "switch",
    bandwidth: float = GBPS,
    latency: float = 50e-6,
    device: str = "RaspberryPi4",
    **workload,
) -> dict:
    base = {
        "kind": "data_parallel",
        "iterations": 30,
        "model": [16, 64, 64, 4],
        "dataset": {"samples": 512, "test_samples": 256},
        "batch_size": 16,
    }
    base.update(workload)
    return {
        "name": "compression-test",
        "seed": 5,
        "cluster": {
            "topology": {"kind": topology, "nodes": nodes},
            "device": device,
            "link": {"bandwidth": bandwidth, "latency": latency},
        },
        "workload": base,
    }
