"""The small cluster the pipeline tests vary: 100 TFLOP/s devices, free links by default."""

from __future__ import annotations

from typing import Any

import clustersim

__all__ = ["GFLOP", "PEAK", "prepared", "run", "scenario"]

PEAK = 100e12  # FLOP/s of the test device
GFLOP = 1e9


def scenario(
    workload: dict[str, Any],
    *,
    nodes: int = 4,
    topology: str | dict[str, Any] = "switch",
    link: dict[str, Any] | None = None,
    **cluster: Any,
) -> dict[str, Any]:
    """A pipeline scenario (``verify`` on) on ``nodes`` test devices; ``cluster`` adds keys.

    ``topology`` is a kind (``nodes`` of them) or a whole topology mapping."""
    topo = {"kind": topology, "nodes": nodes} if isinstance(topology, str) else topology
    wl = {"kind": "pipeline", "verify": True, **workload}
    wl.setdefault(
        "profile", {"count": 8, "flops": "10 GFLOP", "activation": "0 B", "params": "1 MB"}
    )
    return {
        "name": "pipeline-test",
        "cluster": {
            "topology": topo,
            "device": {"peak_flops": PEAK, "mem_bandwidth": "1 PB/s", "memory": "80 GB"},
            "link": link or {"bandwidth": "1 PB/s", "latency": 0},
            **cluster,
        },
        "workload": wl,
    }


def run(workload: dict[str, Any], **kw: Any) -> clustersim.Result:
    """Run :func:`scenario` of ``workload``."""
    return clustersim.run(scenario(workload, **kw))


def prepared(workload: dict[str, Any], **kw: Any) -> tuple[Any, Any]:
    """``(cluster, plan)`` of :func:`scenario`'s workload after the kind's ``prepare``."""
    from clustersim.core.simulation import Simulation
    from clustersim.scenario.loader import load_scenario
    from clustersim.scenario.runner import prepare_scenario

    loaded = load_scenario(scenario(workload, **kw))
    return prepare_scenario(loaded, Simulation(loaded.seed))
