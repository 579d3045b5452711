"""Partitioning layers into pipeline stages: even, balanced, and PipeDream's planner.

PipeDream's optimizer (Narayanan et al., "PipeDream: Generalized Pipeline Parallelism for DNN
Training", SOSP 2019, §3.1) picks, by dynamic programming, the split of a layer sequence into
stages *and* how many workers replicate each stage, minimising the time of the slowest stage
in steady state. With ``T_l`` the forward+backward time of layer ``l`` for one micro-batch,
``W^m`` the time to synchronise a stage's weights among its ``m`` replicas and ``C_i`` the time
to send layer ``i``'s output activation to the next stage:

    T(i→j, m) = (1/m) · max( Σ_{l=i..j} T_l , W^m_{i..j} )
    A(j, m)   = min_{i<j} min_{m'<m} max( A(i, m−m'), 2·C_i, T(i+1→j, m') )

and ``A(j, m) = T(1→j, m)`` with a single stage. (PipeDream's released optimizer,
``optimizer_graph_hierarchical.py``, adds compute and synchronisation instead of taking the
max; the paper's max matches a runtime that overlaps them, which is what the simulator does.)
The answer ``A(N, M)`` is the predicted time per micro-batch in steady state; the
configuration is printed in PipeDream's notation: replica counts per stage joined by dashes
("15-1": 15 replicas of the first stage, 1 of the second), ``"straight"`` when every stage has
one worker, and just the worker count ("16") when the best plan is plain data parallelism.

Three adaptations, all to make the prediction match what the simulator runs:

* *Placement-aware costs.* Stages occupy consecutive devices in placement order, so the last
  stage of ``A(j, m)`` sits on devices ``m−m' .. m−1``. ``W`` is the all-reduce algorithm's own
  analytic time over exactly those devices (alpha the slowest route latency, beta the
  narrowest route bottleneck between the ranks the algorithm pairs), and the state also
  remembers ``m'`` so that ``C_i`` is priced on the routes between the two neighbouring
  stages' actual devices (see :func:`plan_pipedream`). PipeDream instead solves level by level
  of a hierarchical topology with one bandwidth ``B_k`` per level and a parameter-server
  ``W = 4(m−1)|w|/(m·B_k)``.
* *Full-duplex links.* Activations go one way and their gradients the other, so a boundary
  costs ``C_i`` per micro-batch, not PipeDream's ``2·C_i``.
* Devices may be left unused (at the end of the placement, so that every stage still sits on
  consecutive devices), as PipeDream's ``--use_fewer_machines`` allows. On ties the plan with
  fewer stages, then the one with more devices, wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.collectives.allreduce import AllreduceCost
from clustersim.hardware.cluster import Cluster

__all__ = [
    "ClusterCosts",
    "Plan",
    "balanced_partition",
    "even_partition",
    "notation",
    "pipedream_time",
    "plan_pipedream",
    "stage_time",
]

_TIE = 1e-12


def even_partition(layers: int, stages: int) -> list[int]:
    """Layer counts of ``stages`` consecutive stages as equal as possible (earlier ones larger)."""
    if not 1 <= stages <= layers:
        raise ValueError(f"cannot split {layers} layers into {stages} non-empty stages")
    base, extra = divmod(layers, stages)
    return [base + (1 if i < extra else 0) for i in range(stages)]


def balanced_partition(times: Sequence[float], stages: int) -> list[int]:
    """Layer counts of ``stages`` consecutive stages minimising the slowest stage's time.

    The classic linear-partition dynamic program, O(stages · layers²). Ties go to the split
    that puts layers into earlier stages.
    """
    n = len(times)
    if not 1 <= stages <= n:
        raise ValueError(f"cannot split {n} layers into {stages} non-empty stages")
    prefix = np.concatenate(([0.0], np.cumsum(times)))
    best = np.full((stages + 1, n + 1), np.inf)
    cut = np.zeros((stages + 1, n + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(1, stages + 1):
        for j in range(k, n + 1):
            for i in range(j - 1, k - 2, -1):
                cost = max(best[k - 1, i], prefix[j] - prefix[i])
                if cost < best[k, j] - _TIE * abs(best[k, j]) if np.isfinite(best[k, j]) else True:
                    best[k, j], cut[k, j] = cost, i
    counts, j = [], n
    for k in range(stages, 0, -1):
        i = int(cut[k, j])
        counts.append(j - i)
        j = i
    return counts[::-1]


def stage_time(compute: float, sync: float, replicas: int) -> float:
    """PipeDream's ``T = max(compute, sync) / m`` for one stage (SOSP 2019, §3.1)."""
    return max(compute, sync) / replicas


class ClusterCosts:
    """Communication costs between devices in placement order, from the cluster's routes.

    Args:
        cluster: the cluster (routes, latencies, bottlenecks).
        devices: the devices in placement order.
        algorithm: name of the all-reduce whose analytic time is ``W``.
    """

    def __init__(self, cluster: Cluster, devices: Sequence[str], algorithm: str) -> None:
        self.devices = list(devices)
        n = len(self.devices)
        nodes = cluster.rank_indices(self.devices)
        pattern = cluster.network.pattern(np.repeat(nodes, n), np.tile(nodes, n))
        self.latency = pattern.latency.reshape(n, n)
        self.bandwidth = pattern.bottleneck.reshape(n, n)
        self._allreduce = AllreduceCost(cluster, self.devices, algorithm)

    def sync_time(self, start: int, stop: int, size: float) -> float:
        """All-reduce of ``size`` bytes over devices ``start .. stop-1`` (0 for one device)."""
        return self._allreduce.time(start, stop, size)

    def boundary_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``bw[a, b, c]`` / ``lat[a, b, c]``: narrowest bandwidth and largest latency of the
        routes from devices ``[a, b)`` to devices ``[b, c)`` (``a < b < c``)."""
        n = len(self.devices)
        bw = np.full((n + 1, n + 1, n + 1), np.inf)
        lat = np.zeros((n + 1, n + 1, n + 1))
        for b in range(1, n):
            # over receivers y in [b, c): running min/max along c
            r_bw = np.minimum.accumulate(self.bandwidth[:b, b:], axis=1)  # (x, c-b)
            r_lat = np.maximum.accumulate(self.latency[:b, b:], axis=1)
            # over senders x in [a, b): running min/max from b-1 down to a
            s_bw = np.minimum.accumulate(r_bw[::-1], axis=0)[::-1]
            s_lat = np.maximum.accumulate(r_lat[::-1], axis=0)[::-1]
            bw[:b, b, b + 1 :] = s_bw
            lat[:b, b, b + 1 :] = s_lat
        return bw, lat

    def transfer_time(self, sender: int, receiver: int, size: float) -> float:
        """Latency plus ``size`` over the route from device ``sender`` to ``receiver``."""
        if sender == receiver:
            return 0.0
        return float(self.latency[sender, receiver] + size / self.bandwidth[sender, receiver])


@dataclass(frozen=True)
class Plan:
    """A pipeline configuration.

    Attributes:
        counts: layers per stage.
        replicas: workers per stage.
        time_per_microbatch_s: predicted steady-state time between micro-batch completions.
        devices: devices available to the planner.
    """

    counts: tuple[int, ...]
    replicas: tuple[int, ...]
    time_per_microbatch_s: float
    devices: int

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


def plan_pipedream(
    compute: Sequence[float],
    activation: Sequence[float],
    params: Sequence[float],
    costs: ClusterCosts,
) -> Plan:
    """PipeDream's dynamic program over ``len(compute)`` layers and ``len(costs.devices)`` workers.

    Args:
        compute: per layer, forward + backward (+ recompute) seconds of one micro-batch.
        activation: per layer, bytes of its output for one micro-batch.
        params: per layer, parameter bytes.
        costs: the cluster's communication costs over the devices, in placement order.

    The state is ``(j, m, m')``: layers ``[0, j)`` on devices ``[0, m)``, the last stage on the
    ``m'`` devices ``[m-m', m)``. Knowing both neighbouring stages' devices lets the boundary
    cost be exact for the simulated runtime: ``C = latency + a / (min(r_send, r_recv) · B)``
    with ``B`` the narrowest route between the two device ranges (round-robin spreads a
    boundary's micro-batches over ``min(r_send, r_recv)`` disjoint paths at best), counted once
    because links are full duplex (activations and gradients travel opposite ways), where
    PipeDream's half-duplex bound counts ``2·C_i``.
    """
    n = len(compute)
    devices = len(costs.devices)
    if n < 1 or devices < 1:
        raise ValueError(
            f"the planner needs at least one layer and one device, got {n} and {devices}"
        )
    cum_c = np.concatenate(([0.0], np.cumsum(compute)))
    cum_w = np.concatenate(([0.0], np.cumsum(params)))
    act = np.asarray(activation, dtype=float)
    bw_min, lat_max = costs.boundary_tables()
    inf = float("inf")

    def T(i: int, j: int, start: int, stop: int) -> float:
        return stage_time(
            cum_c[j] - cum_c[i], costs.sync_time(start, stop, cum_w[j] - cum_w[i]), stop - start
        )

    A = np.full((n + 1, devices + 1, devices + 1), inf)
    back = np.full((n + 1, devices + 1, devices + 1, 2), -1, dtype=np.int64)
    for j in range(1, n + 1):
        for m in range(1, devices + 1):
            A[j, m, m] = T(0, j, 0, m)
            for mp in range(1, m):
                start = m - mp
                prev_counts = np.arange(1, start + 1)  # replicas of the previous stage
                senders = start - prev_counts
                share = np.minimum(prev_counts, mp)
                bw = bw_min[senders, start, m]
                lat = lat_max[senders, start, m]
                best, arg = inf, (-1, -1)
                for i in range(1, j):
                    prev = A[i, start, 1 : start + 1]
                    comm = lat + act[i - 1] / (share * bw)
                    cand = np.maximum(prev, comm)
                    k = int(np.argmin(cand))
                    if cand[k] >= best:
                        continue
                    value = max(float(cand[k]), T(i, j, start, m))
                    if value < best * (1 - _TIE):
                        best, arg = value, (i, k + 1)
                A[j, m, mp] = best
                back[j, m, mp] = arg
    # the single stage on every device first, so that ties go to data parallelism; then fewer
    # devices only when strictly better
    best_value, best_state = float(A[n, devices, devices]), (devices, devices)
    for m in range(devices, 0, -1):
        for mp in range(1, m + 1):
            if A[n, m, mp] < best_value * (1 - _TIE):
                best_value, best_state = float(A[n, m, mp]), (m, mp)
    counts: list[int] = []
    replicas: list[int] = []
    j, (m, mp) = n, best_state
    while True:
        counts.append(j)
        replicas.append(mp)
        if mp == m:
            break
        i, prev = (int(x) for x in back[j, m, mp])
        counts[-1] = j - i
        j, m, mp = i, m - mp, prev
    return Plan(tuple(counts[::-1]), tuple(replicas[::-1]), best_value, devices)


def pipedream_time(
    compute: Sequence[float],
    counts: Sequence[int],
    replicas: Sequence[int],
    stage_params: Sequence[float],
    stage_inputs: Sequence[float],
    costs: ClusterCosts,
) -> float:
    """The cost model :func:`plan_pipedream` minimises, for one given configuration.

    Stage ``d`` holds ``counts[d]`` layers on ``replicas[d]`` consecutive devices of
    ``costs.devices``; its weights are ``stage_params[d]`` bytes and its input activation
    ``stage_inputs[d]`` bytes per micro-batch. The answer is the slowest of every stage's
    ``T = max(compute, sync) / replicas`` and every boundary's
    ``latency + input / (min(r_send, r_recv) · B)``: seconds per micro-batch in steady state.
    """
    worst, first, start = 0.0, 0, 0
    for d, (count, r) in enumerate(zip(counts, replicas, strict=True)):
        stop = start + r
        sync = costs.sync_time(start, stop, stage_params[d])
        worst = max(worst, stage_time(sum(compute[first : first + count]), sync, r))
        if d > 0:
            r_prev = replicas[d - 1]
            senders = slice(start - r_prev, start)
            bw = float(costs.bandwidth[senders, start:stop].min())
            lat = float(costs.latency[senders, start:stop].max())
            worst = max(worst, lat + stage_inputs[d] / (min(r_prev, r) * bw))
        first, start = first + count, stop
    return worst
