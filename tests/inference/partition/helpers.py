"""Scenarios the partition tests vary: a central node and workers on one switch or on links of
their own (fully connected: no two flows share a link), Raspberry Pi 4s by default."""

from __future__ import annotations

from typing import Any

__all__ = ["fully_connected", "star"]


def _scenario(cluster: dict[str, Any], workload: dict[str, Any]) -> dict[str, Any]:
    return {"name": "partition-test", "seed": 1, "cluster": cluster, "workload": workload}


def fully_connected(nodes: int = 5, link: str = "1GbE", **workload: Any) -> dict[str, Any]:
    """``nodes`` Raspberry Pi 4s, every pair on its own ``link``: node ``n0`` is the central
    node, the others the workers."""
    cluster = {
        "topology": {"kind": "fully_connected", "nodes": nodes},
        "device": {"preset": "RaspberryPi4"},
        "link": link,
    }
    return _scenario(cluster, {"kind": "partition", **workload})


def star(
    pis: int = 4, link: str = "1GbE", with_cloud: bool = False, **workload: Any
) -> dict[str, Any]:
    """A central node and ``pis`` Raspberry Pi 4s (``pi1``...) on one switch; with
    ``with_cloud``, an A100 (``cloud``) behind an LTE uplink."""
    nodes: list[dict[str, Any]] = [{"name": "central"}, {"name": f"pi[1-{pis}]"}]
    nodes.append({"name": "sw", "kind": "switch"})
    links: list[dict[str, Any]] = [
        {"a": "central", "b": "sw", "preset": link},
        {"a": f"pi[1-{pis}]", "b": "sw", "preset": link},
    ]
    if with_cloud:
        nodes.append({"name": "cloud", "preset": "A100"})
        links.append({"a": "sw", "b": "cloud", "preset": "LTE-uplink"})
        workload.setdefault("cloud", "cloud")
    cluster = {
        "topology": {"kind": "custom", "nodes": nodes, "links": links},
        "device": {"preset": "RaspberryPi4"},
    }
    return _scenario(cluster, {"kind": "partition", "central": "central", **workload})
