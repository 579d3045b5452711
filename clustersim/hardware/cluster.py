"""Cluster: the topology graph, its FlowNetwork and a Device per compute node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clustersim.core.simulation import Simulation
from clustersim.hardware.device import Device
from clustersim.hardware.graph import Graph
from clustersim.hardware.network import FlowNetwork
from clustersim.hardware.spec import DeviceSpec

__all__ = ["Cluster"]


class Cluster:
    """Everything a workload runs on.

    Attributes:
        sim: the simulation.
        graph: the topology (see :mod:`clustersim.hardware.topology` for its attributes).
        network: the FlowNetwork over ``graph``.
        devices: compute devices by node name, in rank order.
        ranks: names of the compute nodes in rank order.
    """

    def __init__(
        self,
        sim: Simulation,
        graph: Graph,
        default_spec: DeviceSpec,
        *,
        specs: Mapping[str, DeviceSpec] | None = None,
        slowdowns: Mapping[str, float] | None = None,
    ) -> None:
        self.sim = sim
        self.graph = graph
        self.network = FlowNetwork(sim, graph)
        specs = specs or {}
        slowdowns = slowdowns or {}
        self.ranks: list[str] = list(
            graph.graph.get("devices")
            or [n for n, kind in graph.nodes(data="kind", default="device") if kind == "device"]
        )
        self.devices: dict[str, Device] = {
            name: Device(sim, name, specs.get(name, default_spec), slowdowns.get(name, 1.0))
            for name in self.ranks
        }
        for name in self.ranks:
            sim.tracer.declare_lane((name, "compute"), slowdown=self.devices[name].slowdown)
            sim.tracer.declare_lane((name, "comm"))

    def fresh(self) -> Cluster:
        """A new, idle cluster on the same topology, devices, slowdowns and seed; tracing off.

        For a kind that simulates more than one run to compare (a baseline, the planner's
        alternatives): each gets its own clock and counters, and none disturbs the traced run.
        """
        specs = {name: d.spec for name, d in self.devices.items()}
        return Cluster(
            Simulation(self.sim.seed, run=self.sim),
            self.graph,
            next(iter(specs.values())),
            specs=specs,
            slowdowns={name: d.slowdown for name, d in self.devices.items()},
        )

    def rank_indices(self, names: list[str] | None = None) -> np.ndarray:
        """Network node indices of ``names`` (default: every rank), for building flow patterns."""
        return np.array([self.network.node_index(n) for n in (names or self.ranks)], dtype=np.int64)

    def standard_metrics(self) -> dict[str, Any]:
        """The metrics every run reports, accumulated even with tracing off.

        ``bytes_total`` counts bytes sent by endpoints (each flow once); ``bytes_link_total``
        counts them once per link direction crossed; ``bytes_max_link`` is the busiest link
        direction; ``bytes_per_link`` lists every direction that carried data; the busy times
        are per device stream (compute kernels; outgoing transfers in progress).
        """
        net = self.network
        senders = self.rank_indices()
        return {
            "bytes_total": float(net.node_bytes_sent.sum()),
            "bytes_link_total": float(net.link_bytes.sum()),
            "bytes_max_link": float(net.link_bytes.max()) if net.link_bytes.size else 0.0,
            "bytes_per_link": {
                net.link_name(i): float(b) for i, b in enumerate(net.link_bytes) if b > 0
            },
            "compute_busy_s_per_rank": [self.devices[n].compute_busy_s for n in self.ranks],
            "comm_busy_s_per_rank": net.node_send_busy[senders].tolist(),
        }
