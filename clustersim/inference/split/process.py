"""The SimPy side of a split inference: the mobile runs its layers and uploads the activation,
the cloud runs the rest and sends the result back; one process per device.

Each layer is one kernel on its device's compute stream, timed by the device's roofline from
the layer's FLOPs and bytes, or by the measured per-layer table when the scenario gives one
(``duration``; the device's slowdown still applies). The transfers go over the flow network,
so a shared Wi-Fi medium or a slow cellular uplink is what it is in the topology. The run
records when each phase ended, for the latency and the mobile's energy.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from clustersim.hardware.cluster import Cluster
from clustersim.nn.profile import LayerCost

__all__ = ["Phases", "SplitRunner"]


@dataclass
class Phases:
    """End times of the phases of one inference (seconds from its start)."""

    mobile_done: float = 0.0
    uploaded: float = 0.0
    cloud_done: float = 0.0
    downloaded: float = 0.0

    @property
    def latency(self) -> float:
        return max(self.mobile_done, self.downloaded)

    @property
    def mobile_s(self) -> float:
        return self.mobile_done

    @property
    def uplink_s(self) -> float:
        return self.uploaded - self.mobile_done if self.uploaded else 0.0

    @property
    def cloud_s(self) -> float:
        return self.cloud_done - self.uploaded if self.cloud_done else 0.0

    @property
    def downlink_s(self) -> float:
        return self.downloaded - self.cloud_done if self.downloaded else 0.0


class SplitRunner:
    """Runs layers ``[0, split)`` on ``mobile`` and ``[split, L)`` on ``cloud``.

    ``layers`` are the model's per-layer costs; ``times`` optionally maps a device name to its
    measured per-layer seconds; ``sent`` is the bytes uploaded at this split and ``result`` the
    bytes sent back.
    """

    def __init__(
        self,
        cluster: Cluster,
        mobile: str,
        cloud: str,
        layers: Sequence[LayerCost],
        times: dict[str, list[float]],
        split: int,
        sent: float,
        result: float,
    ) -> None:
        self.cluster = cluster
        self.mobile, self.cloud = mobile, cloud
        self.layers = list(layers)
        self.times = times
        self.split = split
        self.sent, self.result = sent, result
        self.phases = Phases()
        self._uploaded = cluster.sim.env.event()

    def start(self) -> None:
        sim = self.cluster.sim
        sim.process(self._mobile(), name=f"split: mobile {self.mobile}")
        if self.split < len(self.layers):
            sim.process(self._cloud(), name=f"split: cloud {self.cloud}")

    def _layer(self, node: str, i: int) -> Generator[Any, Any, float]:
        device = self.cluster.devices[node]
        layer = self.layers[i]
        table = self.times.get(node)
        return device.compute(  # a layer's kernel; a measured table includes its launch
            layer.flops,
            layer.bytes_moved(1),
            duration=table[i] if table is not None else None,
            label=f"{i} {layer.layer.split('(')[0]}",
            kernels=layer.kernels,
        )

    def _mobile(self) -> Generator[Any, Any, None]:
        env, net = self.cluster.sim.env, self.cluster.network
        for i in range(self.split):
            yield from self._layer(self.mobile, i)
        self.phases.mobile_done = env.now
        if self.split == len(self.layers):
            return
        yield net.transfer(self.mobile, self.cloud, self.sent, f"activation after {self.split}")
        self.phases.uploaded = env.now
        self._uploaded.succeed()

    def _cloud(self) -> Generator[Any, Any, None]:
        env, net = self.cluster.sim.env, self.cluster.network
        yield self._uploaded
        for i in range(self.split, len(self.layers)):
            yield from self._layer(self.cloud, i)
        self.phases.cloud_done = env.now
        yield net.transfer(self.cloud, self.mobile, self.result, "result")
        self.phases.downloaded = env.now
