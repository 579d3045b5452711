"""FlowNetwork: full-duplex links and shared media, shared max-min fairly among the flows.

A flow is a transfer of ``size`` bytes from one node to another along a fixed route (fewest
hops; ties broken towards the lowest node index, so routes are deterministic). It first waits
the sum of the latencies of its hops, then streams at the rate that max-min fair sharing gives
it among all streaming flows (see :mod:`clustersim.hardware.maxmin`). Alone on its path it
therefore takes exactly ``latency + size / bandwidth``.

**Shared media.** A link whose graph edge carries a ``medium`` name (a Wi-Fi access point's
airtime) also crosses a virtual link of the medium's capacity, one per medium, that every flow
to or from every station of the medium crosses in either direction. Two stations sending at
once therefore get half each, a station's upload and download share its airtime (Wi-Fi is half
duplex), and a station-to-station flow through the access point crosses the medium twice.

**Cost per event** (docs/architecture.md §6). Every live flow is a slot in one set of arrays
(structure of arrays); callers submit whole batches on a reusable :class:`FlowPattern`. A flow
whose links carry no other flow is *solo*: its rate is its path's bottleneck, with no
allocation at all. Flows that share a link belong to a *component group*, the set of flows
linked to each other through shared links; when a flow starts or ends, only the groups it
touches are re-solved, so the work of an event depends on what changed, not on everything in
flight. (A group may keep two flows together after the flow that linked them has ended:
solving them together gives the same max-min rates as solving them apart.) The next wake-up
comes from a heap with one entry per group (its earliest activation or completion), and the
network keeps a single pending SimPy timeout, at the next instant a flow starts streaming or
finishes, so the event count grows with distinct instants, not with flows.

**Batches that move as one.** A batch whose flows are alike and apart (same latency, same
finite bottleneck, no common link: a ring step, a shift, one flow) and that has one size for
all its flows is kept as one entry (:class:`_Bulk`) while no flow holds a slot: no slots, no
link counts, one heap entry, its start and end in closed form, so a ring step of 16,384 flows
costs what a single flow costs. The senders of a bulk that arrives are held for the instant:
if the same senders start the next batch then (the ring's next step), their busy intervals go
on without being closed and reopened. The moment anything else is submitted every bulk is
written into the slots as the state it stands for and the general engine below takes over;
``tests/hardware/test_bulk.py`` holds both ways equal to the last bit.

Two paths keep the constant small. A single flow (:meth:`FlowNetwork.transfer`, and any group
of one flow) moves through the same states in scalar steps, with no array operation on one
element. A batch given consecutive slots is read and written as one block (a slice, not a
gather). Byte totals are kept per pattern (one vector addition per batch) and spread over
links and nodes when they are read.

**Routes** (:mod:`clustersim.hardware.routes`) peel off a leaf end (a host on a switch) and
come from breadth-first searches between the inner nodes that are resumed, not restarted: each
source keeps its search state (parents found so far and the queue) in a cache bounded in
memory, and a query for a farther destination continues where the last one stopped; a node's
neighbours are scanned in one vectorised step, so the fan-out of a switch costs one numpy
operation.

Always-on metrics: bytes per directed link, bytes sent and received per node, and per node the
time during which it had an outgoing flow in progress (its communication stream's busy time).
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import simpy

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.graph import Graph
from clustersim.hardware.maxmin import max_min_rates
from clustersim.hardware.routes import RouteFinder

__all__ = ["FlowNetwork", "FlowPattern"]

_CLOCK_ROUNDING = 4e-16
_INF = float("inf")
_PAIR_PATTERN_LIMIT = 65_536
"""Single-flow patterns kept by :meth:`FlowNetwork.transfer` (least recently used dropped)."""
_PENDING_PATTERN_LIMIT = 4096
"""Patterns whose bytes may wait to be added to the totals (then all are folded in)."""
_BULK_LIMIT = 8
"""Bulks of more than one flow in flight at once, at most (a submission checks each of them
for a common link; single-flow bulks are found through their links instead)."""
_pattern_ids = itertools.count()

# flow slot states
_FREE, _LATENT, _STREAMING, _DONE = 0, 1, 2, 3
# group kinds
_WAITING, _SOLO, _COMPONENT = 0, 1, 2


@dataclass(frozen=True, eq=False)
class FlowPattern:
    """A reusable set of flows (src -> dst pairs) with their routes resolved.

    Attributes:
        src, dst: node indices of each flow.
        entry_flow, entry_link: the flow-by-link incidence as COO pairs, ordered by flow; a
            flow on a shared medium also crosses the medium's virtual link (index at or above
            the network's number of real links).
        latency: sum of hop latencies of each flow's route, seconds.
        bottleneck: each flow's contention-free rate, bytes/s: the smallest capacity on its
            route, a medium crossed twice counting half (``inf`` for src == dst).
    """

    src: np.ndarray
    dst: np.ndarray
    entry_flow: np.ndarray
    entry_link: np.ndarray
    latency: np.ndarray
    bottleneck: np.ndarray
    n_real_links: int = 0
    id: int = field(default_factory=lambda: next(_pattern_ids))

    @property
    def size(self) -> int:
        """Number of flows."""
        return int(self.src.size)

    @cached_property
    def single(self) -> tuple[int, int, float, float, list[int]]:
        """(src, dst, latency, bottleneck, real links) of a one-flow pattern, as Python scalars,
        for the scalar path of :meth:`FlowNetwork.transfer`."""
        real = self.entry_link[self.entry_link < self.n_real_links].tolist()
        return (
            int(self.src[0]),
            int(self.dst[0]),
            float(self.latency[0]),
            float(self.bottleneck[0]),
            real,
        )

    @cached_property
    def route_lengths(self) -> np.ndarray:
        """Number of incidence entries of each flow."""
        return np.bincount(self.entry_flow, minlength=self.size).astype(np.int64)

    @cached_property
    def route_links(self) -> np.ndarray:
        """``entry_link`` ordered by flow (each flow's links in route order)."""
        if self.entry_flow.size and (np.diff(self.entry_flow) < 0).any():
            return self.entry_link[np.argsort(self.entry_flow, kind="stable")]
        return self.entry_link

    @cached_property
    def route_starts(self) -> np.ndarray:
        """Offset of each flow's first entry in :attr:`route_links`."""
        return np.cumsum(self.route_lengths) - self.route_lengths

    @cached_property
    def flow_index(self) -> np.ndarray:
        """0, 1, ..., size - 1."""
        return np.arange(self.size, dtype=np.int64)

    @cached_property
    def link_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct links of the pattern, entries on each)."""
        return np.unique(self.entry_link, return_counts=True)

    @cached_property
    def alike(self) -> tuple[float, float] | None:
        """(latency, bottleneck) of every flow when the flows are alike and apart, else None.

        Alike and apart: every flow has a route, all routes have the same latency and the same
        finite bottleneck, and no two flows cross the same link or medium. Alone on the
        network such a batch moves as one (:class:`_Bulk`): all its flows start streaming at
        one instant and, given one size, arrive at one instant.
        """
        if not self.size or self.route_lengths.min() == 0 or self.link_counts[1].max() > 1:
            return None
        latency, bottleneck = self.latency[0], self.bottleneck[0]
        if bottleneck == np.inf or (self.latency != latency).any():
            return None
        if (self.bottleneck != bottleneck).any():
            return None
        return float(latency), float(bottleneck)

    @cached_property
    def links_list(self) -> list[int]:
        """``entry_link`` as a list of Python ints (links and media)."""
        return self.entry_link.tolist()

    @cached_property
    def link_mask(self) -> np.ndarray:
        """Boolean over link indices (up to the largest the pattern crosses): crossed or not."""
        mask = np.zeros(int(self.entry_link.max()) + 1 if self.entry_link.size else 0, bool)
        mask[self.entry_link] = True
        return mask

    def crosses_any(self, other: FlowPattern) -> bool:
        """Whether a link or medium of ``other`` is one of this pattern's."""
        mask, links = self.link_mask, other.entry_link
        return bool(mask[links[links < mask.size]].any())

    @cached_property
    def _links_once(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct links, index of each entry's link among them), for byte accounting."""
        return np.unique(self.entry_link, return_inverse=True)

    @cached_property
    def _ends_once(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        src_u, src_i, src_n = np.unique(self.src, return_inverse=True, return_counts=True)
        dst_u, dst_i = np.unique(self.dst, return_inverse=True)
        return src_u, src_i, src_n, dst_u, dst_i


class _Batch:
    """Flows submitted together; its event fires when the last one has arrived."""

    __slots__ = (
        "arrived", "event", "label", "n_left", "pattern", "seq", "sizes", "slots", "submitted",
    )  # fmt: skip

    def __init__(
        self, seq: int, pattern: FlowPattern, sizes: np.ndarray | None,
        slots: np.ndarray | None, now: float, event: simpy.Event, label: str,
    ) -> None:  # fmt: skip
        self.seq = seq
        self.pattern = pattern
        self.sizes = sizes
        """Bytes of each flow; None while the batch is a :class:`_Bulk` (one size for all)."""
        self.slots = slots
        """Flow slots; None while the batch is a :class:`_Bulk` (it holds none)."""
        self.submitted = now
        self.event = event
        self.label = label
        self.n_left = pattern.size
        self.arrived = _INF
        """When a :class:`_Bulk`'s flows arrived (every one at once)."""


class _Bulk:
    """A batch of alike, apart flows (:attr:`FlowPattern.alike`) of one size, alone on the
    network, kept as one entry: it holds no slot and no link count, and starting or
    finishing it costs the same for 16,384 flows as for one.

    It is exactly what the slots would hold, in closed form: every flow waits ``latency``,
    then streams alone at ``rate`` (its bottleneck) and arrives ``size / rate`` later. Bulks
    exist only while no flow holds a slot, and never two that cross a common link; the moment
    another flow is submitted every bulk is written into the slots as the state it stands
    for (:meth:`FlowNetwork._materialise`), and the general engine takes over.
    """

    __slots__ = ("activate", "batch", "finish", "rate", "size", "started")

    def __init__(self, batch: _Batch, size: float, latency: float, rate: float) -> None:
        self.batch = batch
        self.size = size
        self.rate = rate
        self.activate = batch.submitted + latency
        self.started: float | None = None
        """When the flows started streaming (None while they wait out the latency)."""
        self.finish = _INF


def _flow_sizes(
    pattern: FlowPattern, sizes: Sequence[float] | np.ndarray | float
) -> tuple[float | None, np.ndarray | None]:
    """(one size for every flow, or None; each flow's size, or None when one number was given),
    checked finite and non-negative."""
    given = np.asarray(sizes, dtype=float)
    if given.ndim == 0:
        size = float(given)
        if not 0.0 <= size < _INF:
            raise ValueError("flow sizes must be finite and non-negative")
        return size, None
    per_flow = np.broadcast_to(given, (pattern.size,)).copy()
    if (per_flow < 0).any() or not np.isfinite(per_flow).all():
        raise ValueError("flow sizes must be finite and non-negative")
    if pattern.alike is not None and (per_flow == per_flow[0]).all():
        return float(per_flow[0]), per_flow
    return None, per_flow


class FlowNetwork:
    """Links, routes and the flows in flight on a cluster graph.

    Args:
        sim: the simulation (its environment drives time; its tracer gets link spans).
        graph: the topology (a :class:`~clustersim.hardware.graph.Graph`, or a networkx graph)
            whose edges carry ``bandwidth`` (bytes/s per direction) and ``latency`` (s), and
            optionally ``medium`` (the name of a shared medium, whose
            capacity is ``graph.graph["media"][name]``); see :mod:`clustersim.hardware.topology`.
    """

    def __init__(self, sim: Simulation, graph: Graph) -> None:
        self.sim = sim
        self.env = sim.env
        self.nodes: list[str] = list(graph.nodes)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.nodes)}
        n_nodes = len(self.nodes)
        media_capacity: dict[str, float] = dict(graph.graph.get("media", {}))
        media = sorted({m for _, _, m in graph.edges(data="medium") if m is not None})
        link_ends: list[tuple[int, int]] = []
        capacity: list[float] = []
        latency: list[float] = []
        medium_of: list[int] = []
        self._link_of: dict[tuple[int, int], int] = {}
        for u, v, attrs in graph.edges(data=True):
            for a, b in ((u, v), (v, u)):
                ia, ib = self.index[a], self.index[b]
                self._link_of[(ia, ib)] = len(link_ends)
                link_ends.append((ia, ib))
                capacity.append(float(attrs["bandwidth"]))
                latency.append(float(attrs["latency"]))
                medium = attrs.get("medium")
                medium_of.append(-1 if medium is None else media.index(medium))
        n_real = len(link_ends)
        self.link_ends = np.array(link_ends, dtype=np.int64).reshape(-1, 2)
        self.capacity = np.array(capacity, dtype=float)
        """Capacity of each directed link, bytes/s."""
        self.link_latency = np.array(latency, dtype=float)
        self.media: list[str] = media
        """Names of the shared media; medium ``k`` is virtual link ``len(capacity) + k``."""
        medium_cap = []
        for name in media:
            own = [c for c, m in zip(capacity, medium_of, strict=True) if m == media.index(name)]
            medium_cap.append(float(media_capacity.get(name, max(own))))
        self.medium_capacity = np.array(medium_cap, dtype=float)
        """Capacity of each shared medium, bytes/s (both directions of all its links)."""
        self._capacity_all = np.concatenate([self.capacity, self.medium_capacity])
        self._medium_link = np.array(
            [n_real + m if m >= 0 else -1 for m in medium_of], dtype=np.int64
        )
        self._n_real = n_real
        neighbours = [
            np.array(sorted(self.index[m] for m in graph.neighbors(name)), dtype=np.int32)
            for name in self.nodes
        ]
        self._routes_finder = RouteFinder(self.nodes, neighbours, self._link_of)
        self._pair_patterns: OrderedDict[tuple[int, int], FlowPattern] = OrderedDict()
        self._init_flow_state(n_links=self._capacity_all.size)
        # always-on metrics
        self._link_bytes = np.zeros(n_real)
        self._node_bytes_sent = np.zeros(n_nodes)
        self._node_bytes_received = np.zeros(n_nodes)
        self._pending_bytes: dict[int, list] = {}
        """Per pattern, [pattern, bytes per flow or None, bytes of every flow when None]: the
        bytes submitted since the totals were last read (see :meth:`_pend_bytes`)."""
        self._send_busy_closed = np.zeros(n_nodes)
        self._sends_in_flight = np.zeros(n_nodes, dtype=np.int64)
        self._send_busy_since = np.zeros(n_nodes)
        self._held_sends: tuple[np.ndarray, np.ndarray, float] | None = None
        """The sends of the last bulk to arrive, (nodes, counts, when), not ended yet: if the
        same senders start the next batch at that instant, their busy intervals go on."""
        self.flows_completed = 0
        self.rate_solves = 0

    def _init_flow_state(self, n_links: int) -> None:
        cap = 64
        self._f_state = np.zeros(cap, dtype=np.int8)
        self._f_group = np.full(cap, -1, dtype=np.int64)
        self._f_batch = np.zeros(cap, dtype=np.int64)
        self._f_index = np.zeros(cap, dtype=np.int64)
        self._f_route = np.zeros(cap, dtype=np.int64)
        self._f_hops = np.zeros(cap, dtype=np.int64)
        self._f_activate = np.zeros(cap)
        self._f_started = np.zeros(cap)
        self._f_rate = np.zeros(cap)
        self._f_ref_time = np.zeros(cap)
        self._f_ref_left = np.zeros(cap)
        self._f_finish = np.zeros(cap)
        self._f_bottleneck = np.zeros(cap)
        self._free = np.arange(cap - 1, -1, -1, dtype=np.int64)
        self._slot_ids = np.arange(cap, dtype=np.int64)
        """0, 1, ...: a batch given consecutive slots holds a view of it (see :meth:`_at`)."""
        self._n_free = cap
        self._pool = np.zeros(1024, dtype=np.int64)
        self._pool_top = 0
        self._pool_live = 0
        self._l_count = np.zeros(n_links, dtype=np.int64)
        self._l_group = np.full(n_links, -1, dtype=np.int64)
        self._l_owner = np.full(n_links, -1, dtype=np.int64)
        self._batches: dict[int, _Batch] = {}
        self._batch_seq = itertools.count()
        self._groups: dict[int, tuple[int, np.ndarray]] = {}
        self._group_live: dict[int, int] = {}
        self._group_ids = itertools.count()
        self._bulks: dict[int, _Bulk] = {}
        """Batches moving as one (group id -> bulk), only while no flow holds a slot."""
        self._multi_bulks: dict[int, _Bulk] = {}
        """The bulks of more than one flow (at most ``_BULK_LIMIT``)."""
        self._l_bulk = np.full(n_links, -1, dtype=np.int64)
        """Per link, the single-flow bulk last put on it (current only while in ``_bulks``)."""
        self._bulk_enabled = True
        """Tests turn bulks off to compare with the general path."""
        self._heap: list[tuple[float, int, int]] = []
        self._stale: set[int] = set()
        """Groups that lost members since their heap entry was pushed (its time may be early)."""
        self._heap_seq = itertools.count()
        self._n_streaming = 0
        self._wake_time = np.inf
        self._wake_generation = 0

    # ------------------------------------------------------------------ routes
    def link_name(self, link: int) -> str:
        """Human name of a directed link, e.g. ``"n0->n1"``, or of a medium."""
        if link >= self._n_real:
            return f"medium {self.media[link - self._n_real]}"
        a, b = self.link_ends[link]
        return f"{self.nodes[a]}->{self.nodes[b]}"

    def node_index(self, name: str) -> int:
        """Index of node ``name``; an unknown name is an :class:`InputError`."""
        try:
            return self.index[name]
        except KeyError:
            shown = ", ".join(self.nodes[:12]) + (" ..." if len(self.nodes) > 12 else "")
            raise InputError(f"unknown node {name!r}; the cluster's nodes are {shown}") from None

    def route(self, src: int, dst: int) -> list[int]:
        """Directed link indices from ``src`` to ``dst`` (fewest hops, lowest-index tie-break)."""
        return self._routes_finder.route(src, dst)

    def pattern(
        self, src: Sequence[int] | np.ndarray, dst: Sequence[int] | np.ndarray
    ) -> FlowPattern:
        """Resolve the routes of flows ``src[i] -> dst[i]`` (node indices) once, for reuse."""
        src_arr = np.asarray(src, dtype=np.int64)
        dst_arr = np.asarray(dst, dtype=np.int64)
        if src_arr.shape != dst_arr.shape or src_arr.ndim != 1:
            raise ValueError("src and dst must be 1-D sequences of equal length")
        entry_flow: list[int] = []
        entry_link: list[int] = []
        latency = np.zeros(src_arr.size)
        bottleneck = np.full(src_arr.size, np.inf)
        medium_link = self._medium_link
        for i, (s, d) in enumerate(zip(src_arr.tolist(), dst_arr.tolist(), strict=True)):
            if s == d:
                continue
            hops = self.route(s, d)
            latency[i] = float(self.link_latency[hops].sum())
            airtime = [int(m) for m in medium_link[hops] if m >= 0]
            links = hops + airtime
            entry_flow.extend([i] * len(links))
            entry_link.extend(links)
            rate = float(self.capacity[hops].min())
            for m in set(airtime):
                rate = min(rate, float(self._capacity_all[m]) / airtime.count(m))
            bottleneck[i] = rate
        return FlowPattern(
            src=src_arr,
            dst=dst_arr,
            entry_flow=np.array(entry_flow, dtype=np.int64),
            entry_link=np.array(entry_link, dtype=np.int64),
            latency=latency,
            bottleneck=bottleneck,
            n_real_links=self._n_real,
        )

    # --------------------------------------------------------------- transfers
    def transfer_all(
        self,
        pattern: FlowPattern,
        sizes: Sequence[float] | np.ndarray | float,
        label: str = "transfer",
    ) -> simpy.Event:
        """Start every flow of ``pattern`` now; the event fires when all have arrived.

        ``sizes`` gives each flow's bytes (or one number for all). The event's value is the
        array of arrival times, one per flow (read-only: copy it to change it).
        """
        size, sizes_arr = _flow_sizes(pattern, sizes)
        now = self.env.now
        event = simpy.Event(self.env)
        self._pend_bytes(pattern, size, sizes_arr)
        if pattern.size == 0:
            event.succeed(np.zeros(0))
            return event
        src_u, _, src_n, _, _ = pattern._ends_once
        held = self._held_sends
        if held is not None and held[0] is src_u and held[2] == now:
            self._held_sends = None  # a ring's next step: the same senders carry straight on
        else:
            self._sends_begin(src_u, src_n, now)
        if size and self._moves_as_one(pattern):
            self._submit_bulk(pattern, size, now, event, label)
            return event
        if self._bulks:
            self._materialise()
        if sizes_arr is None:
            sizes_arr = np.full(pattern.size, size)
        slots = self._allocate(pattern)
        seq = next(self._batch_seq)
        self._batches[seq] = _Batch(seq, pattern, sizes_arr, slots, now, event, label)
        activate = now + pattern.latency
        at = self._at(slots)
        self._f_state[at] = _LATENT
        self._f_batch[at] = seq
        self._f_index[at] = pattern.flow_index
        self._f_activate[at] = activate
        self._f_rate[at] = 0.0
        self._f_ref_left[at] = sizes_arr
        self._f_bottleneck[at] = pattern.bottleneck
        self._new_group(_WAITING, slots, float(activate.min()), previous=-1)
        self._update()
        return event

    def transfer(
        self, src: str | int, dst: str | int, size: float, label: str = "transfer"
    ) -> simpy.Event:
        """One flow from ``src`` to ``dst`` (names or indices); see :meth:`transfer_all`."""
        s = self.node_index(src) if isinstance(src, str) else int(src)
        d = self.node_index(dst) if isinstance(dst, str) else int(dst)
        pattern = self._pair_patterns.get((s, d))
        if pattern is None:
            pattern = self._pair_patterns[(s, d)] = self.pattern([s], [d])
            if len(self._pair_patterns) > _PAIR_PATTERN_LIMIT:
                self._pair_patterns.popitem(last=False)
        return self._submit_one(pattern, size, label)

    def _submit_one(self, pattern: FlowPattern, size: float, label: str) -> simpy.Event:
        """:meth:`transfer_all` for a one-flow pattern, in scalar steps."""
        size = float(size)
        if not 0.0 <= size < np.inf:
            raise ValueError("flow sizes must be finite and non-negative")
        now = self.env.now
        event = simpy.Event(self.env)
        src, dst, latency, bottleneck, real_links = pattern.single
        link_bytes = self._link_bytes
        for link in real_links:
            link_bytes[link] += size
        self._node_bytes_sent[src] += size
        self._node_bytes_received[dst] += size
        self._send_begin_one(src, now)
        if size and self._moves_as_one(pattern):
            self._submit_bulk(pattern, size, now, event, label)
            return event
        if self._bulks:
            self._materialise()
        slots = self._allocate(pattern)
        seq = next(self._batch_seq)
        self._batches[seq] = _Batch(seq, pattern, np.array([size]), slots, now, event, label)
        slot = int(slots[0])
        activate = now + latency
        self._f_state[slot] = _LATENT
        self._f_batch[slot] = seq
        self._f_index[slot] = 0
        self._f_activate[slot] = activate
        self._f_rate[slot] = 0.0
        self._f_ref_left[slot] = size
        self._f_bottleneck[slot] = bottleneck
        self._new_group(_WAITING, slots, activate, previous=-1)
        self._update()
        return event

    def _pend_bytes(
        self, pattern: FlowPattern, size: float | None, sizes: np.ndarray | None
    ) -> None:
        """Add a batch's bytes to its pattern's running sum (see :meth:`_fold_bytes`).

        The sum is one number while every batch of the pattern gave one size for all its
        flows, else an array; the elementwise sums are the same either way.
        """
        pending = self._pending_bytes.get(pattern.id)
        if pending is None:
            if len(self._pending_bytes) >= _PENDING_PATTERN_LIMIT:
                self._fold_bytes()
            per_flow = None if sizes is None else sizes.copy()
            self._pending_bytes[pattern.id] = [pattern, per_flow, 0.0 if size is None else size]
        elif sizes is not None:
            pending[1] = pending[2] + sizes if pending[1] is None else pending[1] + sizes
        elif pending[1] is None:
            pending[2] += size
        else:
            np.add(pending[1], size, out=pending[1])

    # ------------------------------------------------------------------- bulks
    def _moves_as_one(self, pattern: FlowPattern) -> bool:
        """Whether a batch of ``pattern`` (one positive size) can be a :class:`_Bulk` now:
        no flow holds a slot and no bulk crosses a link of it."""
        if pattern.alike is None or not self._bulk_enabled or self.sim.tracer.enabled:
            return False
        if self._n_free != self._f_state.size:
            return False
        bulks, single_bulk = self._bulks, self._l_bulk
        if pattern.size == 1:
            if any(int(single_bulk[link]) in bulks for link in pattern.links_list):
                return False
        else:
            if len(self._multi_bulks) >= _BULK_LIMIT:  # keeps the check below a constant cost
                return False
            if len(bulks) > len(self._multi_bulks):  # some single-flow bulks: any on our links?
                on_ours = single_bulk[pattern.entry_link]
                if any(g in bulks for g in np.unique(on_ours[on_ours >= 0]).tolist()):
                    return False
        return not any(b.batch.pattern.crosses_any(pattern) for b in self._multi_bulks.values())

    def _submit_bulk(
        self, pattern: FlowPattern, size: float, now: float, event: simpy.Event, label: str
    ) -> None:
        """Start a batch as one entry, due when its flows start streaming."""
        latency, rate = pattern.alike  # type: ignore[misc]
        seq = next(self._batch_seq)
        batch = self._batches[seq] = _Batch(seq, pattern, None, None, now, event, label)
        bulk = _Bulk(batch, size, latency, rate)
        gid = next(self._group_ids)
        self._bulks[gid] = bulk
        if pattern.size == 1:
            for link in pattern.links_list:
                self._l_bulk[link] = gid
        else:
            self._multi_bulks[gid] = bulk
        heapq.heappush(self._heap, (bulk.activate, next(self._heap_seq), gid))
        self._update()

    def _step_bulk(self, gid: int, now: float, completed: list[_Batch]) -> bool:
        """A bulk is due: its flows start streaming, or arrive (then its batch is completed).
        True if they arrive at this very instant."""
        bulk = self._bulks[gid]
        if bulk.started is None:
            bulk.started = now
            bulk.finish = now + bulk.size / bulk.rate  # as _start_alone computes it
            heapq.heappush(self._heap, (bulk.finish, next(self._heap_seq), gid))
            return bulk.finish <= now
        del self._bulks[gid]
        self._multi_bulks.pop(gid, None)
        batch = bulk.batch
        batch.n_left = 0
        batch.arrived = bulk.finish
        if batch.pattern.size == 1:
            self._send_end_one(int(batch.pattern.src[0]), now)
        else:  # held: a ring's next step by the same senders carries straight on
            if self._held_sends is not None:
                self._end_held_sends()
            src_u, _, src_n, _, _ = batch.pattern._ends_once
            self._held_sends = (src_u, src_n, now)
        completed.append(batch)
        return False

    def _materialise(self) -> None:
        """Write every bulk into the slots as the state it stands for: waiting out its
        latency, or streaming alone at its bottleneck since ``started``."""
        for gid in sorted(self._bulks):
            bulk = self._bulks.pop(gid)
            self._multi_bulks.pop(gid, None)
            batch, pattern = bulk.batch, bulk.batch.pattern
            batch.sizes = np.full(pattern.size, bulk.size)
            slots = batch.slots = self._allocate(pattern)
            at = self._at(slots)
            self._f_batch[at] = batch.seq
            self._f_index[at] = pattern.flow_index
            self._f_activate[at] = batch.submitted + pattern.latency
            self._f_ref_left[at] = batch.sizes
            self._f_bottleneck[at] = pattern.bottleneck
            if bulk.started is None:
                self._f_state[at] = _LATENT
                self._f_rate[at] = 0.0
                self._new_group(_WAITING, slots, bulk.activate, previous=-1)
                continue
            self._f_state[at] = _STREAMING
            self._n_streaming += slots.size
            ids, counts = pattern.link_counts
            self._l_count[ids] += counts
            self._f_started[at] = bulk.started
            self._f_ref_time[at] = bulk.started
            self._f_rate[at] = bulk.rate
            self._f_finish[at] = bulk.finish
            self._l_owner[pattern.route_links] = slots[pattern.entry_flow]
            self._l_group[pattern.route_links] = -1
            self._new_group(_SOLO, slots, bulk.finish, previous=-1)

    # ------------------------------------------------------------ flow storage
    def _allocate(self, pattern: FlowPattern) -> np.ndarray:
        """Slots for the flows of ``pattern``, with their routes copied into the pool."""
        n = pattern.size
        while self._n_free < n:
            self._grow_slots()
        self._n_free -= n
        taken = self._free[self._n_free : self._n_free + n]
        first = int(taken[-1])
        if n > 1 and int(taken[0]) - first == n - 1 and (np.diff(taken) == -1).all():
            slots = self._slot_ids[first : first + n]  # consecutive: a view, see _at
        else:
            slots = taken[::-1].copy()
        entries = pattern.route_links.size
        if self._pool_top + entries > self._pool.size:
            self._compact_pool(entries)
        base = self._pool_top
        self._pool[base : base + entries] = pattern.route_links
        if n == 1:
            slot = slots[0]
            self._f_route[slot] = base
            self._f_hops[slot] = entries
        else:
            at = self._at(slots)
            self._f_route[at] = base + pattern.route_starts
            self._f_hops[at] = pattern.route_lengths
        self._pool_top += entries
        self._pool_live += entries
        return slots

    def _release(self, batch: _Batch) -> None:
        """Give a completed batch's slots back."""
        slots = batch.slots
        n = slots.size
        self._pool_live -= batch.pattern.route_links.size
        if n == 1:
            slot = slots[0]
            self._f_state[slot] = _FREE
            self._free[self._n_free] = slot
        else:
            self._f_state[self._at(slots)] = _FREE
            self._free[self._n_free : self._n_free + n] = slots[::-1]
        self._n_free += n

    def _grow_slots(self) -> None:
        old = self._f_state.size
        for name in (
            "_f_state", "_f_group", "_f_batch", "_f_index", "_f_route", "_f_hops",
            "_f_activate", "_f_started", "_f_rate", "_f_ref_time", "_f_ref_left", "_f_finish",
            "_f_bottleneck", "_free",
        ):  # fmt: skip
            array = getattr(self, name)
            grown = np.zeros(2 * old, dtype=array.dtype)
            grown[:old] = array
            setattr(self, name, grown)
        self._f_group[old:] = -1
        self._slot_ids = np.arange(2 * old, dtype=np.int64)
        self._free[self._n_free : self._n_free + old] = np.arange(2 * old - 1, old - 1, -1)
        self._n_free += old

    def _compact_pool(self, need: int) -> None:
        """Copy the routes of live flows to the front of a pool with room for ``need`` more."""
        live = np.flatnonzero(self._f_state != _FREE)
        size = max(self._pool.size, 2 * (self._pool_live + need))
        pool = np.zeros(size, dtype=np.int64)
        _, links = self._gather_routes(live)
        pool[: links.size] = links
        lengths = self._f_hops[live]
        self._f_route[live] = np.cumsum(lengths) - lengths
        self._pool = pool
        self._pool_top = int(links.size)

    def _at(self, slots: np.ndarray) -> np.ndarray | slice:
        """``slots`` as an index into the flow arrays: a slice when they are consecutive (a
        view of :attr:`_slot_ids`), so a batch's state is written and read as one block."""
        if slots.base is self._slot_ids and slots.size > 1:
            first = int(slots[0])
            return slice(first, first + slots.size)
        return slots

    def _whole_batch(self, slots: np.ndarray) -> _Batch | None:
        """The batch whose slots ``slots`` is (the very array), or None."""
        batch = self._batches.get(int(self._f_batch[slots[0]]))
        return batch if batch is not None and batch.slots is slots else None

    def _routes(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``slots`` of each entry, link of each entry) of the flows in ``slots``."""
        batch = self._whole_batch(slots)
        if batch is not None:  # a whole batch, in pattern order: the pattern's own arrays
            return batch.pattern.entry_flow, batch.pattern.route_links
        return self._gather_routes(slots)

    def _gather_routes(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lengths = self._f_hops[slots]
        owner = np.repeat(np.arange(slots.size), lengths)
        total = owner.size
        if total == 0:
            return owner, np.zeros(0, dtype=np.int64)
        first = np.cumsum(lengths) - lengths
        offset = np.repeat(self._f_route[slots] - first, lengths)
        return owner, self._pool[offset + np.arange(total)]

    def _link_counts(self, slots: np.ndarray, links: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distinct links, entries on each) of the flows ``slots`` whose entries are ``links``."""
        batch = self._whole_batch(slots)
        if batch is not None:
            return batch.pattern.link_counts
        return np.unique(links, return_counts=True)

    # ------------------------------------------------------------------ groups
    def _new_group(self, kind: int, slots: np.ndarray, first_time: float, previous: int) -> int:
        """Make ``slots`` a group; ``previous`` is their one former group, or -2 if mixed."""
        gid = next(self._group_ids)
        self._groups[gid] = (kind, slots)
        self._group_live[gid] = int(slots.size)
        if previous == -2:
            self._leave(self._f_group[self._at(slots)])
        elif previous >= 0:
            self._leave_one(previous, slots.size)
        if slots.size == 1:
            self._f_group[slots[0]] = gid
        else:
            self._f_group[self._at(slots)] = gid
        if first_time < _INF:
            heapq.heappush(self._heap, (first_time, next(self._heap_seq), gid))
        return gid

    def _leave_one(self, gid: int, count: int) -> None:
        """``count`` members left group ``gid``."""
        left = self._group_live[gid] - count
        if left:
            self._group_live[gid] = left
            self._stale.add(gid)
        else:
            del self._group_live[gid], self._groups[gid]
            self._stale.discard(gid)

    def _leave(self, old_groups: np.ndarray) -> None:
        """Members left the groups ``old_groups`` (one entry per member; -1 is no group)."""
        old_groups = old_groups[old_groups >= 0]
        if not old_groups.size:
            return
        first = old_groups[0]
        if (old_groups == first).all():
            self._leave_one(int(first), old_groups.size)
            return
        ids, counts = np.unique(old_groups, return_counts=True)
        for gid, count in zip(ids.tolist(), counts.tolist(), strict=True):
            self._leave_one(gid, count)

    def _members(self, gid: int, state: int) -> np.ndarray:
        """The slots of group ``gid`` still in it and in ``state``.

        A group that lost members since it was last looked at is compacted here, so that an
        intact group's array is exactly its members (and a whole batch's own slot array while
        the batch's flows move together, which lets the engine use the pattern's arrays).
        """
        kind, slots = self._groups[gid]
        if gid not in self._stale:  # no member has left: all are there, in the group's state
            return slots
        keep = (self._f_group[slots] == gid) & (self._f_state[slots] == state)
        slots = slots[keep]
        self._groups[gid] = (kind, slots)  # forget the members that left
        self._stale.discard(gid)
        return slots

    def _next_times(self, gid: int) -> tuple[np.ndarray, np.ndarray]:
        """(members, their next instant): activation for a waiting group, else completion."""
        if self._groups[gid][0] == _WAITING:
            members = self._members(gid, _LATENT)
            return members, self._f_activate[members]
        members = self._members(gid, _STREAMING)
        return members, self._f_finish[members]

    def _pop_due(
        self, horizon: float
    ) -> tuple[list[tuple[int, np.ndarray]], list[tuple[int, np.ndarray]], list[int]]:
        """(finishing, activating) as (group, slots) parts whose instant is by ``horizon``,
        and the bulks due by then."""
        finishing: list[tuple[int, np.ndarray]] = []
        activating: list[tuple[int, np.ndarray]] = []
        bulks: list[int] = []
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            _, _, gid = heapq.heappop(heap)
            group = self._groups.get(gid)
            if group is None:
                if gid in self._bulks:  # its heap entry is its next instant, exactly
                    bulks.append(gid)
                continue
            kind, members = group
            if members.size == 1:  # one member, never stale (it would have ended the group)
                slot = members[0]
                time = self._f_activate[slot] if kind == _WAITING else self._f_finish[slot]
                if time <= horizon:
                    (activating if kind == _WAITING else finishing).append((gid, members))
                else:
                    heapq.heappush(heap, (float(time), next(self._heap_seq), gid))
                continue
            members, times = self._next_times(gid)
            due = times <= horizon
            if due.all():
                part = members
            elif due.any():
                part = members[due]
            else:
                part = None
            if part is not None:
                target = activating if self._groups[gid][0] == _WAITING else finishing
                target.append((gid, part))
            if not due.all():
                heapq.heappush(heap, (float(times[~due].min()), next(self._heap_seq), gid))
        return finishing, activating, bulks

    # ------------------------------------------------------------------ engine
    def _update(self) -> None:
        """Bring the flow state to ``now``: arrivals, activations, rates, next wake-up."""
        now = self.env.now
        # A wake-up lands at now + (due - now), which can miss ``due`` by one rounding step.
        horizon = now + abs(now) * _CLOCK_ROUNDING
        while True:
            finishing, activating, bulks = self._pop_due(horizon)
            if not (finishing or activating or bulks):
                break
            touched: set[int] = set()
            completed: list[_Batch] = []
            for gid, part in finishing:
                completed.extend(self._finish(gid, part, touched, now))
            joined: list[np.ndarray] = []
            arrives_now = bool(activating) and self._activate(activating, now, touched, joined)
            for gid in bulks:
                arrives_now |= self._step_bulk(gid, now, completed)
            if len(completed) > 1:
                completed.sort(key=lambda b: b.seq)
            for batch in completed:
                self.flows_completed += batch.pattern.size
                if batch.slots is None:  # a bulk: every flow arrived at once
                    n = batch.pattern.size
                    arrived = batch.arrived
                    times = np.array([arrived]) if n == 1 else np.broadcast_to(arrived, (n,))
                    batch.event.succeed(times)
                else:
                    batch.event.succeed(self._f_finish[self._at(batch.slots)].copy())
                    self._release(batch)
                del self._batches[batch.seq]
            if self.sim.tracer.enabled:
                self.sim.tracer.counter("network", now, {"streaming_flows": self._n_streaming})
            if touched or joined:
                arrives_now |= self._resolve(touched, joined, now)
            if not arrives_now:
                break  # nothing arrives at this very instant: wait for the next one
        self._schedule_wakeup(now)

    def _finish(self, gid: int, slots: np.ndarray, touched: set[int], now: float) -> list[_Batch]:
        """Mark ``slots`` (members of ``gid``) arrived; return the batches this completes."""
        if slots.size == 1:
            return self._finish_one(gid, slots, touched, now)
        at = self._at(slots)
        self._f_state[at] = _DONE
        self._n_streaming -= slots.size
        _, links = self._routes(slots)
        if links.size:
            ids, counts = self._link_counts(slots, links)
            left = self._l_count[ids] - counts
            self._l_count[ids] = left
            groups = self._l_group[ids]
            if groups.max() >= 0:
                touched.update(np.unique(groups[groups >= 0]).tolist())
                self._l_group[ids[left == 0]] = -1
        self._leave_one(gid, slots.size)
        self._f_group[at] = -1
        seqs = self._f_batch[at]
        if seqs[0] == seqs[-1] and (seqs == seqs[0]).all():
            parts = [(int(seqs[0]), slots)]
        else:
            order = np.argsort(seqs, kind="stable")
            slots, seqs = slots[order], seqs[order]
            starts = np.flatnonzero(np.r_[True, seqs[1:] != seqs[:-1]]).tolist()
            parts = [
                (int(seqs[a]), slots[a:b])
                for a, b in zip(starts, [*starts[1:], seqs.size], strict=True)
            ]
        completed = []
        for seq, due in parts:
            batch = self._batches[seq]
            batch.n_left -= due.size
            if due is batch.slots:
                src_u, _, src_n, _, _ = batch.pattern._ends_once
                index = batch.pattern.flow_index
            else:
                index = self._f_index[due]
                src_u, src_n = np.unique(batch.pattern.src[index], return_counts=True)
            self._sends_end(src_u, src_n, now)
            self._trace_flows(batch, index)
            if batch.n_left == 0:
                completed.append(batch)
        return completed

    def _finish_one(
        self, gid: int, slots: np.ndarray, touched: set[int], now: float
    ) -> list[_Batch]:
        """:meth:`_finish` for one flow, in scalar steps (no array operation on one element)."""
        slot = int(slots[0])
        self._f_state[slot] = _DONE
        self._n_streaming -= 1
        count, group = self._l_count, self._l_group
        for link in self._route_of(slot):
            left = count[link] - 1
            count[link] = left
            g = int(group[link])
            if g >= 0:
                touched.add(g)
                if not left:
                    group[link] = -1
        self._leave_one(gid, 1)
        self._f_group[slot] = -1
        batch = self._batches[int(self._f_batch[slot])]
        batch.n_left -= 1
        index = int(self._f_index[slot])
        self._send_end_one(int(batch.pattern.src[index]), now)
        if self.sim.tracer.enabled:
            self._trace_flows(batch, np.array([index]))
        return [batch] if batch.n_left == 0 else []

    def _route_of(self, slot: int) -> list[int]:
        """The links (and media) of flow ``slot``, in route order."""
        start = int(self._f_route[slot])
        return self._pool[start : start + int(self._f_hops[slot])].tolist()

    def _activate(
        self,
        parts: list[tuple[int, np.ndarray]],
        now: float,
        touched: set[int],
        joined: list[np.ndarray],
    ) -> bool:
        """Start streaming ``parts``; solo flows get their bottleneck rate at once.

        Flows that share a link with another streaming flow are added to ``joined`` (with the
        solo flows they share with), to be solved together with the groups they touch. Returns
        whether a solo flow arrives at this very instant (no bytes, or no route).
        """
        routed: list[tuple[int, np.ndarray, np.ndarray | None, np.ndarray | list[int]]] = []
        count = self._l_count
        for gid, slots in parts:  # every flow's links are counted before any is judged solo
            if slots.size == 1:  # one flow: scalar steps
                slot = int(slots[0])
                self._f_state[slot] = _STREAMING
                self._f_started[slot] = now
                self._n_streaming += 1
                route = self._route_of(slot)
                for link in route:
                    count[link] += 1
                routed.append((gid, slots, None, route))
                continue
            at = self._at(slots)
            self._f_state[at] = _STREAMING
            self._f_started[at] = now
            self._n_streaming += slots.size
            owner, links = self._routes(slots)
            if links.size:
                ids, counts = self._link_counts(slots, links)
                count[ids] += counts
            routed.append((gid, slots, owner, links))
        solo_now = False
        for gid, slots, owner, links in routed:
            if owner is None:  # one flow, its route as a list
                if all(count[link] < 2 for link in links):
                    solo_now |= self._start_one_alone(gid, slots, links, now)
                    continue
                owner = np.zeros(len(links), dtype=np.int64)
                links = np.array(links, dtype=np.int64)
            shared = np.zeros(slots.size, dtype=bool) if links.size == 0 else None
            if shared is None:
                crowded = self._l_count[links] >= 2
                if crowded.any():
                    shared = np.zeros(slots.size, dtype=bool)
                    shared[owner[crowded]] = True
                    busy = np.unique(links[crowded])
                    groups = self._l_group[busy]
                    touched.update(np.unique(groups[groups >= 0]).tolist())
                    joined.append(
                        np.concatenate([slots[shared], self._solo_owners(busy[groups < 0])])
                    )
            solo = slots if shared is None or not shared.any() else slots[~shared]
            if solo.size:
                self._start_alone(solo, now)
                solo_owner, solo_links = (owner, links) if solo is slots else self._routes(solo)
                self._l_owner[solo_links] = solo[solo_owner]
                self._l_group[solo_links] = -1
                first = float(self._f_finish[self._at(solo)].min())
                self._new_group(_SOLO, solo, first, previous=gid)
                solo_now |= first <= now
            if solo is not slots:
                rest = slots.size - solo.size
                self._leave_one(gid, rest)
                self._f_group[slots[shared]] = -1
        return solo_now

    def _solo_owners(self, links: np.ndarray) -> np.ndarray:
        """The solo flows streaming on ``links`` (links without a component group).

        ``_l_owner`` may name a flow that has since ended (its slot possibly reused); only a
        streaming flow in a solo group can be on such a link, and taking one that is not costs
        nothing but a joint solve that gives it its bottleneck rate again.
        """
        owners = self._l_owner[links]
        owners = owners[(owners >= 0) & (self._f_state[np.maximum(owners, 0)] == _STREAMING)]
        groups = self._groups
        solo = [
            o
            for o, g in zip(owners.tolist(), self._f_group[owners].tolist(), strict=True)
            if g in groups and groups[g][0] == _SOLO  # g < 0: just started, already joined
        ]
        return np.array(solo, dtype=np.int64)

    def _resolve(self, touched: set[int], joined: list[np.ndarray], now: float) -> bool:
        """Re-solve the touched groups (and the newly joined flows); True if a flow arrives now."""
        alive = sorted(g for g in touched if g in self._groups)
        if joined:
            parts = [*joined, *(self._members(g, _STREAMING) for g in alive)]
            merged = [np.unique(np.concatenate(parts))]
        else:
            merged = [self._members(g, _STREAMING) for g in alive]
        arrives_now = False
        for members in merged:
            if not members.size:
                continue
            owner, links = self._gather_routes(members)
            self.rate_solves += 1
            rates = max_min_rates(owner, links, members.size, self._capacity_all)
            self._set_rates(members, rates, now)
            first = float(self._f_finish[members].min())
            gid = self._new_group(_COMPONENT, members, first, previous=-2)
            self._l_group[links] = gid
            arrives_now |= first <= now
        return arrives_now

    def _start_one_alone(self, gid: int, slots: np.ndarray, route: list[int], now: float) -> bool:
        """One flow alone on its ``route`` streams at its bottleneck (a solo group of its own);
        True if it arrives at this very instant."""
        slot = int(slots[0])
        rate = self._f_bottleneck[slot]
        self._f_ref_time[slot] = now
        self._f_rate[slot] = rate
        finish = now if rate == np.inf else now + float(self._f_ref_left[slot] / rate)
        self._f_finish[slot] = finish
        owner, group = self._l_owner, self._l_group
        for link in route:
            owner[link] = slot
            group[link] = -1
        self._new_group(_SOLO, slots, finish, previous=gid)
        return finish <= now

    def _start_alone(self, slots: np.ndarray, now: float) -> None:
        """Flows that just started with their links to themselves stream at their bottleneck."""
        at = self._at(slots)
        rates = self._f_bottleneck[at]
        self._f_ref_time[at] = now
        self._f_rate[at] = rates
        with np.errstate(divide="ignore", invalid="ignore"):
            duration = np.where(np.isinf(rates), 0.0, self._f_ref_left[at] / rates)
        self._f_finish[at] = now + duration

    def _set_rates(self, slots: np.ndarray, rates: np.ndarray, now: float) -> None:
        """Give ``slots`` their new rates; flows whose rate holds keep their finish time."""
        old = self._f_rate[slots]
        moved = rates != old
        if not moved.all():
            if not moved.any():
                return
            slots, rates, old = slots[moved], rates[moved], old[moved]
        was = old > 0
        if was.any():
            s = slots[was]
            left = self._f_ref_left[s] - old[was] * (now - self._f_ref_time[s])
            self._f_ref_left[s] = np.maximum(left, 0.0)
        self._f_ref_time[slots] = now
        self._f_rate[slots] = rates
        with np.errstate(divide="ignore", invalid="ignore"):
            duration = np.where(np.isinf(rates), 0.0, self._f_ref_left[slots] / rates)
        self._f_finish[slots] = now + duration

    def _schedule_wakeup(self, now: float) -> None:
        heap = self._heap
        while heap:  # drop entries of ended groups; move early entries of shrunk ones
            gid = heap[0][2]
            if gid not in self._groups and gid not in self._bulks:
                heapq.heappop(heap)
            elif gid in self._stale:
                heapq.heappop(heap)
                _, times = self._next_times(gid)
                if times.size:
                    heapq.heappush(heap, (float(times.min()), next(self._heap_seq), gid))
            else:
                break
        next_time = heap[0][0] if heap else _INF
        if next_time == self._wake_time or next_time == _INF:
            return
        self._wake_time = next_time
        self._wake_generation += 1
        generation = self._wake_generation
        timeout = self.env.timeout(max(0.0, next_time - now))
        timeout.callbacks.append(lambda _event: self._on_wakeup(generation))

    def _on_wakeup(self, generation: int) -> None:
        if generation != self._wake_generation:
            return
        self._wake_time = np.inf
        self._update()

    # ----------------------------------------------------------------- metrics
    @property
    def link_bytes(self) -> np.ndarray:
        """Bytes that crossed each directed link (media are not links).

        The totals at the moment of reading: read the property again after more transfers
        (the bytes of a batch are added to it when it is read, see :meth:`_fold_bytes`).
        """
        self._fold_bytes()
        return self._link_bytes

    @property
    def node_bytes_sent(self) -> np.ndarray:
        """Bytes each node sent."""
        self._fold_bytes()
        return self._node_bytes_sent

    @property
    def node_bytes_received(self) -> np.ndarray:
        """Bytes each node received."""
        self._fold_bytes()
        return self._node_bytes_received

    def _fold_bytes(self) -> None:
        """Add the bytes submitted per pattern since the last read to the totals.

        A batch only adds its sizes to its pattern's running sum (one vector addition); the
        scatter over links and nodes happens once per pattern when the totals are read, so a
        collective that reuses one pattern for thousands of steps pays it once.
        """
        for pattern, per_flow, common in self._pending_bytes.values():
            sizes = np.full(pattern.size, common) if per_flow is None else per_flow
            self._account_bytes(pattern, sizes)
        self._pending_bytes.clear()

    def _account_bytes(self, pattern: FlowPattern, sizes: np.ndarray) -> None:
        """Add a batch's bytes to the per-link and per-node totals (media are not links)."""
        if pattern.entry_flow.size:
            links, local = pattern._links_once
            per_link = np.bincount(local, weights=sizes[pattern.entry_flow], minlength=links.size)
            real = links < self._n_real
            self._link_bytes[links[real]] += per_link[real]
        if pattern.size:
            src_u, src_i, _, dst_u, dst_i = pattern._ends_once
            self._node_bytes_sent[src_u] += np.bincount(src_i, weights=sizes, minlength=src_u.size)
            self._node_bytes_received[dst_u] += np.bincount(
                dst_i, weights=sizes, minlength=dst_u.size
            )

    @property
    def node_send_busy(self) -> np.ndarray:
        """Per node, the time during which it had an outgoing flow in progress, seconds.

        The exact measure of the union of each node's send intervals, however they overlap:
        a node's busy interval opens when its first send starts and closes when its last one
        ends, so the cost of keeping it is one update per interval, not one per event.
        """
        if self._held_sends is not None:
            self._end_held_sends()
        busy = self._send_busy_closed.copy()
        open_ = self._sends_in_flight > 0
        busy[open_] += self.env.now - self._send_busy_since[open_]
        return busy

    def _send_begin_one(self, node: int, now: float) -> None:
        """One send of ``node`` started (:meth:`_sends_begin` in scalar steps)."""
        if self._held_sends is not None:
            self._end_held_sends()
        before = self._sends_in_flight[node]
        self._sends_in_flight[node] = before + 1
        if not before:
            self._send_busy_since[node] = now

    def _send_end_one(self, node: int, now: float) -> None:
        """One send of ``node`` ended (:meth:`_sends_end` in scalar steps)."""
        if self._held_sends is not None:
            self._end_held_sends()
        left = self._sends_in_flight[node] - 1
        self._sends_in_flight[node] = left
        if not left:
            self._send_busy_closed[node] += now - self._send_busy_since[node]

    def _end_held_sends(self) -> None:
        """End the held sends of the last bulk, at the instant it arrived."""
        nodes, counts, when = self._held_sends  # type: ignore[misc]
        self._held_sends = None
        self._sends_end(nodes, counts, when)

    def _sends_begin(self, nodes: np.ndarray, counts: np.ndarray, now: float) -> None:
        """``counts[i]`` sends of ``nodes[i]`` started (distinct nodes)."""
        if self._held_sends is not None:
            self._end_held_sends()
        before = self._sends_in_flight[nodes]
        self._sends_in_flight[nodes] = before + counts
        opening = before == 0
        if opening.any():
            self._send_busy_since[nodes[opening]] = now

    def _sends_end(self, nodes: np.ndarray, counts: np.ndarray, now: float) -> None:
        """``counts[i]`` sends of ``nodes[i]`` ended (distinct nodes)."""
        if self._held_sends is not None:
            self._end_held_sends()
        after = self._sends_in_flight[nodes] - counts
        self._sends_in_flight[nodes] = after
        closing = after == 0
        if closing.any():
            closed = nodes[closing]
            self._send_busy_closed[closed] += now - self._send_busy_since[closed]

    def _trace_flows(self, batch: _Batch, index: np.ndarray) -> None:
        """Spans for the flows ``index`` (positions in the batch's pattern) that just arrived."""
        tracer = self.sim.tracer
        if not tracer.enabled:
            return
        p = batch.pattern
        due = np.zeros(p.size, dtype=bool)
        due[index] = True
        has_route = p.route_lengths > 0
        entry_mask = due[p.entry_flow] & (p.entry_link < self._n_real)
        slots = batch.slots
        for flow, link in zip(
            p.entry_flow[entry_mask].tolist(), p.entry_link[entry_mask].tolist(), strict=False
        ):
            tracer.span(
                ("links", self.link_name(link)),
                batch.label,
                "network",
                float(self._f_started[slots[flow]]),
                float(self._f_finish[slots[flow]]),
                {"bytes": float(batch.sizes[flow])},
            )
        for flow in np.flatnonzero(due & has_route).tolist():
            tracer.span(
                (self.nodes[int(p.src[flow])], "comm"),
                batch.label,
                "comm",
                float(batch.submitted),
                float(self._f_finish[slots[flow]]),
                {"to": self.nodes[int(p.dst[flow])], "bytes": float(batch.sizes[flow])},
            )
