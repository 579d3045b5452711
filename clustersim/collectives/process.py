"""The SimPy side of the collectives: a schedule run on the flow network, reductions charged on
the devices, and the routes both the process and the analytic model read.

:func:`schedule_process` times any :mod:`~clustersim.collectives.schedule` schedule: one
``transfer_all`` batch per step, the step's kernel update replayed once its flows have arrived
when verifying, and with ``reduction: device`` a wait for the reductions the step feeds
(:class:`Reducer`). :class:`RouteTable` resolves each (src, dst) route once per network, so a
schedule's patterns and its alpha-beta prediction come from the same routes.

Reduction cost (``reduction: device``): ``γ = MEMORY_PASSES / mem_bandwidth`` seconds per byte
reduced (:data:`~clustersim.collectives.costs.MEMORY_PASSES`), plus the device's launch
overhead ``λ`` once per step in which a rank reduces anything (one reduction kernel per rank and
step, however many flows it adds). The process charges it as one timed delay per step (the
slowest rank's reduction), records each rank's share as busy time on its compute stream (and a
``reduce`` span when tracing), and does not queue behind other kernels on that stream: a
collective run on its own owns the stream.
"""

from __future__ import annotations

import weakref
from collections.abc import Generator
from typing import Any, ClassVar

import numpy as np

from clustersim.collectives.costs import MEMORY_PASSES
from clustersim.collectives.schedule import Schedule
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.network import FlowNetwork, FlowPattern

__all__ = ["Reducer", "RouteTable", "schedule_process"]

_LOAD_CACHE_LIMIT = 4096
"""Distinct steps whose port load a route table remembers."""


class RouteTable:
    """Routes of (src, dst) node pairs, each resolved once per network and shared by the
    collective's process and its analytic model.

    Schedules reuse pairs across steps whose flow sets differ (the ramp of a pipeline, the
    phases of an algorithm); building every step's pattern from already-routed pairs keeps the
    routing cost at one route per distinct pair. Get the table of a network with
    :meth:`of`.
    """

    _tables: ClassVar[weakref.WeakKeyDictionary[FlowNetwork, RouteTable]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, network: FlowNetwork) -> None:
        self.network = network
        self._routes: dict[tuple[int, int], tuple[np.ndarray, float, float]] = {}
        self._loads: dict[tuple[bytes, bytes], int] = {}

    @classmethod
    def of(cls, network: FlowNetwork) -> RouteTable:
        """The route table of ``network`` (created on first use)."""
        table = cls._tables.get(network)
        if table is None:
            table = cls._tables[network] = cls(network)
        return table

    def _resolve(self, pairs: list[tuple[int, int]]) -> None:
        new = [pair for pair in dict.fromkeys(pairs) if pair not in self._routes]
        if not new:
            return
        src, dst = np.array(new, dtype=np.int64).T
        batch = self.network.pattern(src, dst)  # entries are grouped by flow, in flow order
        hops = np.bincount(batch.entry_flow, minlength=len(new))
        links = np.split(batch.entry_link, np.cumsum(hops)[:-1])
        for i, pair in enumerate(new):
            self._routes[pair] = (links[i], float(batch.latency[i]), float(batch.bottleneck[i]))

    def latency_bottleneck(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Route latency (s) and bottleneck bandwidth (B/s) of each node pair."""
        pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
        self._resolve(pairs)
        routes = [self._routes[pair] for pair in pairs]
        return (
            np.array([r[1] for r in routes], dtype=float),
            np.array([r[2] for r in routes], dtype=float),
        )

    def port_load(self, src: np.ndarray, dst: np.ndarray) -> int:
        """The most flows ``src[i] -> dst[i]`` (node indices, started together) that share one
        port: a device's link on the first hop (the sender's) or the last hop (the receiver's),
        or a shared medium crossed (docs/architecture.md §3). 1 when no port is shared; 0 for no
        flows. Middle hops (switch to switch) are not ports: their sharing is contention the
        alpha-beta model leaves out."""
        key = (src.tobytes(), dst.tobytes())
        load = self._loads.get(key)
        if load is not None:
            return load
        pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
        self._resolve(pairs)
        real = self.network.capacity.size
        ports = []
        for pair in pairs:
            links = self._routes[pair][0]
            hops = links[links < real]
            ends = [hops[:1], hops[-1:], links[links >= real]] if hops.size else [links]
            ports.append(np.unique(np.concatenate(ends)))
        used = np.concatenate(ports) if ports else np.zeros(0, dtype=np.int64)
        load = int(np.bincount(used).max()) if used.size else 0
        if len(self._loads) < _LOAD_CACHE_LIMIT:
            self._loads[key] = load
        return load

    def pattern(self, src: np.ndarray, dst: np.ndarray) -> FlowPattern:
        """A flow pattern for node pairs ``src[i] -> dst[i]`` built from cached routes."""
        pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
        self._resolve(pairs)
        routes = [self._routes[pair] for pair in pairs]
        hops = [r[0].size for r in routes]
        return FlowPattern(
            src=np.asarray(src, dtype=np.int64),
            dst=np.asarray(dst, dtype=np.int64),
            entry_flow=np.repeat(np.arange(len(pairs), dtype=np.int64), hops),
            entry_link=(
                np.concatenate([r[0] for r in routes]) if routes else np.zeros(0, dtype=np.int64)
            ),
            latency=np.array([r[1] for r in routes], dtype=float),
            bottleneck=np.array([r[2] for r in routes], dtype=float),
        )


class Reducer:
    """Charges γ (:data:`MEMORY_PASSES` / memory bandwidth) for the bytes each rank reduces, and
    one kernel launch per rank and step that reduces anything.

    ``gamma[i]`` is rank ``i``'s seconds per byte reduced, from its device's roofline, and
    ``launch[i]`` its seconds per reduction kernel, the device's launch overhead (both through
    :meth:`~clustersim.hardware.device.Device.compute_time`, efficiency and straggler slowdown
    included).
    """

    def __init__(self, cluster: Cluster, ranks: list[str]) -> None:
        self.sim = cluster.sim
        self.devices = [cluster.devices[name] for name in ranks]
        self.gamma = np.array([d.compute_time(0.0, MEMORY_PASSES, kernels=0) for d in self.devices])
        self.launch = np.array([d.compute_time(0.0, 0.0, kernels=1) for d in self.devices])

    def spend(self, reduced: np.ndarray, label: str) -> Generator[Any, Any, None]:
        """Wait for the slowest rank's reduction of ``reduced[i]`` bytes; account every rank."""
        seconds = reduced * self.gamma + np.where(reduced > 0, self.launch, 0.0)
        longest = float(seconds.max()) if seconds.size else 0.0
        if longest <= 0:
            return
        start = self.sim.env.now
        yield self.sim.env.timeout(longest)
        tracer = self.sim.tracer
        for i in np.flatnonzero(seconds).tolist():
            device = self.devices[i]
            device.compute_busy_s += float(seconds[i])
            device.bytes_read += MEMORY_PASSES * float(reduced[i])
            if tracer.enabled:
                tracer.span(
                    (device.name, "compute"),
                    f"{label} reduce",
                    "compute",
                    start,
                    start + float(seconds[i]),
                    {"bytes": float(reduced[i])},
                )


def schedule_process(
    cluster: Cluster,
    ranks: list[str],
    schedule: Schedule,
    padded: np.ndarray | None = None,
    reducer: Reducer | None = None,
) -> Generator[Any, Any, None]:
    """Time ``schedule`` over ``ranks`` (a SimPy process body: one per collective).

    Each step is one ``transfer_all`` batch; patterns are built once per distinct set of
    (src, dst) pairs, from routes resolved once per pair (:class:`RouteTable`). With ``padded``
    the kernel update of each step is replayed once its flows have arrived; with ``reducer``
    the step then waits for the reductions it feeds.
    """
    net = cluster.network
    routes = RouteTable.of(net)
    nodes = cluster.rank_indices(ranks)
    p = nodes.size
    patterns: dict[tuple[bytes, bytes], FlowPattern] = {}
    last: tuple[np.ndarray, np.ndarray, FlowPattern] | None = None
    for step in schedule:
        if last is not None and step.src is last[0] and step.dst is last[1]:
            pattern = last[2]  # the same arrays as the step before (a ring's every step)
        else:
            key = (step.src.tobytes(), step.dst.tobytes())
            pattern = patterns.get(key)
            if pattern is None:
                pattern = patterns[key] = routes.pattern(nodes[step.src], nodes[step.dst])
            last = (step.src, step.dst, pattern)
        yield net.transfer_all(pattern, step.sizes, step.label)
        if padded is not None and step.apply is not None:
            step.apply(padded)
        if reducer is not None and step.reduce is not False:
            yield from reducer.spend(step.reduced_bytes(p), step.label)
