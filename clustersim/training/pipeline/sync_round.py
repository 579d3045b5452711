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

The model plays until the run has settled: every replicated stage's rounds, and the run's
completions, run at one rate over three windows of whole periods in a row (:class:`_Series`).
A stage's round is its mean over the first of them, so a plan whose rounds alternate two
lengths (issue 16) is priced by their mean, and the run is told how many micro-batches to
complete before it is measured and what its window must be a multiple of (:class:`Timed`,
:func:`~clustersim.training.pipeline.schedules.pipedream_window`): the simulator measures the
regime the model priced. The answers are kept under everything they depend on
(:meth:`RoundPlan.key`): the planner prices a plan once per warm-up it tries.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.training.pipeline.schedules import Op, pipedream

__all__ = ["MEASURED", "SETTLED", "SETTLE_LIMIT", "Links", "RoundPlan", "Timed", "sync_rounds"]

MEASURED = 8
"""The fewest rounds a measured window spans (whole periods of the rounds' pattern)."""
SETTLE_LIMIT = 64
"""Rounds past the fill the model plays at most, waiting for the run to settle (so a run's
length stays bounded where it never does)."""
_PERIODS = 16
"""The longest period, in events, the model looks for (issue 16's study met 13 rounds), or a
stage's rounds per round-robin cycle of the plan when that is more (28-1-3: 28 rounds of the
3-replica stage)."""
SETTLED = 1e-4
"""Relative difference under which three windows of whole periods run at one rate."""
_NEARLY = 1e-2
"""Relative difference under which two spacings of a pattern (still converging) match."""
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
        self.latency: list[list[float]] = latency.tolist()
        """Seconds from each device to each other before a transfer's first byte arrives."""
        self._incidence = incidence
        self._capacity = capacity.tolist()
        self._routes: dict[tuple[int, int], int] = {}
        self._crossings: list[list[tuple[int, int]]] = []
        """Per route number: (link, times crossed) of each link (or medium) it crosses."""
        self._rates: dict[tuple[int, ...], dict[int, float]] = {}
        self.rounds: dict[tuple, Timed] = {}
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
    __slots__ = ("done", "finish", "left", "rate", "route")

    def __init__(self, route: int, left: float, done: Callable) -> None:
        self.route, self.left, self.done = route, left, done
        self.rate = 0.0
        self.finish = _INF


class _Fluid:
    """Flows sharing links max-min fairly, and timers: the model's clock."""

    def __init__(self, links: Links) -> None:
        self.links = links
        self.now = 0.0
        self._latent: list[tuple[float, int, _Flow]] = []
        """Flows waiting out their route's latency, by when they start streaming."""
        self.streaming: list[_Flow] = []
        self._next_finish = _INF
        """The earliest finish of a streaming flow (finishes change only when re-solved)."""
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._channels: dict[tuple[int, int], deque[tuple[float, Callable[[], None]]]] = {}

    def at(self, time: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time, next(self._seq), action))

    def transfer(self, src: int, dst: int, size: float, done: Callable[[], None]) -> None:
        """Start ``size`` bytes from ``src`` to ``dst`` now; ``done`` when they have arrived."""
        activate = self.now + self.links.latency[src][dst]
        flow = _Flow(self.links.route(src, dst), size, done)
        heapq.heappush(self._latent, (activate, next(self._seq), flow))

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
        work per flow. Instants closer than :data:`_EPS` (relative) are one."""
        solve = True
        latent, timers = self._latent, self._timers
        while not finished():
            tol = _EPS * max(self.now, 1e-9)
            if latent and latent[0][0] <= self.now + tol:
                while latent and latent[0][0] <= self.now + tol:
                    self.streaming.append(heapq.heappop(latent)[2])
                solve = True
            if solve:
                self._solve()
                solve = False
            nxt = min(
                timers[0][0] if timers else _INF,
                latent[0][0] if latent else _INF,
                self._next_finish,
            )
            if nxt == _INF:
                return
            self.now = nxt
            tol = _EPS * max(nxt, 1e-9)
            if self._next_finish <= nxt + tol:
                done = [f for f in self.streaming if f.finish <= nxt + tol]
                self.streaming = [f for f in self.streaming if f.finish > nxt + tol]
                self._next_finish = _INF
                solve = True
                for f in done:
                    f.done()
            while timers and timers[0][0] <= nxt + tol:
                heapq.heappop(timers)[2]()

    def _solve(self) -> None:
        """New max-min rates for the streaming flows, and their finishing times."""
        if not self.streaming:
            self._next_finish = _INF
            return
        now = self.now
        by_route = self.links.rates([f.route for f in self.streaming])
        first = _INF
        for f in self.streaming:
            rate = by_route[f.route]
            if rate != f.rate:  # a flow whose rate holds keeps its finishing time
                if f.rate:
                    f.left = f.rate * (f.finish - now)
                f.rate = rate
                f.finish = now + f.left / rate
            if f.finish < first:
                first = f.finish
        self._next_finish = first


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


class _Series:
    """The times of a run of like events (a stage's round starts; every ``L``-th
    completion), and from which one on their rate has settled.

    The recursion of a timed event graph becomes periodic after a transient (Baccelli et
    al. 1992, §3.7, the cyclicity theorem), or approaches a periodic regime geometrically
    (AlexNet's 12 convolution replicas: rounds alternating around 45.34 ms, the gap
    shrinking by a tenth every two rounds). What a run measures is a mean over a window of
    whole periods, so the series is settled once three such windows in a row agree within
    :data:`SETTLED`; their first is the one measured (where the windows' means approach
    the limit geometrically, by a factor ``rho`` from one window to the next, it is within
    ``SETTLED / (1 − rho²)`` of it). A run can also pass through phases that repeat for a
    while and then change (issue 16's study: 14 rounds of one pattern, then 4 % faster
    ones): three windows of at least :data:`MEASURED` events outlast those.
    """

    def __init__(
        self, fill: int, earliest: int, limit: int, least: int = MEASURED, longest: int = 1
    ) -> None:
        self.start: dict[int, float] = {}
        self.fill = fill
        """The first event after the pipeline has filled."""
        self.earliest = earliest
        """The first event a measurement may start at."""
        self.limit = limit
        """The last event the model plays."""
        self.least = least
        """The fewest events a window spans."""
        self.longest = max(longest, _PERIODS)
        """The longest period, in events, looked for."""
        self.settled: tuple[int, int] | None = None
        """(first, period) of the measured window once the rate has settled."""

    def record(self, k: int, now: float) -> None:
        """Event ``k`` happens at ``now`` (events come in order)."""
        self.start[k] = now
        if self.settled is not None or k - 3 * self.least < self.earliest:
            return  # settled, or too few events for three windows
        q = self._period(k)
        length = q * math.ceil(self.least / q)
        first = k - 3 * length
        if first < self.earliest:
            return
        means = [
            self.start[first + (j + 1) * length] - self.start[first + j * length] for j in range(3)
        ]
        if max(means) - min(means) <= SETTLED * min(means):
            self.settled = (first, q)

    def _spacing(self, k: int) -> float:
        return self.start[k + 1] - self.start[k]

    def _period(self, latest: int) -> int:
        """The shortest period under which the spacings up to event ``latest`` repeat
        within :data:`_NEARLY` over the last :attr:`least` events (two alternating round
        lengths: 2), 1 when none does."""
        for q in range(1, self.longest + 1):
            recent = range(latest - self.least - q, latest - q)
            if recent.start < self.fill:
                break
            if all(
                abs(self._spacing(j + q) - self._spacing(j)) <= _NEARLY * self._spacing(j)
                for j in recent
            ):
                return q
        return 1

    @property
    def period(self) -> int:
        """Events after which the pattern of spacings comes back."""
        if self.settled is not None:
            return self.settled[1]
        return self._period(max(self.start))

    @property
    def window(self) -> tuple[int, int]:
        """(first, last) events the series is measured between: whole periods of at least
        :attr:`least` events, the first settled window, or the last the model plays when
        the rate never settles."""
        q = self.period
        length = q * math.ceil(self.least / q)
        if self.settled is None:
            return self.limit - length, self.limit
        return self.settled[0], self.settled[0] + length

    def measured(self) -> bool:
        """Whether the rate has settled."""
        return self.settled is not None

    def capped(self) -> bool:
        """Whether the model has played every event it may."""
        return self.limit in self.start

    def seconds_per_event(self) -> float:
        """The mean spacing over :attr:`window`."""
        first, last = self.window
        return (self.start[last] - self.start[first]) / (last - first)


class _Rounds(_Series):
    """One modelled replicated stage's rounds: who joined, when each started and ended.

    Measured from the fill and three rounds at the earliest, as the schedule's window is
    (:func:`~clustersim.training.pipeline.schedules.pipedream_window`)."""

    def __init__(self, replicas: int, warmup: int, cycle: int) -> None:
        # the plan repeats every round-robin cycle of all its stages: cycle / replicas rounds
        super().__init__(
            warmup + 1, warmup + 4, warmup + 1 + SETTLE_LIMIT, longest=cycle // replicas
        )
        self.replicas = replicas
        self.joined: dict[int, int] = {}
        self.end: dict[int, float] = {-1: 0.0, -2: 0.0}


@dataclass(frozen=True)
class Timed:
    """What :func:`sync_rounds` finds.

    Attributes:
        round_s: per replicated stage, its seconds per round in steady state.
        settled: micro-batches a run completes before its completions have settled, the
            warm-up its measurement needs
            (:func:`~clustersim.training.pipeline.schedules.pipedream_window`).
        repeat: micro-batches after which the pattern of completions and of every
            replicated stage's rounds comes back (a stage of ``r`` replicas whose rounds
            alternate two lengths: ``2r``), so a run measured over a multiple of them sees
            every length as often as the model.
    """

    round_s: dict[int, float]
    settled: int
    repeat: int


def sync_rounds(links: Links, plan: RoundPlan) -> Timed:
    """Every replicated stage's seconds per round in steady state, and when the run settles.

    Every stage runs its op list from the start of the run, as the simulated runtime does,
    until each replicated stage's rounds and the run's completions (at stage 0, every
    ``lcm(replicas)``-th) have settled (:class:`_Series`); each round is the mean over whole
    periods from then on, so a plan whose rounds alternate two lengths (issue 16) is priced
    by their mean.

    Settling can take long. A stage whose synchronisation is a little slower than its
    compute repeats only once the replicas have used up the two rounds they may run ahead (a
    backward waits for round ``k − 2``): about ``2R / (R − R_c)`` rounds, ``R`` its round and
    ``R_c`` its compute's (issue 16's study met 16 rounds at ``R = 1.14 R_c``, where a run
    measured after the fill and three rounds was 12.5 % faster than its steady state). And
    two replicas of a stage fed over links of different speeds can drift apart for dozens of
    micro-batches while each keeps the steady rate (a window from one's completion to the
    other's was 6.2 % fast there): the completions watched are every ``lcm(replicas)``-th,
    and the run's window starts and ends at those.
    """
    key = plan.key()
    known = links.rounds.get(key)
    if known is None:
        horizon = max(
            r * (w + 1 + SETTLE_LIMIT + 2) for w, r in zip(plan.warmup, plan.replicas, strict=True)
        )
        cycle = math.lcm(*plan.replicas)
        fill = max((w + 1) * r for w, r in zip(plan.warmup, plan.replicas, strict=True))
        # every cycle-th completion, in windows as long as the rounds' (in micro-batches)
        least = -(-MEASURED * max(plan.replicas) // cycle)
        filled = -(-fill // cycle)  # the first completion event after the fill
        done = _Series(filled, filled, horizon // cycle, least)
        rounds = _play(links, plan, horizon + _trailing(plan), done, cycle)
        round_s = {e: book.seconds_per_event() for e, book in rounds.items()}
        repeat = math.lcm(
            done.period * cycle, *(book.period * book.replicas for book in rounds.values())
        )
        known = links.rounds[key] = Timed(round_s, done.window[0] * cycle, repeat)
    return known


def _trailing(plan: RoundPlan) -> int:
    """Micro-batches past the last one the model needs, so every op list runs that far."""
    return max((w + 2) * r for w, r in zip(plan.warmup, plan.replicas, strict=True))


def _play(
    links: Links, plan: RoundPlan, total: int, done: _Series, cycle: int
) -> dict[int, _Rounds]:
    """Run ``total`` micro-batches' op lists on the fluid until every replicated stage's
    rounds and ``done`` have settled, or all have played every event they may; ``cycle`` is
    the plan's round-robin cycle, and event ``k`` of ``done`` the completion of micro-batch
    ``k·cycle − 1``."""
    fluid = _Fluid(links)
    p = len(plan.replicas)
    stages = range(p)
    rounds = {e: _Rounds(plan.replicas[e], plan.warmup[e], cycle) for e in stages if plan.steps[e]}
    series = [*rounds.values(), done]
    over = [False]

    def record(book: _Series, k: int) -> None:
        book.record(k, fluid.now)
        over[0] = all(b.measured() for b in series) or all(b.capped() for b in series)

    ops = pipedream(plan.replicas, total, plan.warmup)
    arrived: set[tuple[str, int, int]] = set()  # (kind, stage, micro-batch) at its stage
    waiters: dict[tuple, list[Callable[[], None]]] = {}
    position = {(e, q): 0 for e in stages for q in range(plan.replicas[e])}
    done_b = dict.fromkeys(position, 0)

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
            record(book, k)
            run_steps(e, 0, k)

    def end_round(e: int, k: int) -> None:
        rounds[e].end[k] = fluid.now
        wake(("round", e, k))
        maybe_start(e, k + 1)

    # -------------------------------------------------------------------- the op lists
    def advance(e: int, q: int) -> None:
        """Start replica ``q`` of stage ``e`` on its next op once its inputs are there."""
        i = position[(e, q)]
        if i == len(ops[e][q]) or over[0]:
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
            elif (m + 1) % cycle == 0 and (m + 1) // cycle <= done.limit:
                record(done, (m + 1) // cycle)
            if e in rounds:
                k = done_b[(e, q)]
                rounds[e].joined[k] = rounds[e].joined.get(k, 0) + 1
                maybe_start(e, k)
            done_b[(e, q)] += 1
        position[(e, q)] += 1
        advance(e, q)

    for e, q in position:
        advance(e, q)
    fluid.run(lambda: over[0])
    if not over[0]:  # nothing left to happen: a dependency the model cannot meet
        raise RuntimeError(f"the round model stalled at {fluid.now} s")
    return rounds
