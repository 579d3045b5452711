"""The parameter server's SimPy processes: workers compute, push shards, and pull them back.

The process view of docs/architecture.md §1. One process per worker (compute on its device,
then push, then pull) and, in ``sync`` mode, one server process that runs the barrier. Pushes
and pulls are flow batches on the FlowNetwork: in ``sync`` one batch of ``(W-b)·S`` push flows
and one of ``W·S`` pull flows per step; in ``async``/``ssp`` one batch of ``S`` flows per worker
and phase.

:class:`ServerLinks` (the flow patterns between workers and servers) is the public piece the
``data_parallel`` kind reuses when it synchronises gradients through a parameter server.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from clustersim.hardware.cluster import Cluster
from clustersim.hardware.network import FlowPattern
from clustersim.training.parameter_server.kernels import AggregationCheck
from clustersim.training.parameter_server.layout import ServerLayout
from clustersim.training.parameter_server.params import ComputeWork, ParameterServerParams

__all__ = ["ParameterServerRun", "ServerLinks", "async_processes", "sync_processes"]


class ServerLinks:
    """The flows between workers and servers of a :class:`ServerLayout`, resolved once each.

    A batch is worker-major and server-minor: flow ``i·S + s`` joins worker ``workers[i]`` and
    server ``s``, pushes going worker -> server and pulls server -> worker.
    """

    def __init__(self, cluster: Cluster, layout: ServerLayout) -> None:
        self.cluster = cluster
        self.layout = layout
        self._patterns: dict[tuple[str, tuple[int, ...]], FlowPattern] = {}

    def pattern(self, direction: str, workers: tuple[int, ...]) -> FlowPattern:
        """The ``"push"`` or ``"pull"`` flows between the given workers (by index) and every
        server."""
        key = (direction, workers)
        pattern = self._patterns.get(key)
        if pattern is None:
            net = self.cluster.network
            w_idx = self.cluster.rank_indices([self.layout.workers[w] for w in workers])
            s_idx = self.cluster.rank_indices(self.layout.servers)
            w_col = np.repeat(w_idx, s_idx.size)
            s_col = np.tile(s_idx, w_idx.size)
            pattern = (
                net.pattern(w_col, s_col) if direction == "push" else net.pattern(s_col, w_col)
            )
            self._patterns[key] = pattern
        return pattern

    def transfer(
        self, direction: str, workers: tuple[int, ...], sizes: np.ndarray, label: str
    ) -> simpy.Event:
        """Start one push or pull batch with ``sizes`` bytes per flow; fires when all arrive."""
        return self.cluster.network.transfer_all(self.pattern(direction, workers), sizes, label)


@dataclass
class ParameterServerRun:
    """Shared state of one simulated parameter-server run, and what it measures."""

    cluster: Cluster
    params: ParameterServerParams
    layout: ServerLayout
    base: np.ndarray  # per worker, seconds
    factors: np.ndarray  # (iterations, workers)
    check: AggregationCheck | None
    links: ServerLinks = field(init=False)
    # per-flow streaming intervals touching each server (for the link's busy fraction)
    link_start: list[np.ndarray] = field(default_factory=list)
    link_end: list[np.ndarray] = field(default_factory=list)
    link_server: list[np.ndarray] = field(default_factory=list)
    bytes_pushed: float = 0.0
    bytes_pulled: float = 0.0
    compute_total: float = 0.0
    comm_total: float = 0.0
    idle_total: float = 0.0
    # seconds each worker spent waiting (sync barrier, or the SSP bound), one entry per worker
    idle_per_worker: np.ndarray = field(init=False)
    dropped: int = 0
    staleness: list[int] = field(default_factory=list)
    clock_gap_max: int = 0

    def __post_init__(self) -> None:
        self.links = ServerLinks(self.cluster, self.layout)
        self.idle_per_worker = np.zeros(len(self.base))

    @property
    def n_workers(self) -> int:
        return len(self.layout.workers)

    def transfer(
        self, direction: str, workers: tuple[int, ...], label: str
    ) -> Generator[Any, Any, None]:
        """Push (or pull) every shard between ``workers`` and the servers, as one batch."""
        pattern = self.links.pattern(direction, workers)
        sizes = np.tile(self.layout.shard_bytes, len(workers))
        submitted = self.cluster.sim.now
        finish = yield self.links.transfer(direction, workers, sizes, label)
        self.link_start.append(submitted + pattern.latency)
        self.link_end.append(np.asarray(finish, dtype=float))
        self.link_server.append(np.tile(np.arange(len(self.layout.servers)), len(workers)))
        total = float(sizes.sum())
        if direction == "push":
            self.bytes_pushed += total
        else:
            self.bytes_pulled += total

    def compute(
        self, w: int, seconds_before_slowdown: float, fraction: float = 1.0
    ) -> Generator[Any, Any, float]:
        """Run worker ``w``'s compute (``fraction`` of the FLOPs when abandoned early)."""
        device = self.cluster.devices[self.layout.workers[w]]
        work = self.params.compute
        flops, moved = (work.flops, work.bytes) if isinstance(work, ComputeWork) else (0.0, 0.0)
        start = self.cluster.sim.now
        end = yield from device.compute(
            flops * fraction,
            moved * fraction,
            duration=seconds_before_slowdown,
            label="gradient" if fraction == 1.0 else "gradient (dropped)",
        )
        self.compute_total += end - start
        return end

    def server_busy_s(self) -> np.ndarray:
        """Per server: time during which some flow to or from it was streaming (union)."""
        n = len(self.layout.servers)
        busy = np.zeros(n)
        if not self.link_start:
            return busy
        start = np.concatenate(self.link_start)
        end = np.concatenate(self.link_end)
        server = np.concatenate(self.link_server)
        for s in range(n):
            mine = server == s
            order = np.argsort(start[mine], kind="stable")
            a = start[mine][order]
            b = np.maximum.accumulate(end[mine][order])
            if a.size == 0:
                continue
            new = np.empty(a.size, dtype=bool)
            new[0] = True
            new[1:] = a[1:] > b[:-1]
            firsts = np.flatnonzero(new)
            lasts = np.append(firsts[1:] - 1, a.size - 1)
            busy[s] = float((b[lasts] - a[firsts]).sum())
        return busy


def sync_processes(run: ParameterServerRun) -> None:
    """Bulk-synchronous steps: per-worker compute processes and one server process.

    All workers start a step together; the server waits for the first ``W-b`` gradients (the
    barrier), those workers push at once, then every worker pulls. The ``b`` workers still
    computing at the barrier abandon their step and their gradients are dropped.
    """
    sim = run.cluster.sim
    env = sim.env
    params = run.params
    w_count = run.n_workers
    need = w_count - params.backup_workers
    slow = np.array([run.cluster.devices[w].slowdown for w in run.layout.workers])
    durations = run.base * run.factors * slow  # effective compute seconds (iterations, workers)
    order = np.argsort(durations, axis=1, kind="stable")
    accepted = np.sort(order[:, :need], axis=1)
    barrier_after = np.take_along_axis(durations, order[:, need - 1 : need], axis=1)[:, 0]
    is_accepted = np.zeros(durations.shape, dtype=bool)
    np.put_along_axis(is_accepted, accepted, True, axis=1)
    barriers = [env.event() for _ in range(params.iterations)]
    params_ready = [env.event() for _ in range(params.iterations)]
    arrived = np.zeros(params.iterations, dtype=np.int64)
    compute_end = np.zeros(durations.shape)

    def worker(w: int) -> Generator[Any, Any, None]:
        for k in range(params.iterations):
            if is_accepted[k, w]:
                end = yield from run.compute(w, run.base[w] * run.factors[k, w])
                compute_end[k, w] = end
                arrived[k] += 1
                if arrived[k] == need:
                    barriers[k].succeed(end)
            else:  # a late worker: abandons its step at the barrier, gradient dropped
                fraction = barrier_after[k] / durations[k, w] if durations[k, w] > 0 else 1.0
                yield from run.compute(w, barrier_after[k] / slow[w], fraction)
                run.dropped += 1
            yield params_ready[k]

    def server() -> Generator[Any, Any, None]:
        for k in range(params.iterations):
            barrier = yield barriers[k]
            ok = accepted[k]
            waits = barrier - compute_end[k, ok]
            run.idle_total += float(waits.sum())
            np.add.at(run.idle_per_worker, ok, waits)
            if run.check is not None:
                grads = run.check.gradients(len(ok))
            yield from run.transfer("push", tuple(ok.tolist()), f"push {k}")
            if run.check is not None:
                run.check.step(grads)
            yield from run.transfer("pull", tuple(range(w_count)), f"pull {k}")
            run.comm_total += (env.now - barrier) * w_count
            params_ready[k].succeed()

    for w in range(w_count):
        sim.process(worker(w), name=f"ps worker {run.layout.workers[w]}")
    sim.process(server(), name="ps server (sync barrier)")


def async_processes(run: ParameterServerRun) -> None:
    """Asynchronous (and stale-synchronous) workers, each looping compute, push, pull.

    The server applies a gradient when its push has fully arrived; a gradient's staleness is
    the number of updates applied between the worker's pull and that arrival. With ``ssp`` a
    worker may start iteration ``c`` only when the slowest has finished ``c - staleness - 1``.
    """
    sim = run.cluster.sim
    env = sim.env
    params = run.params
    w_count = run.n_workers
    bound = params.staleness if params.mode == "ssp" else None
    clock = np.zeros(w_count, dtype=np.int64)
    state = {"version": 0, "advanced": env.event()}
    read_version = np.zeros(w_count, dtype=np.int64)

    def worker(w: int) -> Generator[Any, Any, None]:
        for k in range(params.iterations):
            run.clock_gap_max = max(run.clock_gap_max, int(k - clock.min()))
            yield from run.compute(w, run.base[w] * run.factors[k, w])
            grad = run.check.gradients(1)[0] if run.check is not None else None
            t0 = env.now
            yield from run.transfer("push", (w,), f"push {k}")
            run.staleness.append(state["version"] - int(read_version[w]))
            state["version"] += 1
            if grad is not None and run.check is not None:
                run.check.push(grad)
            clock[w] = k + 1
            advanced, state["advanced"] = state["advanced"], env.event()
            advanced.succeed()
            t1 = env.now
            if bound is not None and k + 1 < params.iterations:
                while k + 1 - clock.min() > bound:
                    yield state["advanced"]
            waited = env.now - t1
            run.idle_total += waited
            run.idle_per_worker[w] += waited
            yield env.timeout(0)  # let every push that arrived at this instant be applied
            read_version[w] = state["version"]
            yield from run.transfer("pull", (w,), f"pull {k}")
            run.comm_total += env.now - t0 - waited

    for w in range(w_count):
        sim.process(worker(w), name=f"ps worker {run.layout.workers[w]}")
