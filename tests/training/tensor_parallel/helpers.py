"""The scenario the tensor-parallel tests vary: 4 A100s on an NVLink switch, a 2-layer stack."""

from __future__ import annotations

from typing import Any

__all__ = ["scenario"]


def scenario(**workload: Any) -> dict[str, Any]:
    """A tensor-parallel scenario on 4 A100s behind an NVLink switch; ``workload`` overrides."""
    wl = {
        "kind": "tensor_parallel",
        "degree": 4,
        "batch": 2,
        "seq_len": 256,
        "hidden": 512,
        "heads": 8,
        "layers": 2,
        **workload,
    }
    return {
        "name": "tp-test",
        "cluster": {
            "topology": {"kind": "switch", "nodes": 4},
            "device": "A100",
            "link": "NVLink3",
        },
        "workload": wl,
    }
