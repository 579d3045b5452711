"""The SimPy side of DDNN: one process per end device, one for the aggregator (local exit and
edge tier), one for the cloud; samples one after another, each routed by the exit the
numerics gave it.

Per sample every live device computes its ConvP block and local classifier, and sends its
class scores to the aggregator; when they are all in, the aggregator combines them. A sample
leaving locally is answered there. Otherwise the aggregator asks every device for its feature
map (a small request to each), the devices send them (to the aggregator with an edge tier, else
on to the cloud), and the next tier computes; the edge either answers or forwards its own
feature map to the cloud. The Wi-Fi between devices and aggregator is a shared medium, so the
devices' simultaneous uploads share its airtime: the contention at the aggregator. The next
sample starts when the previous one is answered. A failed device has no process and nobody
waits for it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from clustersim.hardware.cluster import Cluster
from clustersim.inference.early_exit.process import Stage

__all__ = ["DdnnTimer", "Sizes"]


@dataclass(frozen=True)
class Sizes:
    """Bytes of each message: class scores, request, a device's feature map, and the edge's
    feature map to the cloud."""

    scores: float
    request: float
    features: float
    edge_features: float


class _Gate:
    """An event that fires once ``count`` arrivals have been counted."""

    def __init__(self, env: simpy.Environment, count: int) -> None:
        self.left = count
        self.event = env.event()

    def arrive(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.event.succeed()


class DdnnTimer:
    """Times ``exit_of`` (0 local, then edge if ``edge`` is given, last the cloud) for the
    ``devices`` that are alive; ``latency`` gets each sample's time from start to answer."""

    def __init__(
        self,
        cluster: Cluster,
        devices: list[str],
        aggregator: str,
        cloud: str,
        device_stage: Stage,
        local_stage: Stage,
        edge_stage: Stage | None,
        cloud_stage: Stage,
        sizes: Sizes,
        exit_of: np.ndarray,
    ) -> None:
        self.cluster = cluster
        self.env = cluster.sim.env
        self.devices = devices
        self.aggregator = aggregator
        self.cloud = cloud
        self.stages = (device_stage, local_stage, edge_stage, cloud_stage)
        self.sizes = sizes
        self.exit_of = exit_of
        self.latency = np.full(len(exit_of), np.nan)
        n = len(exit_of)
        self._start = [self.env.event() for _ in range(n)]
        self._scores = [_Gate(self.env, len(devices)) for _ in range(n)]
        self._asked = [self.env.event() for _ in range(n)]
        self._features = [_Gate(self.env, len(devices)) for _ in range(n)]
        self._to_cloud = [self.env.event() for _ in range(n)]
        self._done = [self.env.event() for _ in range(n)]
        self._cloud_exit = 2 if edge_stage is not None else 1

    def start(self) -> None:
        sim = self.cluster.sim
        for name in self.devices:
            sim.process(self._device(name), name=f"ddnn end device {name}")
        sim.process(self._aggregate(), name=f"ddnn aggregator {self.aggregator}")
        sim.process(self._cloud(), name=f"ddnn cloud {self.cloud}")

    def _compute(self, node: str, stage: Stage, label: str) -> Generator[Any, Any, float]:
        device = self.cluster.devices[node]
        return device.compute(
            stage.flops(1), stage.bytes_moved(1), duration=stage.time(device, 1), label=label
        )

    def _device(self, name: str) -> Generator[Any, Any, None]:
        net = self.cluster.network
        dest = self.aggregator if self._cloud_exit == 2 else self.cloud
        for i, tier in enumerate(self.exit_of.tolist()):
            yield self._start[i]
            yield from self._compute(name, self.stages[0], f"local model {i}")
            yield net.transfer(name, self.aggregator, self.sizes.scores, f"scores {i}")
            self._scores[i].arrive()
            if tier == 0:
                continue
            requests = yield self._asked[i]
            yield requests[name]
            yield net.transfer(name, dest, self.sizes.features, f"feature map {i}")
            self._features[i].arrive()

    def _aggregate(self) -> Generator[Any, Any, None]:
        env, net = self.env, self.cluster.network
        edge_stage = self.stages[2]
        for i, tier in enumerate(self.exit_of.tolist()):
            began = env.now
            self._start[i].succeed()
            yield self._scores[i].event
            yield from self._compute(self.aggregator, self.stages[1], f"local exit {i}")
            if tier == 0:
                self.latency[i] = env.now - began
                continue
            requests = {
                d: net.transfer(self.aggregator, d, self.sizes.request, f"request {i}")
                for d in self.devices
            }
            self._asked[i].succeed(requests)
            if edge_stage is not None:
                yield self._features[i].event
                yield from self._compute(self.aggregator, edge_stage, f"edge exit {i}")
                if tier == 1:
                    self.latency[i] = env.now - began
                    continue
                yield net.transfer(
                    self.aggregator, self.cloud, self.sizes.edge_features, f"edge map {i}"
                )
                self._to_cloud[i].succeed()
            yield self._done[i]
            self.latency[i] = env.now - began

    def _cloud(self) -> Generator[Any, Any, None]:
        for i, tier in enumerate(self.exit_of.tolist()):
            if tier != self._cloud_exit:
                continue
            if self._cloud_exit == 2:
                yield self._to_cloud[i]
            else:
                yield self._features[i].event
            yield from self._compute(self.cloud, self.stages[3], f"cloud exit {i}")
            self._done[i].succeed()
