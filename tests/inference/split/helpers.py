"""What the split tests share: a mobile and a cloud device on an edge_cloud topology."""

from __future__ import annotations

from typing import Any

__all__ = ["scenario"]


def scenario(link: str | dict = "WiFi5", **workload: Any) -> dict[str, Any]:
    """A Raspberry Pi 4 (dev0) and a Jetson Orin Nano (dev1) on ``link``, an A100 cloud
    behind 10 GbE; a ``split`` workload (VGG-16 at 224 pixels unless overridden)."""
    wl = {"kind": "split", "model": "vgg16", "verify": False, **workload}
    return {
        "name": "split-test",
        "seed": 2,
        "cluster": {
            "topology": {
                "kind": "edge_cloud",
                "devices": 2,
                "device_link": link,
                "edge_link": "10GbE",
            },
            "devices": {"dev1": "JetsonOrinNano"},
        },
        "workload": wl,
    }
