"""Collective schedules: one description drives the kernel, the timed process and the traffic.

A collective algorithm here is a *schedule*: an iterator of :class:`Step` records, each a batch
of flows that start together (rank positions ``src[i] -> dst[i]`` carrying ``sizes[i]`` bytes),
the numpy update that batch performs on the padded (ranks, chunks, width) buffers, and which
flows the receiver reduces (adds) rather than stores. The three views of DESIGN.md §1 read the
same schedule:

* **kernel**: :func:`replay` applies every step's numpy update, with no clock: the real numerics;
* **process**: :func:`schedule_process` hands the network one ``transfer_all`` per step (flow
  patterns are resolved once per distinct set of (src, dst) pairs and reused), replays the
  kernel step when verifying, and with ``reduction: device`` spends the reduction time;
* **cost**: each algorithm's closed form lives beside its schedule and is checked against the
  simulated time by the tests; :func:`schedule_pairs` gives the analytic model the pairs of
  ranks an algorithm talks between, so alpha and beta come from the routes it really uses.

Steps are synchronous, as in the alpha-beta analyses (Thakur, Rabenseifner & Gropp 2005): step
``s+1`` starts when every flow of step ``s`` has arrived and every rank has finished reducing
what it received. A step therefore costs ``max latency + max size / bandwidth`` on a
contention-free network, plus ``max reduced bytes × γ``. The closed forms assume chunks of
equal size; when the elements do not divide evenly the largest chunk paces each step and the
simulation is slower by at most one element per chunk (a relative ``chunks/elements``).

Reduction cost (``reduction: device``): an element-wise sum of ``b`` received bytes into a
local buffer reads both operands and writes the result, ``3b`` bytes of device-memory traffic
at about one FLOP per element: far below any GPU's or CPU's ridge point, so it is memory-bound
and its roofline time (Williams, Waterman & Patterson, CACM 52(4) 2009) is ``3b / mem_bandwidth``
(divided by the device's efficiency, times its slowdown). Hence ``γ = 3 / mem_bandwidth``
seconds per byte reduced, the γ of Thakur et al.'s cost model. The process charges it as one
timed delay per step (the slowest rank's reduction), records each rank's share as busy time on
its compute stream (and a ``reduce`` span when tracing), and does not queue behind other
kernels on that stream: a collective run on its own owns the stream.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from clustersim.hardware.cluster import Cluster
from clustersim.hardware.network import FlowNetwork, FlowPattern

__all__ = [
    "MEMORY_PASSES",
    "Plan",
    "Reducer",
    "RouteTable",
    "Step",
    "bytes_total",
    "fold_ranks",
    "replay",
    "schedule_pairs",
    "schedule_process",
]

MEMORY_PASSES = 3.0
"""Bytes of device-memory traffic per byte reduced: read two operands, write one result."""


@dataclass(frozen=True)
class Plan:
    """What a schedule needs to know about one run.

    Attributes:
        p: number of ranks; schedules speak of rank *positions* 0..p-1.
        chunk_bytes: bytes of each chunk of the algorithm's buffer layout (its length is the
            number of chunks the algorithm cuts the buffer into).
        root: root position for rooted collectives (broadcast, reduce).
        grid: (machines, gpus per machine) rank positions, for hierarchical algorithms.
    """

    p: int
    chunk_bytes: np.ndarray
    root: int = 0
    grid: np.ndarray | None = None
    _edges: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_edges", np.concatenate(([0.0], np.cumsum(self.chunk_bytes))))

    @property
    def size(self) -> float:
        """Bytes of the whole buffer."""
        return float(self._edges[-1])

    def range_bytes(self, start: np.ndarray | int, stop: np.ndarray | int) -> np.ndarray:
        """Bytes of chunks ``start:stop`` (vectorised over arrays of ranges)."""
        return self._edges[np.asarray(stop)] - self._edges[np.asarray(start)]


@dataclass(frozen=True, eq=False)
class Step:
    """One synchronous step of a schedule.

    Attributes:
        src, dst: rank positions of each flow (1-D int arrays of equal length).
        sizes: bytes of each flow (an array, or one number for all).
        label: span label for traces (e.g. ``"halving_doubling reduce-scatter"``).
        apply: the kernel update of this step on the padded buffers, or None if it moves
            nothing a check could see.
        reduce: True if every receiver adds what it gets (charged γ per byte), False if it
            stores it, or a boolean array marking the reducing flows.
    """

    src: np.ndarray
    dst: np.ndarray
    sizes: np.ndarray | float
    label: str
    apply: Callable[[np.ndarray], None] | None = None
    reduce: bool | np.ndarray = False

    def reduced_bytes(self, p: int) -> np.ndarray:
        """Bytes each rank position reduces after this step's transfers."""
        sizes = np.broadcast_to(np.asarray(self.sizes, dtype=float), self.src.shape)
        if self.reduce is False:
            return np.zeros(p)
        weights = sizes if self.reduce is True else np.where(self.reduce, sizes, 0.0)
        return np.bincount(self.dst, weights=weights, minlength=p)


Schedule = Iterable[Step]


def fold_ranks(p: int) -> tuple[int, int, np.ndarray]:
    """MPICH's reduction of ``p`` ranks to a power of two.

    Returns ``(pof2, rem, real)``: the largest power of two ``pof2 <= p``, ``rem = p - pof2``,
    and ``real[i]``, the rank position playing new rank ``i``: the odd rank ``2i+1`` for
    ``i < rem`` (it absorbs its even neighbour ``2i``), else ``i + rem``
    (MPICH ``allreduce_intra_recursive_doubling.c``: ``dst = (newdst < rem) ? newdst*2 + 1 :
    newdst + rem``).
    """
    pof2 = 1 << (p.bit_length() - 1)
    rem = p - pof2
    new = np.arange(pof2)
    return pof2, rem, np.where(new < rem, 2 * new + 1, new + rem)


# ----------------------------------------------------------------------------------- kernel
def replay(schedule: Schedule, padded: np.ndarray) -> np.ndarray:
    """Run a schedule's numerics on ``padded`` (ranks, chunks, width) in place; return it."""
    for step in schedule:
        if step.apply is not None:
            step.apply(padded)
    return padded


# ---------------------------------------------------------------------------------- traffic
def schedule_pairs(schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (src, dst) rank-position pairs a schedule sends between."""
    pairs = {(s.src.tobytes(), s.dst.tobytes()): (s.src, s.dst) for s in schedule}
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    src = np.concatenate([a for a, _ in pairs.values()])
    dst = np.concatenate([b for _, b in pairs.values()])
    unique = np.unique(np.stack([src, dst]), axis=1)
    return unique[0], unique[1]


def bytes_total(schedule: Schedule) -> float:
    """Bytes all flows of a schedule put on the wire (each flow counted once)."""
    return float(
        sum(np.broadcast_to(np.asarray(s.sizes, dtype=float), s.src.shape).sum() for s in schedule)
    )


# ----------------------------------------------------------------------------------- routes
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


# ---------------------------------------------------------------------------------- process
class Reducer:
    """Charges γ (:data:`MEMORY_PASSES` / memory bandwidth) for the bytes each rank reduces.

    ``gamma[i]`` is rank ``i``'s seconds per byte reduced, from its device's roofline
    (efficiency and straggler slowdown included).
    """

    def __init__(self, cluster: Cluster, ranks: list[str]) -> None:
        self.sim = cluster.sim
        self.devices = [cluster.devices[name] for name in ranks]
        self.gamma = np.array([d.compute_time(0.0, MEMORY_PASSES) for d in self.devices])

    def spend(self, reduced: np.ndarray, label: str) -> Generator[Any, Any, None]:
        """Wait for the slowest rank's reduction of ``reduced[i]`` bytes; account every rank."""
        seconds = reduced * self.gamma
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
    for step in schedule:
        key = (step.src.tobytes(), step.dst.tobytes())
        pattern = patterns.get(key)
        if pattern is None:
            pattern = patterns[key] = routes.pattern(nodes[step.src], nodes[step.dst])
        yield net.transfer_all(pattern, step.sizes, step.label)
        if padded is not None and step.apply is not None:
            step.apply(padded)
        if reducer is not None and step.reduce is not False:
            yield from reducer.spend(step.reduced_bytes(p), step.label)
