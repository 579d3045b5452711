"""What the early-exit tests share: a small BranchyNet scenario on one Raspberry Pi 4 and a tiny
float64 network for gradient checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.inference.early_exit.kernels import BranchyNet, build_branchynet

__all__ = ["scenario", "tiny_net"]


def scenario(**workload: Any) -> dict[str, Any]:
    """BranchyNet on dev0 (a Raspberry Pi 4) of an edge_cloud topology, small enough to train
    in well under a second; ``workload`` overrides."""
    wl = {
        "kind": "early_exit",
        "model": {"channels": [8, 16]},
        "exits": [{"after": 2, "threshold": 0.5}],
        "data": {"train_samples": 800, "test_samples": 200},
        "training": {"epochs": 2},
        **workload,
    }
    return {
        "name": "early-exit-test",
        "seed": 3,
        "cluster": {"topology": {"kind": "edge_cloud", "devices": 1}},
        "workload": wl,
    }


def tiny_net(seed: int = 0, dtype: Any = np.float64) -> BranchyNet:
    """Main network of two conv blocks on 1x8x8 images, exits after layers 2 (with a conv
    block) and 5 (FC only)."""
    return build_branchynet(
        (1, 8, 8), 3, (2, 3), 4, [(2, 2), (5, 0)], np.random.default_rng(seed), dtype
    )
