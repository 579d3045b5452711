"""What the DDNN tests share: a small scenario (four cameras on Wi-Fi, an edge aggregator and a
cloud) and a tiny float64 network for gradient checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.inference.early_exit.ddnn.kernels import DDNN, build_ddnn

__all__ = ["scenario", "tiny_ddnn"]


def scenario(cameras: int = 4, **workload: Any) -> dict[str, Any]:
    """``cameras`` Raspberry Pi 4 end devices on one Wi-Fi access point (a Jetson Orin Nano), an
    A100 cloud behind 1 GbE; a DDNN small enough to train in about a second."""
    wl = {
        "kind": "ddnn",
        "data": {"train_samples": 300, "test_samples": 120},
        "training": {"epochs": 2},
        **workload,
    }
    return {
        "name": "ddnn-test",
        "seed": 5,
        "cluster": {
            "topology": {
                "kind": "edge_cloud",
                "devices": cameras,
                "device_link": "WiFi5",
                "edge_link": "1GbE",
            }
        },
        "workload": wl,
    }


def tiny_ddnn(local: str, upper: str, edge: bool, shared: bool = False) -> DDNN:
    """Three devices on 1x8x8 views, float64, ReLU features (the binary activation has no
    derivative to check)."""
    return build_ddnn(
        (1, 8, 8),
        3,
        3,
        device_filters=2,
        edge_filters=2 if edge else None,
        cloud_filters=2,
        local_aggregation=local,
        upper_aggregation=upper,
        binary=False,
        shared=shared,
        rng=np.random.default_rng(0),
        dtype=np.float64,
    )
