"""FlowNetwork: full-duplex links shared max-min fairly among the flows that cross them.

A flow is a transfer of ``size`` bytes from one node to another along a fixed route (fewest
hops; ties broken towards the lowest node index, so routes are deterministic). It first waits
the sum of the latencies of its hops, then streams at the rate that max-min fair sharing gives
it among all streaming flows (see :mod:`clustersim.hardware.maxmin`). Alone on its path it
therefore takes exactly ``latency + size / bandwidth``.

Performance shape (DESIGN.md §3): callers hand the network whole batches of flows
(:meth:`FlowNetwork.transfer_all`) built on a reusable :class:`FlowPattern` (routes resolved
once, stored as numpy incidence arrays). Rates are recomputed only when the set of streaming
flows changes, and are cached per set of patterns, so a collective that repeats the same
pattern every step pays for the allocation once. The network keeps one pending wake-up, at the
next instant a flow starts streaming or finishes, so the event count grows with the number of
distinct instants, not with the number of flows.

Always-on metrics: bytes per directed link, bytes sent and received per node, and per node the
time during which it had an outgoing flow in progress (its communication stream's busy time).
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import simpy

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.maxmin import max_min_rates

__all__ = ["FlowNetwork", "FlowPattern"]

_RATE_CACHE_LIMIT = 4096
_CLOCK_ROUNDING = 4e-16
_pattern_ids = itertools.count()


@dataclass(frozen=True, eq=False)
class FlowPattern:
    """A reusable set of flows (src -> dst pairs) with their routes resolved.

    Attributes:
        src, dst: node indices of each flow.
        entry_flow, entry_link: the flow-by-link incidence as COO pairs.
        latency: sum of hop latencies of each flow's route, seconds.
        bottleneck: smallest link capacity on each flow's route, bytes/s (``inf`` for src == dst).
    """

    src: np.ndarray
    dst: np.ndarray
    entry_flow: np.ndarray
    entry_link: np.ndarray
    latency: np.ndarray
    bottleneck: np.ndarray
    id: int = field(default_factory=lambda: next(_pattern_ids))

    @property
    def size(self) -> int:
        """Number of flows."""
        return int(self.src.size)


class _Batch:
    """Flows submitted together; its event fires when the last one has arrived."""

    __slots__ = (
        "activate_at",
        "done",
        "event",
        "finish",
        "label",
        "n_left",
        "pattern",
        "rate",
        "ref_left",
        "ref_time",
        "sizes",
        "started",
        "streaming",
        "submitted",
    )

    def __init__(
        self, pattern: FlowPattern, sizes: np.ndarray, now: float, event: simpy.Event, label: str
    ) -> None:
        n = pattern.size
        self.pattern = pattern
        self.sizes = sizes
        self.event = event
        self.submitted = now
        self.label = label
        self.activate_at = now + pattern.latency
        self.streaming = np.zeros(n, dtype=bool)
        self.done = np.zeros(n, dtype=bool)
        self.rate = np.zeros(n)
        self.ref_time = self.activate_at.copy()
        self.ref_left = sizes.astype(float, copy=True)
        self.finish = np.full(n, np.inf)
        self.started = np.full(n, np.nan)
        self.n_left = n


class FlowNetwork:
    """Links, routes and the flows in flight on a cluster graph.

    Args:
        sim: the simulation (its environment drives time; its tracer gets link spans).
        graph: undirected networkx graph whose edges carry ``bandwidth`` (bytes/s per direction)
            and ``latency`` (s); see :mod:`clustersim.hardware.topology`.
    """

    def __init__(self, sim: Simulation, graph: nx.Graph) -> None:
        self.sim = sim
        self.env = sim.env
        self.nodes: list[str] = list(graph.nodes)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.nodes)}
        n_nodes = len(self.nodes)
        link_ends: list[tuple[int, int]] = []
        capacity: list[float] = []
        latency: list[float] = []
        self._link_of: dict[tuple[int, int], int] = {}
        for u, v, attrs in graph.edges(data=True):
            for a, b in ((u, v), (v, u)):
                ia, ib = self.index[a], self.index[b]
                self._link_of[(ia, ib)] = len(link_ends)
                link_ends.append((ia, ib))
                capacity.append(float(attrs["bandwidth"]))
                latency.append(float(attrs["latency"]))
        self.link_ends = np.array(link_ends, dtype=np.int64).reshape(-1, 2)
        self.capacity = np.array(capacity, dtype=float)
        self.link_latency = np.array(latency, dtype=float)
        self._neighbours: list[list[int]] = [
            sorted(self.index[m] for m in graph.neighbors(name)) for name in self.nodes
        ]
        self._parents: dict[int, np.ndarray] = {}
        self._pair_patterns: dict[tuple[int, int], FlowPattern] = {}
        # state
        self._batches: list[_Batch] = []
        self._rate_cache: dict[tuple, list[np.ndarray]] = {}
        self._wake_time = np.inf
        self._wake_generation = 0
        # always-on metrics
        self.link_bytes = np.zeros(len(link_ends))
        self.node_bytes_sent = np.zeros(n_nodes)
        self.node_bytes_received = np.zeros(n_nodes)
        self.node_send_busy = np.zeros(n_nodes)
        self._sends_in_flight = np.zeros(n_nodes, dtype=np.int64)
        self._busy_clock = 0.0
        self.flows_completed = 0
        self.rate_solves = 0

    # ------------------------------------------------------------------ routes
    def link_name(self, link: int) -> str:
        """Human name of a directed link, e.g. ``"n0->n1"``."""
        a, b = self.link_ends[link]
        return f"{self.nodes[a]}->{self.nodes[b]}"

    def node_index(self, name: str) -> int:
        """Index of node ``name``; an unknown name is an :class:`InputError`."""
        try:
            return self.index[name]
        except KeyError:
            shown = ", ".join(self.nodes[:12]) + (" ..." if len(self.nodes) > 12 else "")
            raise InputError(f"unknown node {name!r}; the cluster's nodes are {shown}") from None

    def _bfs_parents(self, src: int, stop_at: int | None = None) -> np.ndarray:
        """BFS parent array from ``src`` (neighbours in index order: a deterministic tie-break).

        With ``stop_at`` the search ends once that node is reached; the parents found so far
        are the same as in the full search, so the route is too. Full trees are cached.
        """
        parents = self._parents.get(src)
        if parents is not None:
            return parents
        parents = np.full(len(self.nodes), -1, dtype=np.int64)
        parents[src] = src
        queue = deque([src])
        neighbours = self._neighbours
        while queue:
            u = queue.popleft()
            for v in neighbours[u]:
                if parents[v] < 0:
                    parents[v] = u
                    if v == stop_at:
                        return parents
                    queue.append(v)
        self._parents[src] = parents
        return parents

    def route(self, src: int, dst: int, *, many_from_src: bool = False) -> list[int]:
        """Directed link indices from ``src`` to ``dst`` (fewest hops, lowest-index tie-break).

        ``many_from_src`` says more routes from ``src`` will follow: the full BFS tree is then
        built once and cached, instead of an early-exit search per destination.
        """
        parents = self._bfs_parents(src, stop_at=None if many_from_src else dst)
        if parents[dst] < 0:
            raise InputError(
                f"no route from {self.nodes[src]} to {self.nodes[dst]}: the topology does not "
                "connect them"
            )
        hops: list[int] = []
        node = dst
        while node != src:
            prev = int(parents[node])
            hops.append(self._link_of[(prev, node)])
            node = prev
        hops.reverse()
        return hops

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
        sources = src_arr.tolist()
        fan_out = Counter(sources)
        for i, (s, d) in enumerate(zip(sources, dst_arr.tolist(), strict=True)):
            hops = self.route(s, d, many_from_src=fan_out[s] > 1) if s != d else []
            entry_flow.extend([i] * len(hops))
            entry_link.extend(hops)
            if hops:
                latency[i] = float(self.link_latency[hops].sum())
                bottleneck[i] = float(self.capacity[hops].min())
        return FlowPattern(
            src=src_arr,
            dst=dst_arr,
            entry_flow=np.array(entry_flow, dtype=np.int64),
            entry_link=np.array(entry_link, dtype=np.int64),
            latency=latency,
            bottleneck=bottleneck,
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
        array of arrival times, one per flow.
        """
        sizes_arr = np.broadcast_to(np.asarray(sizes, dtype=float), (pattern.size,)).copy()
        if (sizes_arr < 0).any() or not np.isfinite(sizes_arr).all():
            raise ValueError("flow sizes must be finite and non-negative")
        now = self.env.now
        event = simpy.Event(self.env)
        batch = _Batch(pattern, sizes_arr, now, event, label)
        if pattern.entry_flow.size:
            self.link_bytes += np.bincount(
                pattern.entry_link,
                weights=sizes_arr[pattern.entry_flow],
                minlength=self.link_bytes.size,
            )
        n_nodes = len(self.nodes)
        self.node_bytes_sent += np.bincount(pattern.src, weights=sizes_arr, minlength=n_nodes)
        self.node_bytes_received += np.bincount(pattern.dst, weights=sizes_arr, minlength=n_nodes)
        if pattern.size == 0:
            event.succeed(np.zeros(0))
            return event
        self._accrue_busy(now)
        self._sends_in_flight += np.bincount(pattern.src, minlength=n_nodes)
        self._batches.append(batch)
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
        return self.transfer_all(pattern, [size], label)

    # ------------------------------------------------------------------ engine
    def _update(self) -> None:
        """Bring the flow state to ``now``: arrivals, activations, rates, next wake-up."""
        now = self.env.now
        # A wake-up lands at now + (due - now), which can miss ``due`` by one rounding step.
        horizon = now + abs(now) * _CLOCK_ROUNDING
        changed = False
        finished: list[_Batch] = []
        self._accrue_busy(now)
        for batch in self._batches:
            due = batch.streaming & (batch.finish <= horizon)
            if due.any():
                changed = True
                batch.streaming &= ~due
                batch.done |= due
                batch.n_left -= int(due.sum())
                self._sends_in_flight -= np.bincount(
                    batch.pattern.src[due], minlength=self._sends_in_flight.size
                )
                self._trace_flows(batch, due)
            starting = ~batch.streaming & ~batch.done & (batch.activate_at <= horizon)
            if starting.any():
                changed = True
                batch.streaming |= starting
                batch.started[starting] = now
            if batch.n_left == 0:
                finished.append(batch)
        if finished:
            self._batches = [b for b in self._batches if b.n_left]
            for batch in finished:
                self.flows_completed += batch.pattern.size
                batch.event.succeed(batch.finish.copy())
        if changed and self.sim.tracer.enabled:
            streaming = sum(int(b.streaming.sum()) for b in self._batches)
            self.sim.tracer.counter("network", now, {"streaming_flows": streaming})
        if changed and self._batches:
            self._reallocate(now)
            if any(b.n_left and (b.streaming & (b.finish <= now)).any() for b in self._batches):
                self._update()  # zero-size or src == dst flows arrive the moment they start
                return
        self._schedule_wakeup(now)

    def _reallocate(self, now: float) -> None:
        """Recompute max-min rates of the streaming flows; keep finish times where rates hold."""
        key = tuple(
            (b.pattern.id, None if b.streaming.all() else b.streaming.tobytes())
            for b in self._batches
        )
        rates = self._rate_cache.get(key)
        if rates is None:
            rates = self._solve_rates()
            if len(self._rate_cache) >= _RATE_CACHE_LIMIT:
                self._rate_cache.clear()
            self._rate_cache[key] = rates
        for batch, new_rate in zip(self._batches, rates, strict=False):
            moved = batch.streaming & (new_rate != batch.rate)
            if not moved.any():
                continue
            was_streaming = moved & (batch.rate > 0)
            if was_streaming.any():
                elapsed = now - batch.ref_time[was_streaming]
                batch.ref_left[was_streaming] -= batch.rate[was_streaming] * elapsed
                np.maximum(batch.ref_left, 0.0, out=batch.ref_left)
            batch.ref_time[moved] = now
            batch.rate[moved] = new_rate[moved]
            with np.errstate(divide="ignore", invalid="ignore"):
                duration = np.where(
                    np.isinf(new_rate[moved]), 0.0, batch.ref_left[moved] / new_rate[moved]
                )
            batch.finish[moved] = now + duration

    def _solve_rates(self) -> list[np.ndarray]:
        self.rate_solves += 1
        flows, links, offsets = [], [], []
        offset = 0
        for batch in self._batches:
            p = batch.pattern
            keep = batch.streaming[p.entry_flow]
            flows.append(p.entry_flow[keep] + offset)
            links.append(p.entry_link[keep])
            offsets.append(offset)
            offset += p.size
        rates = max_min_rates(np.concatenate(flows), np.concatenate(links), offset, self.capacity)
        out = []
        for batch, start in zip(self._batches, offsets, strict=False):
            r = rates[start : start + batch.pattern.size].copy()
            r[~batch.streaming] = 0.0
            out.append(r)
        return out

    def _schedule_wakeup(self, now: float) -> None:
        next_time = np.inf
        for batch in self._batches:
            pending = ~batch.streaming & ~batch.done
            if pending.any():
                next_time = min(next_time, float(batch.activate_at[pending].min()))
            if batch.streaming.any():
                next_time = min(next_time, float(batch.finish[batch.streaming].min()))
        if next_time == self._wake_time or next_time == np.inf:
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
    def _accrue_busy(self, now: float) -> None:
        """Add the time since the last change to every node with a send in flight.

        Called before the set of in-flight sends changes, so ``node_send_busy`` is the exact
        measure of the union of each node's send intervals, however they overlap.
        """
        elapsed = now - self._busy_clock
        if elapsed > 0:
            self.node_send_busy[self._sends_in_flight > 0] += elapsed
        self._busy_clock = now

    def _trace_flows(self, batch: _Batch, due: np.ndarray) -> None:
        tracer = self.sim.tracer
        if not tracer.enabled:
            return
        p = batch.pattern
        has_route = np.bincount(p.entry_flow, minlength=p.size) > 0
        entry_mask = due[p.entry_flow]
        for flow, link in zip(
            p.entry_flow[entry_mask].tolist(), p.entry_link[entry_mask].tolist(), strict=False
        ):
            tracer.span(
                ("links", self.link_name(link)),
                batch.label,
                "network",
                float(batch.started[flow]),
                float(batch.finish[flow]),
                {"bytes": float(batch.sizes[flow])},
            )
        for flow in np.flatnonzero(due & has_route).tolist():
            tracer.span(
                (self.nodes[int(p.src[flow])], "comm"),
                batch.label,
                "comm",
                float(batch.submitted),
                float(batch.finish[flow]),
                {"to": self.nodes[int(p.dst[flow])], "bytes": float(batch.sizes[flow])},
            )
