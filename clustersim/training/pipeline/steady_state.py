"""The steady state of an asynchronous (PipeDream) pipeline plan on a cluster: its cost model.

PipeDream's runtime overlaps communication with computation: a stage sends the activations of
one micro-batch while it computes the next (Narayanan et al., "PipeDream: Generalized Pipeline
Parallelism for DNN Training", SOSP 2019, §3.2 and Fig. 4; the lecture notes: "achieve
temporal overlap of computation and activation / gradient communication"). The simulated
runtime does the same (:mod:`~clustersim.training.pipeline.process`: sends never block compute,
and every replica keeps enough micro-batches in flight, :func:`warmups`), so the time between
micro-batch completions is set by the busiest *resource*, not by a sum along the pipeline.
PipeDream's optimizer (§3.1) prices two kinds of resource: a stage of ``m`` replicas takes
``max(compute, W^m) / m`` per micro-batch, and a boundary ``C_i`` on its own. On a real cluster
the resources are the devices and the link directions, and a link direction is shared by
everything routed over it, so this model prices, per micro-batch (``r_d`` replicas of stage
``d``, micro-batch ``j`` on replica ``j mod r_d``):

* **compute** of stage ``d``: ``c_d / r_d``, ``c_d`` its forward + backward (+ recompute) of
  one micro-batch on one device (PipeDream's ``Σ T_l / m``);
* **sync** of stage ``d``: its replicas' all-reduce of the stage's weights, once per round (one
  backward on every replica), ``W_d / r_d`` (PipeDream's ``W^m / m``), with ``W_d`` the
  algorithm's own contention-free time over the stage's devices: a lower bound of the next;
* **links**: every link direction's bytes per micro-batch over its capacity, summing the
  activations going forward, the gradients going back (a middle stage's uplink carries both)
  and the all-reduce traffic of every stage's rounds (from the all-reduce's own schedule);
  shared media count their airtime;
* **the in-flight window**: a micro-batch's round trip from a stage down the pipeline and back
  spans as many micro-batches as the stage keeps in flight (:func:`warmups` chooses enough,
  except for transfers under 1 % of the compute; :func:`cycle_period`), left to the rounds
  below when a stage is replicated;
* **channels**: a sender and a receiver exchange one message at a time, so the pair of
  replicas that carries ``1/L`` of a boundary's micro-batches (``L = lcm(r_d, r_{d+1})``) must
  finish one transfer every ``L`` periods: ``latency + a/B`` plus the all-reduce bytes (at
  most ``a`` per flow) the busiest link of its route carries in those ``L`` periods: an
  all-reduce step is a burst that the transfer waits through;
* **the rounds** of every replicated stage, timed
  (:func:`~clustersim.training.pipeline.sync_round.sync_rounds`): PipeDream's replicas
  synchronise through PyTorch's DistributedDataParallel, so when the synchronisation paces a
  stage its replicas resume together and send in bursts, the neighbours answer in streams,
  and every step of the all-reduce ends with its slowest flow. No sum of link loads prices
  that (issue 16's brute-force study: a 2-replica middle stage's rounds of 8.0 ms where the
  loads and a stretch ``1 + ρ`` gave 6 ms; AlexNet's forced 15-1 on Cluster-A, 12 activations
  on one inbound NIC, 71.8 ms where phases of a fluid gave 72.8 ms), so the plan's op lists
  are played on a max-min fair fluid of the placement's links: a max-plus recursion
  (Baccelli et al., *Synchronization and Linearity*, 1992, ch. 2-3) whose transfer times come
  from the fluid. For a plan with a replicated stage this is a second, smaller engine running
  the runtime's rules, not a closed form: a round over ``r`` is the term, and it already waits
  out the in-flight windows. The model plays until the run has settled and tells the run
  where that is (:attr:`SteadyState.settled`, :attr:`SteadyState.repeat`), so the simulation
  is measured in the regime that was priced. The rounds depend on the warm-up and the warm-up
  on the period, so the two are iterated until a warm-up comes back, and the fastest pair met
  is kept (of ones within the model's resolution,
  :data:`~clustersim.training.pipeline.sync_round.SETTLED`, the one with fewest micro-batches
  in flight).

The period is the largest of these terms; throughput is ``b / period`` samples per second. The
terms are upper bounds of what overlap can hide, so the simulation of a plan agrees with its
period when enough micro-batches are in flight; :func:`warmups` sizes that window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.collectives.algorithms import plan_collective
from clustersim.collectives.allreduce import AllreduceCost, allreduce_algorithm
from clustersim.hardware.cluster import Cluster
from clustersim.training.pipeline.schedules import pipedream_warmup
from clustersim.training.pipeline.sync_round import SETTLED, Links, RoundPlan, sync_rounds

__all__ = [
    "WARMUP_SLACK",
    "PlacementCosts",
    "SteadyState",
    "boundary_pairs",
    "cycle_period",
    "steady_state",
    "warmups",
]

_TIE = 1e-9
"""Relative difference under which two terms of the period tie (the earlier one is named)."""
_UNIT = 2**20
"""Bytes of the buffer the all-reduce schedules are traced with (traffic scales linearly)."""


class PlacementCosts:
    """Routes, link capacities and all-reduce costs between the devices of a placement.

    Args:
        cluster: the cluster (routes, latencies, capacities, shared media).
        devices: the devices in placement order; stages occupy consecutive ones.
        algorithm: the all-reduce that synchronises a replicated stage.
    """

    def __init__(self, cluster: Cluster, devices: Sequence[str], algorithm: str) -> None:
        self.cluster = cluster
        self.devices = list(devices)
        self.algorithm = algorithm
        n = len(self.devices)
        net = cluster.network
        self.capacity = np.concatenate([net.capacity, net.medium_capacity])
        """Capacity of each directed link, then of each shared medium, bytes/s."""
        self.link_names = [net.link_name(i) for i in range(self.capacity.size)]
        nodes = cluster.rank_indices(self.devices)
        pattern = net.pattern(np.repeat(nodes, n), np.tile(nodes, n))
        incidence = np.zeros((n * n, self.capacity.size))
        np.add.at(incidence, (pattern.entry_flow, pattern.entry_link), 1.0)
        self.incidence = incidence
        """``incidence[x·n + y, l]``: times the route from device x to device y crosses l."""
        self.latency = pattern.latency.reshape(n, n)
        self.bandwidth = pattern.bottleneck.reshape(n, n)
        self._allreduce = AllreduceCost(cluster, self.devices, algorithm)
        self._pairs: dict[tuple[int, int], np.ndarray] = {}
        self._steps: dict[tuple[int, int, float], list[tuple[np.ndarray, ...]]] = {}
        self.links = Links(incidence, self.latency, self.capacity)
        """Routes and latencies for :func:`~clustersim.training.pipeline.sync_round.sync_rounds`."""

    @property
    def n(self) -> int:
        """Devices of the placement."""
        return len(self.devices)

    def sync_time(self, start: int, stop: int, size: float) -> float:
        """All-reduce of ``size`` bytes over devices ``start .. stop-1`` alone (0 for one)."""
        return self._allreduce.time(start, stop, size)

    def sync_pairs(self, start: int, stop: int) -> np.ndarray:
        """(n, n): bytes device x sends device y in one all-reduce over ``start .. stop-1``,
        per byte of buffer, from the algorithm's own schedule."""
        key = (start, stop)
        cached = self._pairs.get(key)
        if cached is not None:
            return cached
        out = np.zeros((self.n, self.n))
        for src, dst, sizes in self.sync_steps(start, stop, _UNIT):
            np.add.at(out, (src, dst), sizes / _UNIT)
        self._pairs[key] = out
        return out

    def sync_steps(self, start: int, stop: int, size: float) -> list[tuple[np.ndarray, ...]]:
        """The all-reduce of ``size`` bytes over devices ``start .. stop-1``, step by step:
        each step's (sender, receiver, bytes) arrays in placement indices, as the simulated
        collective runs them (each step ends with its slowest flow)."""
        key = (start, stop, size)
        cached = self._steps.get(key)
        if cached is not None:
            return cached
        out: list[tuple[np.ndarray, ...]] = []
        if stop - start > 1 and size > 0:
            algorithm = allreduce_algorithm(self.algorithm)
            ranks = self.devices[start:stop]
            plan, _ = plan_collective(self.cluster, ranks, algorithm, max(round(size), 1), 1)
            for step in algorithm.schedule(plan):
                sizes = np.broadcast_to(np.asarray(step.sizes, dtype=float), step.src.shape)
                out.append((step.src + start, step.dst + start, sizes))
        self._steps[key] = out
        return out

    def link_seconds(self, pair_bytes: np.ndarray) -> np.ndarray:
        """Seconds each link (and medium) is busy carrying ``pair_bytes[x, y]`` from x to y."""
        return (pair_bytes.reshape(-1) @ self.incidence) / self.capacity


def boundary_pairs(n: int, first: int, r0: int, second: int, r1: int) -> np.ndarray:
    """(n, n): the share of a boundary's micro-batches each (sender, receiver) pair carries.

    Micro-batch ``j`` goes from replica ``j mod r0`` of one stage (devices ``first ..``) to
    replica ``j mod r1`` of the next (devices ``second ..``): over ``L = lcm(r0, r1)``
    micro-batches each pair ``(i, k)`` with ``i ≡ k (mod gcd)`` carries exactly one.
    """
    g = math.gcd(r0, r1)
    share = g / (r0 * r1)
    out = np.zeros((n, n))
    i = np.arange(r0)[:, None]
    k = np.arange(r1)[None, :]
    mask = (i - k) % g == 0
    out[first : first + r0, second : second + r1] = np.where(mask, share, 0.0)
    return out


WARMUP_SLACK = 0.01
"""Transfers shorter than this share of a round trip's compute are not overlapped: that would
cost one more stash per boundary for less than this share of the period."""


def _spans(
    compute: Sequence[float], transfers: Sequence[tuple[float, float]], s: int
) -> list[tuple[float, float]]:
    """For each ``t > s``: the compute and the transfers of one micro-batch from stage ``s``
    down to stage ``t`` and back."""
    out, work, moved = [], compute[s], 0.0
    for t in range(s + 1, len(compute)):
        work += compute[t]
        moved += transfers[t - 1][0] + transfers[t - 1][1]
        out.append((work, moved))
    return out


def warmups(
    replicas: Sequence[int],
    compute: Sequence[float],
    transfers: Sequence[tuple[float, float]],
    period: float,
    slack: float = WARMUP_SLACK,
) -> list[int]:
    """Warm-up forwards per replica of each stage, enough to overlap every transfer.

    A replica of stage ``s`` runs 1F1B: its ``k``-th backward is followed by the forward of its
    ``(k + w_s + 1)``-th micro-batch. Following one micro-batch down to stage ``t`` and back is
    a cycle of the schedule's dependencies that spans ``(w_s + 1)·r_s − w_t·r_t`` micro-batches
    and takes ``Σ_{u=s..t} c_u`` of compute plus every transfer on the way (``transfers[u]``:
    forward and backward across boundary ``u``), so the pipeline sustains ``period`` only if
    ``(w_s + 1)·r_s ≥ w_t·r_t + (Σ c_u + Σ x_u) / period`` for every ``t > s``. The smallest
    such ``w_s``, leaving out transfers under ``slack`` of the cycle's compute (never below
    PipeDream's NOAM,
    :func:`~clustersim.training.pipeline.schedules.pipedream_warmup`, plus one for a stage fed
    by more replicas than it has) is returned; without communication or replication it is
    NOAM. :func:`cycle_period` is the period the chosen window allows.
    """
    p = len(replicas)
    noam = pipedream_warmup(replicas)
    if not period > 0:
        return noam
    # a stage fed by more replicas than it has receives their bursts out of micro-batch order
    # (a replica in its own machine arrives before the ones behind a NIC) and serves them in
    # order: one more slot in flight lets it take the next micro-batch meanwhile
    floor = [noam[s] + (1 if s > 0 and replicas[s - 1] > replicas[s] else 0) for s in range(p)]
    w = [0] * p
    w[p - 1] = floor[p - 1]
    for s in range(p - 2, -1, -1):
        best = floor[s]
        for t, (work, moved) in enumerate(_spans(compute, transfers, s), start=s + 1):
            span = work if moved <= slack * work else work + moved
            need = (w[t] * replicas[t] + span / period) / replicas[s]
            best = max(best, math.ceil(need * (1 - 1e-12)) - 1)
        w[s] = best
    return w


def cycle_period(
    replicas: Sequence[int],
    compute: Sequence[float],
    transfers: Sequence[tuple[float, float]],
    warmup: Sequence[int],
) -> tuple[float, str]:
    """The longest period a warm-up window allows, and the stages of that cycle: a micro-batch
    from stage ``s`` to ``t`` and back, ``span / ((w_s + 1)·r_s − w_t·r_t)`` (:func:`warmups`)."""
    worst, name = 0.0, ""
    for s in range(len(replicas) - 1):
        for t, (work, moved) in enumerate(_spans(compute, transfers, s), start=s + 1):
            window = (warmup[s] + 1) * replicas[s] - warmup[t] * replicas[t]
            if window > 0 and (work + moved) / window > worst:
                worst, name = (work + moved) / window, f"in-flight window stages {s}-{t}"
    return worst, name


@dataclass(frozen=True)
class SteadyState:
    """The cost model's view of one plan.

    Attributes:
        period_s: predicted seconds between micro-batch completions in steady state.
        bottleneck: the term that sets it (``"compute stage 0"``, ``"link n3nic->net"``...).
        compute_s: per stage, one micro-batch's compute on one replica.
        sync_s: per stage, its all-reduce alone (0 unreplicated).
        link_s: per link (and medium), busy seconds per micro-batch.
        transfers_s: per boundary, (forward, backward) transfer time used to size the warm-up.
        warmup: warm-up forwards per replica of each stage (:func:`warmups`).
        settled: micro-batches a run completes before it settles, the warm-up its
            measurement needs at least
            (:attr:`~clustersim.training.pipeline.sync_round.Timed.settled`; 0 without a
            replicated stage: the schedule's own).
        repeat: micro-batches after which the run repeats
            (:attr:`~clustersim.training.pipeline.sync_round.Timed.repeat`; 1 without a
            replicated stage), which its measured window is a multiple of.
    """

    period_s: float
    bottleneck: str
    compute_s: tuple[float, ...]
    sync_s: tuple[float, ...]
    link_s: np.ndarray
    transfers_s: tuple[tuple[float, float], ...]
    warmup: tuple[int, ...]
    settled: int = 0
    repeat: int = 1


def steady_state(
    costs: PlacementCosts,
    compute: Sequence[float],
    activation: Sequence[float],
    params: Sequence[float],
    counts: Sequence[int],
    replicas: Sequence[int],
    forward: Sequence[float] | None = None,
) -> SteadyState:
    """The period of ``counts`` layers per stage on ``replicas`` consecutive devices each.

    Args:
        costs: the placement's routes and all-reduce costs.
        compute: per layer, forward + backward (+ recompute) seconds of one micro-batch.
        activation: per layer, bytes of its output for one micro-batch.
        params: per layer, bytes of its weights.
        counts, replicas: the plan.
        forward: per layer, the forward's share of ``compute`` (it times when a replicated
            stage's activations leave, :mod:`~clustersim.training.pipeline.sync_round`).
            None: a third, the backward of a dense layer costing twice its forward (Kaplan
            et al., "Scaling Laws for Neural Language Models", 2020, §2.1: 2N and 4N FLOPs
            per token).
    """
    n, p = costs.n, len(counts)
    starts = np.concatenate(([0], np.cumsum(replicas))).astype(int)
    edges = np.concatenate(([0], np.cumsum(counts))).astype(int)
    cum_c = np.concatenate(([0.0], np.cumsum(compute)))
    cum_f = cum_c / 3 if forward is None else np.concatenate(([0.0], np.cumsum(forward)))
    cum_w = np.concatenate(([0.0], np.cumsum(params)))
    c = [float(cum_c[edges[d + 1]] - cum_c[edges[d]]) for d in range(p)]
    f = [float(cum_f[edges[d + 1]] - cum_f[edges[d]]) for d in range(p)]
    w_bytes = [float(cum_w[edges[d + 1]] - cum_w[edges[d]]) for d in range(p)]
    sync = [costs.sync_time(int(starts[d]), int(starts[d + 1]), w_bytes[d]) for d in range(p)]
    sync_pairs = np.zeros((n, n))
    for d in range(p):
        if replicas[d] > 1:
            sync_pairs += w_bytes[d] / replicas[d] * costs.sync_pairs(starts[d], starts[d + 1])
    act_pairs = np.zeros((n, n))
    out_bytes = [float(activation[edges[d + 1] - 1]) for d in range(p)]
    shares = []
    for u in range(p - 1):
        share = boundary_pairs(n, starts[u], replicas[u], starts[u + 1], replicas[u + 1])
        shares.append(share)
        act_pairs += out_bytes[u] * (share + share.T)
    act_links = costs.link_seconds(act_pairs)
    links = act_links + costs.link_seconds(sync_pairs)
    terms: list[tuple[float, str]] = [(c[d] / replicas[d], f"compute stage {d}") for d in range(p)]
    if links.size:
        busiest = int(np.argmax(links))
        terms.append((float(links[busiest]), f"link {costs.link_names[busiest]}"))
    for d in range(p):
        if replicas[d] > 1 and sync[d] > 0:
            terms.append((sync[d] / replicas[d], f"sync stage {d}"))
    # all-reduce flows: bytes per micro-batch and the links each crosses
    flat = sync_pairs.reshape(-1)
    flows = np.nonzero(flat > 0)[0]
    flow_bytes = flat[flows]
    flow_links = costs.incidence[flows] > 0
    period_lb = max(t for t, _ in terms)
    transfers = []
    for u in range(p - 1):
        r0, r1 = replicas[u], replicas[u + 1]
        span = r0 * r1 // math.gcd(r0, r1)
        a = out_bytes[u]
        worst_dir = [0.0, 0.0]
        for x, y in zip(*np.nonzero(shares[u]), strict=True):
            for direction, (src, dst) in enumerate(((x, y), (y, x))):
                route = costs.incidence[src * n + dst] > 0
                alone = costs.latency[src, dst] + (a / costs.bandwidth[src, dst] if a else 0.0)
                wait = 0.0
                if flows.size and a > 0:
                    # the all-reduce bytes each link of the route carries in the pair's cycle
                    # (at most one transfer's worth per flow); the busiest link delays it
                    crossing = np.minimum(flow_bytes * span, a) @ flow_links[:, route]
                    wait = float((crossing / costs.capacity[route]).max(initial=0.0))
                terms.append(
                    ((alone + wait) / span, f"channel {costs.devices[src]}->{costs.devices[dst]}")
                )
                # for the warm-up, how long the transfer may take: replicas of a stage send in
                # bursts (their rounds keep them in step), so a burst's transfer waits for
                # everything its links carry in one cycle of the pair; a lone sender's waits
                # like a job sharing each link with its other traffic
                busy = links[route] * span - a / costs.capacity[route]
                if (r0 if direction == 0 else r1) > 1:
                    delay = float(np.maximum(busy, 0.0).sum())
                else:
                    rho = np.clip(busy / (span * period_lb), 0.0, 0.9)
                    delay = float((a / costs.capacity[route] * rho / (1 - rho)).sum())
                worst_dir[direction] = max(worst_dir[direction], alone + delay)
        # the receiving replica serves the burst's micro-batches in order
        worst_dir[0] += (span / r1 - 1) * c[u + 1]
        transfers.append((worst_dir[0], worst_dir[1]))
    base = max(terms, key=lambda t: t[0])
    replicated = [d for d in range(p) if replicas[d] > 1 and sync[d] > 0]
    steps = [
        costs.sync_steps(int(starts[d]), int(starts[d + 1]), w_bytes[d]) if d in replicated else []
        for d in range(p)
    ]
    backward = [c[d] - f[d] for d in range(p)]

    def timed_plan(warmup: Sequence[int]) -> RoundPlan:
        return RoundPlan(starts, replicas, f, backward, out_bytes, warmup, w_bytes, steps)

    def priced(warmup: list[int]) -> tuple[float, str]:
        """The period with this warm-up: the terms above, the in-flight window it leaves,
        and the replicated stages' rounds timed with it (their sends depend on it)."""
        if not replicated:
            window = cycle_period(replicas, c, transfers, warmup)
            return max(base, window, key=lambda t: t[0])
        # the timed run plays every op list, so its rounds wait out every in-flight window
        timed = sync_rounds(costs.links, timed_plan(warmup)).round_s
        rounds = [(timed[d] / replicas[d], f"sync rounds stage {d}") for d in replicated]
        candidates = [base, *rounds]
        top = max(period for period, _ in candidates)
        # a round paced by its stage's compute ties with it: name the compute
        return top, next(name for period, name in candidates if period >= top * (1 - _TIE))

    # the warm-up is sized for the period and the period depends on the warm-up: iterate
    # until a warm-up comes back, and keep the fastest (warm-up, period) pair met on the way
    tried: dict[tuple[int, ...], tuple[float, str]] = {}
    warmup = warmups(replicas, c, transfers, base[0])
    while tuple(warmup) not in tried:
        tried[tuple(warmup)] = priced(warmup)
        warmup = warmups(replicas, c, transfers, tried[tuple(warmup)][0])
    fastest = min(period for period, _ in tried.values())
    # of equally fast warm-ups the one keeping fewest micro-batches in flight (memory); with
    # a replicated stage the timed model cannot rank closer than its resolution
    tie = SETTLED if replicated else _TIE
    best = min((w for w in tried if tried[w][0] <= fastest * (1 + tie)), key=sum)
    warmup = list(best)
    period, bottleneck = tried[best]
    timed = sync_rounds(costs.links, timed_plan(warmup)) if replicated else None
    return SteadyState(
        period_s=float(period),
        bottleneck=bottleneck,
        compute_s=tuple(c),
        sync_s=tuple(sync),
        link_s=links,
        transfers_s=tuple(transfers),
        warmup=tuple(warmup),
        settled=timed.settled if timed is not None else 0,
        repeat=timed.repeat if timed is not None else 1,
    )
