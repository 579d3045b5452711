"""A timed model of a replicated PipeDream stage's weight-synchronisation rounds.

PipeDream's runtime synchronises the replicas of a stage with PyTorch's
DistributedDataParallel (``runtime/runtime.py`` of msr-fiddle/pipedream), so the replicas move
in lock step: when the synchronisation paces the stage, every replica waits for the same
round, resumes at its end, runs one backward and one forward, and sends its gradient upstream
and its activation downstream at the same moment (a *burst*); the neighbour stages answer one
micro-batch at a time (a *stream*). The all-reduce's steps end at their slowest flow, so a
transfer that shares one of its links slows the whole step, and a burst in one direction of
a ring step leaves the other direction idle. Neither a sum of link loads nor a closed form of
the phases prices that (the brute-force study of issue 16: a 2-replica middle stage's rounds
of 8.0 ms where link loads give 6; a replicated last stage's 16.7 ms where they give 11.7).

This module times the rounds instead, as the runtime's rules make them, on a max-min fair
fluid model of the placement's links (Bertsekas and Gallager, *Data Networks*, 2nd ed.,
§6.5.2; the same sharing as :class:`~clustersim.hardware.network.FlowNetwork`, each transfer
first waiting its route's latency): a max-plus recursion of the schedule's dependencies
(Baccelli et al., *Synchronization and Linearity*, 1992, ch. 2-3: a timed event graph) whose
transfer times come from the fluid.

* Every stage runs PipeDream's 1F1B op lists from the start of the run, as the simulated
  runtime does (:func:`~clustersim.training.pipeline.schedules.pipedream`, with the plan's
  warm-up): a forward waits for its activation, a backward for its gradient and, on a
  replicated stage, for round ``k − 2`` (one round of staleness). A backward ends by sending
  its gradient upstream and joining round ``k``, a forward by sending its activation
  downstream. Round ``k``'s all-reduce starts when every replica has joined it and round
  ``k − 1`` has ended, and runs the algorithm's own steps
  (:meth:`~clustersim.training.pipeline.steady_state.PlacementCosts.sync_steps`), each ending
  with its slowest flow.
* Transfers between two devices queue one at a time, as the runtime's point-to-point channels
  do.
* What it leaves out: the numerics, the traces and the metrics of a run, and the engine (a
  list of flows whose rates are re-solved when one starts or ends, the rates of each mix of
  routes kept, against the simulator's incremental component groups and bulks).

A stage's round is its mean over :data:`MEASURED` rounds after the run's warm-up window
(:func:`~clustersim.training.pipeline.schedules.pipedream_window`: the fill and three rounds),
so a plan whose rounds alternate two lengths (issue 16) is priced by their mean, and a plan
whose rounds have not settled by then by the rounds the run measures. The answers are kept
under everything they depend on (:meth:`RoundPlan.key`): the planner prices a plan once per
warm-up it tries.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.training.pipeline.schedules import Op, pipedream

__all__ = ["MEASURED", "Links", "RoundPlan", "sync_rounds"]

MEASURED = 8
"""Rounds the model averages, after the run's warm-up."""
_INF = float("inf")
_FAST = 1e300
"""The rate of a flow that crosses no link (between two ranks on one device)."""
_RATE_MIXES = 100_000
"""Mixes of routes whose rates a placement keeps (then it starts again)."""
_TIE = 1e-12
"""Relative difference under which two links' fair shares tie (as in the network's solver)."""
_EPS = 1e-12
"""Relative time under which two instants of the fluid are the same."""


class Links:
    """What the fluid needs of a placement: each device pair's route and latency."""

    def __init__(self, incidence: np.ndarray, latency: np.ndarray, capacity: np.ndarray) -> None:
        self.n = latency.shape[0]
        self.latency = latency
        self._incidence = incidence
        self._capacity = capacity.tolist()
        self._routes: dict[tuple[int, int], int] = {}
        self._crossings: list[list[tuple[int, int]]] = []
        """Per route number: (link, times crossed) of each link (or medium) it crosses."""
        self._rates: dict[tuple[int, ...], dict[int, float]] = {}
        self.rounds: dict[tuple, dict[int, float]] = {}
        """:func:`sync_rounds`' answers, by what they depend on."""

    def route(self, src: int, dst: int) -> int:
        """The number of the route from ``src`` to ``dst``."""
        key = (src, dst)
        found = self._routes.get(key)
        if found is None:
            row = self._incidence[src * self.n + dst]
            found = self._routes[key] = len(self._crossings)
            self._crossings.append([(int(i), int(row[i])) for i in np.flatnonzero(row)])
        return found

    def rates(self, routes: Sequence[int]) -> dict[int, float]:
        """Max-min fair rate of a flow on each route when one flow streams per entry of
        ``routes`` (flows on one route get one rate; a route on no link: 1e300 bytes/s).

        Bottleneck filling as :func:`~clustersim.hardware.maxmin.max_min_rates` does it,
        over routes weighted by their flows (a handful of routes, not dozens of flows). The
        answer depends only on how many flows take each route, so it is kept: the rounds of
        a periodic schedule meet the same few mixes again and again."""
        key = tuple(sorted(routes))
        found = self._rates.get(key)
        if found is not None:
            return found
        if len(self._rates) >= _RATE_MIXES:
            self._rates.clear()
        counts = dict.fromkeys(key, 0)
        for route in key:
            counts[route] += 1
        left: dict[int, float] = {}
        users: dict[int, int] = {}
        found = {}
        for route, count in counts.items():
            if not self._crossings[route]:
                found[route] = _FAST
            for link, times in self._crossings[route]:
                users[link] = users.get(link, 0) + count * times
                left.setdefault(link, self._capacity[link])
        live = {route for route in counts if self._crossings[route]}
        while live:
            share = min(left[link] / n for link, n in users.items() if n > 0)
            limit = share * (1.0 + _TIE)
            full = {link for link, n in users.items() if n > 0 and left[link] / n <= limit}
            for route in [r for r in live if any(x in full for x, _ in self._crossings[r])]:
                found[route] = share
                live.discard(route)
                for link, times in self._crossings[route]:
                    left[link] = max(left[link] - share * counts[route] * times, 0.0)
                    users[link] -= counts[route] * times
        self._rates[key] = found
        return found


class _Flow:
    __slots__ = ("activate", "done", "finish", "left", "rate", "route")

    def __init__(self, route: int, left: float, activate: float, done: Callable) -> None:
        self.route, self.left, self.activate, self.done = route, left, activate, done
        self.rate = 0.0
        self.finish = _INF


class _Fluid:
    """Flows sharing links max-min fairly, and timers: the model's clock."""

    def __init__(self, links: Links) -> None:
        self.links = links
        self.now = 0.0
        self.latent: list[_Flow] = []
        """Flows waiting out their route's latency."""
        self.streaming: list[_Flow] = []
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._channels: dict[tuple[int, int], deque[tuple[float, Callable[[], None]]]] = {}

    def at(self, time: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time, next(self._seq), action))

    def transfer(self, src: int, dst: int, size: float, done: Callable[[], None]) -> None:
        """Start ``size`` bytes from ``src`` to ``dst`` now; ``done`` when they have arrived."""
        activate = self.now + float(self.links.latency[src, dst])
        self.latent.append(_Flow(self.links.route(src, dst), size, activate, done))

    def send(self, src: int, dst: int, size: float, done: Callable[[], None]) -> None:
        """A point-to-point send: after the pair's earlier sends, one at a time."""
        queue = self._channels.setdefault((src, dst), deque())
        queue.append((size, done))
        if len(queue) == 1:
            self._next_on_channel(src, dst)

    def _next_on_channel(self, src: int, dst: int) -> None:
        queue = self._channels[(src, dst)]
        size, done = queue[0]

        def arrived() -> None:
            queue.popleft()
            if queue:
                self._next_on_channel(src, dst)
            done()

        self.transfer(src, dst, size, arrived)

    def run(self, finished: Callable[[], bool]) -> None:
        """Advance until ``finished()``, or until nothing is left to happen.

        Rates are re-solved only when a flow starts streaming or ends; in between every
        flow keeps its rate and its finishing time, and a timer (a compute's end) costs no
        work per flow."""
        solve = True
        while not finished():
            if self.latent and min(f.activate for f in self.latent) <= self.now:
                self.streaming += [f for f in self.latent if f.activate <= self.now]
                self.latent = [f for f in self.latent if f.activate > self.now]
                solve = True
            if solve:
                self._solve()
                solve = False
            nxt = self._timers[0][0] if self._timers else _INF
            if self.latent:
                nxt = min(nxt, min(f.activate for f in self.latent))
            if self.streaming:
                nxt = min(nxt, min(f.finish for f in self.streaming))
            if nxt == _INF:
                return
            self.now = nxt
            tol = _EPS * max(nxt, 1e-9)
            for f in self.latent:
                if f.activate <= nxt + tol:
                    f.activate = nxt
            done = [f for f in self.streaming if f.finish <= nxt + tol]
            if done:
                self.streaming = [f for f in self.streaming if f.finish > nxt + tol]
                solve = True
                for f in done:
                    f.done()
            while self._timers and self._timers[0][0] <= nxt + tol:
                heapq.heappop(self._timers)[2]()

    def _solve(self) -> None:
        """New max-min rates for the streaming flows, and their finishing times."""
        if not self.streaming:
            return
        now = self.now
        by_route = self.links.rates([f.route for f in self.streaming])
        for f in self.streaming:
            if f.rate:
                f.left = f.rate * (f.finish - now)
            f.rate = by_route[f.route]
            f.finish = now + f.left / f.rate


@dataclass(frozen=True)
class RoundPlan:
    """The plan whose rounds are timed.

    Attributes:
        starts: per stage, its first device in placement order (and one past the last).
        replicas: replicas per stage.
        forward, backward: per stage, one micro-batch's forward and backward (with recompute)
            on one replica, in seconds.
        out_bytes: per stage, bytes of the activation it sends the next.
        warmup: warm-up forwards per replica of each stage.
        weights: per stage, bytes of its weights.
        steps: per stage, its all-reduce's steps as (src, dst, bytes) device arrays (empty
            for an unreplicated stage).
    """

    starts: Sequence[int]
    replicas: Sequence[int]
    forward: Sequence[float]
    backward: Sequence[float]
    out_bytes: Sequence[float]
    warmup: Sequence[int]
    weights: Sequence[float]
    steps: Sequence[Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]]

    def key(self) -> tuple:
        """Everything the rounds depend on (the key :func:`sync_rounds` keeps them under)."""
        return (
            tuple(int(x) for x in self.starts),
            tuple(self.replicas),
            tuple(self.forward),
            tuple(self.backward),
            tuple(self.out_bytes),
            tuple(self.warmup),
            tuple(self.weights),
        )


class _Rounds:
    """One modelled replicated stage's rounds: who joined, when each started and ended."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.joined: dict[int, int] = {}
        self.start: dict[int, float] = {}
        self.end: dict[int, float] = {-1: 0.0, -2: 0.0}


def sync_rounds(links: Links, plan: RoundPlan) -> dict[int, float]:
    """Seconds per round of every replicated stage's synchronisation in steady state.

    Every stage runs its op list from the start of the run, as the simulated runtime does.
    Each replicated stage's round is its mean over :data:`MEASURED` rounds after the run's
    warm-up window (:func:`~clustersim.training.pipeline.schedules.pipedream_window`: the
    fill and three rounds).
    """
    key = plan.key()
    known = links.rounds.get(key)
    if known is None:
        known = links.rounds[key] = _sync_rounds(links, plan)
    return known


def _sync_rounds(links: Links, plan: RoundPlan) -> dict[int, float]:
    fluid = _Fluid(links)
    p = len(plan.replicas)
    stages = range(p)
    rounds = {e: _Rounds(plan.replicas[e]) for e in stages if plan.steps[e]}
    first = {e: plan.warmup[e] + 1 + 3 for e in rounds}
    last = {e: first[e] + MEASURED for e in rounds}
    total = max(plan.replicas[e] * (last[e] + 2) for e in rounds) + max(
        (plan.warmup[e] + 2) * plan.replicas[e] for e in stages
    )
    ops = pipedream(plan.replicas, total, plan.warmup)
    arrived: set[tuple[str, int, int]] = set()  # (kind, stage, micro-batch) at its stage
    waiters: dict[tuple, list[Callable[[], None]]] = {}
    position = {(e, q): 0 for e in stages for q in range(plan.replicas[e])}
    done_b = dict.fromkeys(position, 0)

    def measured() -> bool:
        return all(last[e] in book.start for e, book in rounds.items())

    def device(stage: int, m: int) -> int:
        return plan.starts[stage] + m % plan.replicas[stage]

    def wake(key: tuple) -> None:
        for waiter in waiters.pop(key, ()):
            waiter()

    def when(key: tuple, ready: bool, then: Callable[[], None]) -> None:
        if ready:
            then()
        else:
            waiters.setdefault(key, []).append(then)

    def deliver(kind: str, stage: int, m: int) -> None:
        arrived.add((kind, stage, m))
        wake((kind, stage, m))

    # ---------------------------------------------------------------- the all-reduces
    def run_steps(e: int, i: int, k: int) -> None:
        steps = plan.steps[e]
        if i == len(steps):
            end_round(e, k)
            return
        src, dst, sizes = steps[i]
        left = [src.size]

        def one_done() -> None:
            left[0] -= 1
            if left[0] == 0:
                run_steps(e, i + 1, k)

        for a, b, size in zip(src, dst, sizes, strict=True):
            fluid.transfer(int(a), int(b), float(size), one_done)

    def maybe_start(e: int, k: int) -> None:
        book = rounds[e]
        if book.joined.get(k, 0) == book.replicas and k - 1 in book.end and k not in book.start:
            book.start[k] = fluid.now
            run_steps(e, 0, k)

    def end_round(e: int, k: int) -> None:
        rounds[e].end[k] = fluid.now
        wake(("round", e, k))
        maybe_start(e, k + 1)

    # -------------------------------------------------------------------- the op lists
    def advance(e: int, q: int) -> None:
        """Start replica ``q`` of stage ``e`` on its next op once its inputs are there."""
        i = position[(e, q)]
        if i == len(ops[e][q]) or measured():
            return
        op = ops[e][q][i]
        m = op.microbatch
        if op.kind == "F":
            key = ("act", e, m)
            when(key, e == 0 or key in arrived, lambda: compute(e, q, op))
            return
        k = done_b[(e, q)]

        def after_input() -> None:
            book = rounds.get(e)
            key = ("round", e, k - 2)
            when(key, book is None or k - 2 in book.end, lambda: compute(e, q, op))

        key = ("grad", e, m)
        when(key, e == p - 1 or key in arrived, after_input)

    def compute(e: int, q: int, op: Op) -> None:
        seconds = plan.forward[e] if op.kind == "F" else plan.backward[e]
        fluid.at(fluid.now + seconds, lambda: finished(e, q, op))

    def finished(e: int, q: int, op: Op) -> None:
        m = op.microbatch
        src = plan.starts[e] + q
        if op.kind == "F" and e < p - 1:
            size = plan.out_bytes[e]
            fluid.send(src, device(e + 1, m), size, lambda: deliver("act", e + 1, m))
        if op.kind == "B":
            if e > 0:
                size = plan.out_bytes[e - 1]
                fluid.send(src, device(e - 1, m), size, lambda: deliver("grad", e - 1, m))
            if e in rounds:
                k = done_b[(e, q)]
                rounds[e].joined[k] = rounds[e].joined.get(k, 0) + 1
                maybe_start(e, k)
            done_b[(e, q)] += 1
        position[(e, q)] += 1
        advance(e, q)

    for e, q in position:
        advance(e, q)
    fluid.run(measured)
    if not measured():  # nothing left to happen: a dependency the model cannot meet
        raise RuntimeError(f"the round model stalled at {fluid.now} s")
    return {
        e: (book.start[last[e]] - book.start[first[e]]) / MEASURED for e, book in rounds.items()
    }
