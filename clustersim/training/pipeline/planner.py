"""Partitioning layers into pipeline stages: even, balanced, and PipeDream's planner.

PipeDream's optimizer (Narayanan et al., "PipeDream: Generalized Pipeline Parallelism for DNN
Training", SOSP 2019, §3.1) picks the split of a layer sequence into stages *and* how many
workers replicate each stage, minimising the steady-state time per micro-batch. The paper
solves a dynamic program over ``A(j, m) = min max(A(i, m−m'), 2·C_i, T(i+1→j, m'))`` with
``T = max(Σ T_l, W^m)/m``, which assumes that every stage and every boundary is a separate
resource. On a cluster whose links are shared (a middle stage's uplink carries its activations
*and* its gradients, the GPUs of a server share one NIC, a replicated stage's all-reduce crosses
the same links as the activations) that is not the time the runtime achieves, so this planner
minimises the cost model of :mod:`~clustersim.training.pipeline.steady_state` instead, which
prices every link direction with everything routed over it, and predicts the period the
simulated runtime runs at.

The search is exact for that model: a depth-first branch and bound over the stages, left to
right (layers ``[j, k)`` on the next ``r`` devices in placement order), pruned with a lower
bound that is PipeDream's own decomposition, solved by dynamic programming over the suffix:
the remaining layers on the remaining devices, each stage and boundary priced alone (its
compute, its all-reduce, the link loads of its own flows), which no sharing can make cheaper.
The bound is tight when the plan's bottleneck is one stage or one boundary (VGG-16, ResNet-50 and
AlexNet on 16 GPUs close in a handful of nodes); when several boundaries and all-reduces share
NICs it is loose, and the search stops after :data:`MAX_SEARCH_NODES` nodes with its best plan
(``Plan.exhaustive`` False: GNMT-16 on 16 GPUs). The plan it returns is always priced by the
full model. A plan with one stage is plain data parallelism; its price is the caller's (the
data-parallel kind's synchronous iteration, all-reduce overlapping backward). Devices may be
left unused at the end of the placement, as PipeDream's ``--use_fewer_machines`` allows. Plans
whose stages do not fit their devices' memory with their micro-batches in flight are skipped.
Plans whose periods differ by less than the timed model's resolution (:data:`_TIE`, 1e-4)
tie, and on ties the plan with fewer stages, then the one with more devices, wins.

The configuration is printed in PipeDream's notation: replica counts per stage joined by dashes
("15-1": 15 replicas of the first stage, 1 of the second), ``"straight"`` when every stage has
one worker, and just the worker count ("16") for data parallelism.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.training.pipeline.steady_state import (
    PlacementCosts,
    SteadyState,
    boundary_pairs,
    steady_state,
)
from clustersim.training.pipeline.sync_round import SETTLED

__all__ = [
    "MAX_SEARCH_NODES",
    "Plan",
    "balanced_partition",
    "even_partition",
    "notation",
    "plan_pipedream",
]

_TIE = SETTLED
"""Relative difference under which two plans' periods tie: the resolution of the timed model
of replicated stages (:data:`~clustersim.training.pipeline.sync_round.SETTLED`), closer than
which the model cannot rank two plans."""
_BALANCE_TIE = 1e-12
MAX_SEARCH_NODES = 20_000
"""Nodes the branch and bound may expand before it returns its best plan so far."""
Fits = Callable[[Sequence[int], Sequence[int], Sequence[int]], bool]
"""``fits(counts, replicas, warmup) -> bool``: whether a plan fits in memory."""
_EXACT_BOUNDARY_DEVICES = 32
"""Up to this many devices the suffix bound prices every boundary's own link loads exactly."""


def even_partition(layers: int, stages: int) -> list[int]:
    """Layer counts of ``stages`` consecutive stages as equal as possible (earlier ones larger)."""
    if not 1 <= stages <= layers:
        raise ValueError(f"cannot split {layers} layers into {stages} non-empty stages")
    base, extra = divmod(layers, stages)
    return [base + (1 if i < extra else 0) for i in range(stages)]


def balanced_partition(
    times: Sequence[float], stages: int, replicas: Sequence[int] | None = None
) -> list[int]:
    """Layer counts of ``stages`` consecutive stages minimising the slowest stage's time.

    The classic linear-partition dynamic program, O(stages · layers²); with ``replicas`` a
    stage's time is divided by its replica count. Ties go to the split that puts layers into
    earlier stages.
    """
    n = len(times)
    if not 1 <= stages <= n:
        raise ValueError(f"cannot split {n} layers into {stages} non-empty stages")
    share = [1.0] * stages if replicas is None else [float(r) for r in replicas]
    prefix = np.concatenate(([0.0], np.cumsum(times)))
    best = np.full((stages + 1, n + 1), np.inf)
    cut = np.zeros((stages + 1, n + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(1, stages + 1):
        for j in range(k, n + 1):
            for i in range(j - 1, k - 2, -1):
                cost = max(best[k - 1, i], (prefix[j] - prefix[i]) / share[k - 1])
                known = np.isfinite(best[k, j])
                if cost < best[k, j] - _BALANCE_TIE * abs(best[k, j]) if known else True:
                    best[k, j], cut[k, j] = cost, i
    counts, j = [], n
    for k in range(stages, 0, -1):
        i = int(cut[k, j])
        counts.append(j - i)
        j = i
    return counts[::-1]


@dataclass(frozen=True)
class Plan:
    """A pipeline configuration.

    Attributes:
        counts: layers per stage.
        replicas: workers per stage.
        time_per_microbatch_s: predicted steady-state time between micro-batch completions.
        devices: devices available to the planner.
        exhaustive: the search proved the plan optimal for the cost model (False: it stopped
            at :data:`MAX_SEARCH_NODES` with its best plan so far).
        nodes: search nodes expanded.
        fits: the plan's stages fit in their devices' memory (False: no plan does, and this is
            the fastest of those that do not).
    """

    counts: tuple[int, ...]
    replicas: tuple[int, ...]
    time_per_microbatch_s: float
    devices: int
    exhaustive: bool = True
    nodes: int = 0
    fits: bool = True

    @property
    def notation(self) -> str:
        """PipeDream's notation: ``"15-1"``, ``"straight"`` or ``"16"``."""
        return notation(self.replicas)

    @property
    def used(self) -> int:
        """Devices the plan uses."""
        return sum(self.replicas)


def notation(replicas: Sequence[int]) -> str:
    """``[15, 1]`` -> ``"15-1"``; ``[1, 1, 1, 1]`` -> ``"straight"``; ``[16]`` -> ``"16"``."""
    if len(replicas) > 1 and all(r == 1 for r in replicas):
        return "straight"
    return "-".join(str(r) for r in replicas)


def _tie_key(counts: Sequence[int], replicas: Sequence[int]) -> tuple[int, int]:
    """Fewer stages first, then more devices."""
    return (len(counts), -sum(replicas))


class _Search:
    """The branch and bound of :func:`plan_pipedream` (one instance per call).

    ``alone[i, k, a, r]``: layers ``[i, k)`` on the ``r`` devices from ``a``, priced alone
    (compute, all-reduce, the links of its own all-reduce) per micro-batch; ``edge[f, s, e,
    j]``: the boundary after layer ``j - 1`` from devices ``[f, s)`` to ``[s, e)`` priced alone
    (its links, its busiest channel's latency and bandwidth); ``bound[j, m, rp]``: the cheapest
    placement of layers ``[j, n)`` on devices from ``m`` on after a stage of ``rp`` replicas,
    with every stage and boundary priced alone, a lower bound of the full model.
    """

    def __init__(
        self,
        compute: Sequence[float],
        activation: Sequence[float],
        params: Sequence[float],
        costs: PlacementCosts,
        fits: Fits | None = None,
        forward: Sequence[float] | None = None,
    ) -> None:
        self.costs = costs
        self.compute = np.asarray(compute, dtype=float)
        self.activation = np.asarray(activation, dtype=float)
        self.params = np.asarray(params, dtype=float)
        self.n_layers = n = len(compute)
        self.n_devices = d = costs.n
        self.cum_c = np.concatenate(([0.0], np.cumsum(self.compute)))
        self.cum_w = np.concatenate(([0.0], np.cumsum(self.params)))
        self._sync_unit: dict[tuple[int, int], np.ndarray] = {}
        self._boundary_unit: dict[tuple[int, int, int], np.ndarray] = {}
        self.best = np.inf
        self.best_key: tuple[int, int] = (0, 0)
        self.best_plan: tuple[tuple[int, ...], tuple[int, ...]] | None = None
        self.nodes = 0
        self.exhaustive = True
        self.fits = fits
        self.forward = forward
        """Per layer, the forward's share of ``compute`` (None: a third)."""
        self.fitting = False
        self.unfit_best: tuple[float, tuple[tuple[int, ...], tuple[int, ...]] | None] = (
            np.inf,
            None,
        )
        inf = np.inf
        work = self.cum_c[None, :] - self.cum_c[:, None]  # [i, k]
        weights = self.cum_w[None, :] - self.cum_w[:, None]
        valid = np.triu(np.ones((n + 1, n + 1), dtype=bool), 1)
        self.alone = np.full((n + 1, n + 1, d + 1, d + 1), inf)
        sizes, which = np.unique(np.where(valid, weights, 0.0), return_inverse=True)
        which = which.reshape(weights.shape)
        for a in range(d):
            for r in range(1, d - a + 1):
                value = work / r
                if r > 1:
                    times = np.array([costs.sync_time(a, a + r, float(w)) for w in sizes])
                    sync = times[which]
                    links = weights / r * float(self.sync_unit(a, r).max(initial=0.0))
                    value = np.maximum(value, np.maximum(sync / r, links))
                self.alone[:, :, a, r] = np.where(valid, value, inf)
        self.edge = np.zeros((d + 1, d + 1, d + 1, n + 1))
        exact = d <= _EXACT_BOUNDARY_DEVICES
        for f in range(d):
            for s in range(f + 1, d):
                for e in range(s + 1, d + 1):
                    r0, r1 = s - f, e - s
                    span = r0 * r1 // math.gcd(r0, r1)
                    lat = float(costs.latency[f:s, s:e].max())
                    bw = float(costs.bandwidth[f:s, s:e].min())
                    per_byte = float(self.boundary_unit(f, s, e).max()) if exact else 0.0
                    size = np.concatenate(([0.0], self.activation))  # index j: act[j - 1]
                    own = np.where(size > 0, lat / span + size / (bw * span), 0.0)
                    self.edge[f, s, e] = np.maximum(own, size * per_byte)
        self.bound = np.full((n + 1, d + 1, d + 1), inf)
        self.bound[n] = 0.0
        for j in range(n - 1, 0, -1):
            for m in range(1, d):
                rs = np.arange(1, d - m + 1)
                tail = self.bound[j + 1 :, m + rs, rs]  # [k - j - 1, r]; k == n: nothing left
                inner = np.maximum(self.alone[j, j + 1 :, m][:, rs], tail).min(axis=0)  # [r]
                rps = np.arange(1, m + 1)
                edges = self.edge[m - rps[:, None], m, m + rs[None, :], j]  # [rp, r]
                self.bound[j, m, 1 : m + 1] = np.maximum(edges, inner[None, :]).min(axis=1)

    # ------------------------------------------------------------------- stage pieces
    def sync_unit(self, start: int, r: int) -> np.ndarray:
        """Link seconds per byte of weights for one all-reduce round over ``start .. +r``."""
        key = (start, r)
        v = self._sync_unit.get(key)
        if v is None:
            v = self._sync_unit[key] = self.costs.link_seconds(
                self.costs.sync_pairs(start, start + r)
            )
        return v

    def boundary_unit(self, first: int, second: int, stop: int) -> np.ndarray:
        """Link seconds per activation byte of the boundary from devices ``[first, second)``
        to ``[second, stop)``, both directions."""
        key = (first, second, stop)
        v = self._boundary_unit.get(key)
        if v is None:
            share = boundary_pairs(self.n_devices, first, second - first, second, stop - second)
            v = self._boundary_unit[key] = self.costs.link_seconds(share + share.T)
        return v

    # ------------------------------------------------------------------------ search
    def offer(
        self,
        period: float,
        counts: tuple[int, ...],
        replicas: tuple[int, ...],
        fits: bool = True,
    ) -> None:
        """Keep ``(counts, replicas)`` if it beats the best plan so far (ties: fewer stages,
        then more devices); a plan that does not fit in memory only while none that fits has
        been found."""
        if not fits:
            if self.fitting:
                return
            if period < self.unfit_best[0]:
                self.unfit_best = (period, (counts, replicas))
            return
        self.fitting = True
        key = _tie_key(counts, replicas)
        if period < self.best * (1 - _TIE) or (
            period <= self.best * (1 + _TIE) and key < self.best_key
        ):
            self.best, self.best_key, self.best_plan = period, key, (counts, replicas)

    def _hopeless(self, lb: float, counts: tuple[int, ...], replicas: tuple[int, ...]) -> bool:
        if lb < self.best * (1 - _TIE):
            return False
        return not (lb <= self.best * (1 + _TIE) and _tie_key(counts, replicas) < self.best_key)

    def run(self) -> None:
        """Depth-first over the stages, the most promising child first."""
        n, d = self.n_layers, self.n_devices
        zero = np.zeros(self.costs.capacity.size)
        Node = tuple[int, int, int, float, np.ndarray, tuple[int, ...], tuple[int, ...]]
        stack: list[Node] = []
        first: list[tuple[float, Node]] = []
        for k in range(1, n):
            for r in range(1, d):
                load = float(self.cum_w[k]) / r * self.sync_unit(0, r) if r > 1 else zero
                value = float(self.alone[0, k, 0, r])
                first.append(
                    (max(value, float(self.bound[k, r, r])), (k, r, r, value, load, (k,), (r,)))
                )
        first.sort(key=lambda c: c[0], reverse=True)
        stack.extend(node for _, node in first)
        while stack:
            j, m, rp, value, load, counts, replicas = stack.pop()
            if self._hopeless(max(value, float(self.bound[j, m, rp])), counts, replicas):
                continue
            self.nodes += 1
            if self.nodes > MAX_SEARCH_NODES:
                self.exhaustive = False
                break
            size = float(self.activation[j - 1])
            kids: list[tuple[float, Node]] = []
            for r in range(1, d - m + 1):
                edge = float(self.edge[m - rp, m, m + r, j])
                base = load + size * self.boundary_unit(m - rp, m, m + r) if size > 0 else load
                for k in range(j + 1, n + 1):
                    new = base
                    if r > 1:
                        new = base + float(self.cum_w[k] - self.cum_w[j]) / r * self.sync_unit(m, r)
                    v = max(value, float(self.alone[j, k, m, r]), edge, float(new.max()))
                    lb = max(v, float(self.bound[k, m + r, r])) if k < n else v
                    c2, r2 = (*counts, k - j), (*replicas, r)
                    if self._hopeless(lb, c2, r2):
                        continue
                    if k == n:
                        steady = self.evaluate(c2, r2)
                        fits = self.fits is None or self.fits(c2, r2, steady.warmup)
                        self.offer(steady.period_s, c2, r2, fits)
                    else:
                        kids.append((lb, (k, m + r, r, v, new, c2, r2)))
            kids.sort(key=lambda c: c[0], reverse=True)
            stack.extend(node for _, node in kids)

    def evaluate(self, counts: Sequence[int], replicas: Sequence[int]) -> SteadyState:
        """The full cost model of a complete plan."""
        return steady_state(
            self.costs, self.compute, self.activation, self.params, counts, replicas, self.forward
        )


def plan_pipedream(
    compute: Sequence[float],
    activation: Sequence[float],
    params: Sequence[float],
    costs: PlacementCosts,
    data_parallel: Callable[[int], float],
    fits: Fits | None = None,
    forward: Sequence[float] | None = None,
) -> Plan:
    """The plan minimising the steady-state period over ``len(compute)`` layers and the devices
    of ``costs`` (consecutive devices per stage, unused ones at the end).

    Args:
        compute: per layer, forward + backward (+ recompute) seconds of one micro-batch.
        activation: per layer, bytes of its output for one micro-batch.
        params: per layer, parameter bytes.
        costs: the placement's routes and all-reduce costs.
        data_parallel: ``data_parallel(m)``: seconds per micro-batch of plain data parallelism
            on the first ``m`` devices (the plans of a single stage).
        fits: ``fits(counts, replicas, warmup)``: whether a plan's stages fit in their devices'
            memory with ``warmup + 1`` micro-batches in flight (None: memory is not checked).
            Plans that do not fit are chosen only when none does (:attr:`Plan.fits`).
        forward: per layer, the forward's share of ``compute``
            (:func:`~clustersim.training.pipeline.steady_state.steady_state`).
    """
    n, d = len(compute), costs.n
    if n < 1 or d < 1:
        raise ValueError(f"the planner needs at least one layer and one device, got {n} and {d}")
    search = _Search(compute, activation, params, costs, fits, forward)
    for m in range(d, 0, -1):
        one = fits is None or fits((n,), (m,), (0,))
        search.offer(float(data_parallel(m)), (n,), (m,), one)
    if n > 1 and d > 1:
        search.run()
    if search.best_plan is None:
        period, best = search.unfit_best
        assert best is not None
        counts, replicas = best
        return Plan(counts, replicas, float(period), d, search.exhaustive, search.nodes, False)
    counts, replicas = search.best_plan
    return Plan(
        tuple(counts),
        tuple(replicas),
        float(search.best),
        d,
        exhaustive=search.exhaustive,
        nodes=search.nodes,
    )
