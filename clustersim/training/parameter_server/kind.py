"""The ``parameter_server`` workload kind: workers push gradients to sharded servers and pull.

A parameter server (Li et al., "Scaling Distributed Machine Learning with the Parameter Server",
OSDI 2014) keeps the model on ``S`` server nodes, each holding one shard of the parameters
(split as evenly as the elements allow). In every iteration each of ``W`` workers computes a
gradient of ``G`` bytes (``model_size``), pushes shard ``s`` of it to server ``s`` and pulls the
updated shards back: ``2·W·G`` bytes per iteration, the lecture notes' ``2(N-1)G`` for ``N``
nodes with one server, all through the server's link, which is why the scheme does not scale.

Three views (docs/architecture.md §1), one module each:

* **kernel** (:mod:`~clustersim.training.parameter_server.kernels`): ``ps_push`` adds a pushed
  gradient into the servers' shard accumulators; ``ps_aggregate`` applies a set of pushes and
  returns the concatenated shards. With ``verify: true`` the processes call it on real numpy
  gradients and the check ``ps_aggregate_equals_sum`` compares the sharded sums with the direct
  sum.
* **process** (:mod:`~clustersim.training.parameter_server.process`): one SimPy process per
  worker and, in ``sync`` mode, one server process that runs the barrier.
* **cost** (:mod:`~clustersim.training.parameter_server.costs`): :func:`analytic`.

Modes:

* ``sync``: bulk-synchronous steps. All workers start a step together from the same
  parameters; the server waits (the barrier) for the first ``W-b`` gradients, then those
  workers push at once, then every worker pulls. With ``backup_workers: b`` the ``b`` workers
  still computing at the barrier abandon their step and their gradients are dropped: the
  backup workers of Chen, Pan, Monga, Bengio & Jozefowicz, "Revisiting Distributed
  Synchronous SGD", arXiv:1604.00981 (2016), §3 (the lecture notes' "backup nodes").
  TensorFlow's SyncReplicasOptimizer lets a late worker finish and discards its stale gradient
  at the server; abandoning it at the barrier keeps every worker on the same step, so the step
  time is the ``(W-b)``-th order statistic of the compute times plus the communication.
* ``async``: each worker loops compute, push, pull on its own; the server applies every
  gradient when its push has fully arrived (Dean et al., "Large Scale Distributed Deep
  Networks", NIPS 2012, Downpour SGD). A gradient's *staleness* is the number of updates the
  server applied between the worker's pull of the parameters it used and the arrival of the
  gradient.
* ``ssp``: stale synchronous parallel (Ho et al., "More Effective Distributed ML via a Stale
  Synchronous Parallel Parameter Server", NIPS 2013): as ``async``, but a worker may start
  iteration ``c`` only when the slowest worker has finished iteration ``c - staleness - 1``,
  i.e. the clock gap never exceeds ``staleness``; ``staleness: 0`` is bulk-synchronous.

Stragglers: ``stragglers`` multiplies each worker's compute in each iteration by a factor, from
``{dist: lognormal, sigma, mu}`` (``exp(mu + sigma·Z)``), ``{dist: exponential, scale}``
(``1 + Exp(mean=scale)``), drawn from ``cluster.sim.rng("stragglers")`` as an
``(iterations, workers)`` array, or a fixed list with one factor per worker. The device's own
``cluster.slowdown`` applies on top.

Nodes (:mod:`~clustersim.training.parameter_server.layout`): the servers are the devices with
``role: ps`` in a custom topology, otherwise the first ``servers`` devices in rank order; the
workers are the next ``workers`` devices. Server-side aggregation is free (no gamma term).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, Work, WorkloadKind
from clustersim.training.parameter_server.costs import (
    expected_order_statistic,
    order_statistic,
    ps_bytes_total,
    ps_phase_time,
    ps_sync_iteration_time,
)
from clustersim.training.parameter_server.kernels import AggregationCheck
from clustersim.training.parameter_server.layout import ServerLayout, server_layout
from clustersim.training.parameter_server.params import ComputeWork, ParameterServerParams
from clustersim.training.parameter_server.process import (
    ParameterServerRun,
    ServerLinks,
    async_processes,
    sync_processes,
)
from clustersim.units import format_bytes

__all__ = ["KIND", "ParameterServerPlan", "analytic", "prepare", "simulate"]

VERIFY_MEMORY_LIMIT = 256 * 2**20
"""Bytes of gradient buffers one verified step may hold; above it verify is refused."""


@dataclass(frozen=True)
class ParameterServerPlan:
    """What :func:`simulate` and :func:`analytic` share: the layout and the compute times.

    Attributes:
        cluster: the cluster the run happens on.
        params: the workload.
        layout: the servers, the workers and the shards.
        base_compute: seconds of one iteration's compute per worker, before any slowdown.
    """

    cluster: Cluster
    params: ParameterServerParams
    layout: ServerLayout
    base_compute: np.ndarray


def _base_compute(
    cluster: Cluster, params: ParameterServerParams, workers: list[str]
) -> np.ndarray:
    """Seconds of one iteration's compute per worker, before any slowdown."""
    work = params.compute
    if isinstance(work, ComputeWork):  # roofline plus its kernels' launch overheads
        return np.array(
            [
                cluster.devices[w].spec.kernel_time(work.flops, work.bytes, work.kernels)
                for w in workers
            ]
        )
    return np.full(len(workers), float(params.compute))


def prepare(cluster: Cluster, params: ParameterServerParams) -> ParameterServerPlan:
    """Choose servers and workers, price each worker's compute, and bound a verified replay.

    Raises InputError for a layout the cluster cannot hold (see
    :func:`~clustersim.training.parameter_server.layout.server_layout`) and for a ``verify``
    replay whose gradient buffers would exceed :data:`VERIFY_MEMORY_LIMIT`.
    """
    layout = server_layout(cluster, params)
    if params.verify:
        workers = len(layout.workers)
        needed = 2 * workers * int(layout.lengths.sum()) * params.itemsize
        if needed > VERIFY_MEMORY_LIMIT:
            raise InputError(
                f"workload.verify: replaying {workers} gradients of "
                f"{format_bytes(params.model_size, 3)} needs {format_bytes(needed, 3)}, over "
                f"the {format_bytes(VERIFY_MEMORY_LIMIT)} limit; set verify: false for a "
                "timing-only run, or use a smaller model_size"
            )
    return ParameterServerPlan(
        cluster, params, layout, _base_compute(cluster, params, layout.workers)
    )


def _straggler_factors(plan: ParameterServerPlan) -> np.ndarray:
    """Straggler factors, shape (iterations, workers)."""
    params = plan.params
    shape = (params.iterations, len(plan.layout.workers))
    if params.stragglers is None:
        return np.ones(shape)
    if isinstance(params.stragglers, list):
        return np.broadcast_to(np.asarray(params.stragglers, dtype=float), shape)
    return params.stragglers.draw(plan.cluster.sim.rng("stragglers"), shape)


def simulate(plan: ParameterServerPlan) -> Outcome:
    """Run ``iterations`` steps from t=0 and measure traffic, utilisation and waiting."""
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    w_count = len(layout.workers)
    verifier = (
        AggregationCheck(
            cluster.sim.rng("parameter_server.gradients"), params.dtype, layout.lengths
        )
        if params.verify
        else None
    )
    run = ParameterServerRun(
        cluster, params, layout, plan.base_compute, _straggler_factors(plan), verifier
    )
    if params.mode == "sync":
        sync_processes(run)
    else:
        async_processes(run)
    sim = cluster.sim
    sim.run()
    makespan = sim.now
    iters = params.iterations
    worker_iters = w_count * iters
    busy = run.server_busy_s()
    metrics: dict[str, Any] = {
        "time_per_iteration_s": makespan / iters,
        "time_s": makespan,
        "iterations": iters,
        "workers": w_count,
        "servers": len(layout.servers),
        **cluster.standard_metrics(),
        "bytes_pushed": run.bytes_pushed,
        "bytes_pulled": run.bytes_pulled,
        "server_link_utilization": float(busy.mean() / makespan) if makespan > 0 else 0.0,
        "compute_s": run.compute_total / worker_iters,
        "communication_s": run.comm_total / worker_iters,
        # seconds each worker waited over the whole run (sync: at the barrier for the slowest
        # worker; ssp: held back by the staleness bound), so each is at most time_s
        "straggler_idle_s_per_worker": run.idle_per_worker.tolist(),
        "straggler_idle_s_mean": float(run.idle_per_worker.mean()),
        "straggler_idle_fraction": (run.idle_total / (w_count * makespan) if makespan > 0 else 0.0),
        "gradients_dropped": run.dropped,
    }
    if params.mode != "sync":
        stale = np.asarray(run.staleness)
        metrics.update(
            {
                "staleness_mean": float(stale.mean()),
                "staleness_max": int(stale.max()),
                "clock_gap_max": run.clock_gap_max,
            }
        )
    checks = {"ps_aggregate_equals_sum": verifier.record()} if verifier is not None else {}
    return Outcome(metrics=metrics, checks=checks)


def _link_capacity(cluster: Cluster, names: list[str], into: bool) -> np.ndarray:
    """Total capacity of the directed links into (or out of) each named node."""
    net = cluster.network
    column = 1 if into else 0
    total = np.bincount(net.link_ends[:, column], weights=net.capacity, minlength=len(net.nodes))
    return total[cluster.rank_indices(names)]


def analytic(plan: ParameterServerPlan) -> dict[str, Any]:
    """The contention-free synchronous step (:mod:`~clustersim.training.parameter_server.costs`).

    ``time_per_iteration_s = C + T_push + T_pull`` with the compute ``C`` of the slowest
    accepted worker and no straggler slowdown, ``T_push = alpha + max((W-b)·G_s/B_in(server),
    G/B_out(worker))`` and ``T_pull = alpha + max(W·G_s/B_out(server), G/B_in(worker))``: with
    one server on a switch, ``C + 2·(alpha + W·G/B)``, ``alpha`` being the two-hop route latency.
    Without stragglers ``async`` and ``ssp`` run in lock-step and take the same time. With
    stragglers, ``time_per_iteration_with_stragglers_s`` (sync) replaces ``C`` by the expected
    ``(W-b)``-th order statistic of the slowed compute times (exact for a fixed list).
    ``bytes_max_link`` and ``server_link_utilization`` assume each server has a single link.
    """
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    w_count = len(layout.workers)
    b = params.backup_workers
    iters = params.iterations
    G = float(params.model_size)
    links, everyone = ServerLinks(cluster, layout), tuple(range(w_count))
    push_pattern = links.pattern("push", everyone)
    pull_pattern = links.pattern("pull", everyone)
    srv_in = _link_capacity(cluster, layout.servers, into=True)
    srv_out = _link_capacity(cluster, layout.servers, into=False)
    wrk_in = _link_capacity(cluster, layout.workers, into=True)
    wrk_out = _link_capacity(cluster, layout.workers, into=False)
    alpha_push = float(push_pattern.latency.max())
    alpha_pull = float(pull_pattern.latency.max())
    push_s = ps_phase_time(
        alpha_push,
        w_count - b,
        layout.shard_bytes,
        srv_in,
        G,
        wrk_out,
        float(push_pattern.bottleneck.min()),
    )
    pull_s = ps_phase_time(
        alpha_pull,
        w_count,
        layout.shard_bytes,
        srv_out,
        G,
        wrk_in,
        float(pull_pattern.bottleneck.min()),
    )
    slow = np.array([cluster.devices[w].slowdown for w in layout.workers])
    base = plan.base_compute * slow
    compute_s = order_statistic(base, b)
    time_s = ps_sync_iteration_time(compute_s, push_s, pull_s)
    out: dict[str, Any] = {
        "time_per_iteration_s": time_s,
        "time_s": time_s * iters,
        "bytes_total": ps_bytes_total(w_count, G, iters, b),
        "bytes_pushed": float(iters * (w_count - b) * G),
        "bytes_pulled": float(iters * w_count * G),
        "communication_s": push_s + pull_s,
        "push_s": push_s,
        "pull_s": pull_s,
    }
    single_link = all(cluster.graph.degree(s) == 1 for s in layout.servers)
    if single_link:
        out["bytes_max_link"] = float(iters * max(w_count * layout.shard_bytes.max(), G))
        streaming = (push_s - alpha_push) + (pull_s - alpha_pull)
        out["server_link_utilization"] = streaming / time_s if time_s > 0 else 0.0
    if params.stragglers is not None and params.mode == "sync":
        if isinstance(params.stragglers, list):
            expected = order_statistic(base * np.asarray(params.stragglers), b)
        else:
            expected = expected_order_statistic(
                base, params.stragglers.dist, b, **params.stragglers.shape()
            )
        out["time_per_iteration_with_stragglers_s"] = ps_sync_iteration_time(
            expected, push_s, pull_s
        )
        out["straggler_delay_s"] = expected - compute_s
    return out


def _details() -> list[str]:
    return [
        "sync: T = C_(W-b) + 2·(alpha + W·G/(S·B)) on a switch; bytes 2·W·G per iteration "
        "[Li et al. OSDI 2014; backup workers: Chen et al. arXiv:1604.00981]",
        "async: Downpour SGD [Dean et al. NIPS 2012]; ssp: clock gap <= staleness "
        "[Ho et al. NIPS 2013]",
    ]


def estimate(plan: ParameterServerPlan) -> Work:
    """Events before the run: each worker pushes and pulls every iteration (about four events
    per worker and iteration: 3.5 measured for ``scenarios/ps_stragglers.yaml``)."""
    workers = len(plan.layout.workers)
    events = plan.params.iterations * (4 * workers + 4)
    return Work(events=events, knob="workload.iterations or workload.workers")


KIND = WorkloadKind(
    name="parameter_server",
    description="workers push gradients to sharded parameter servers and pull parameters "
    "(sync with backup workers, async, ssp; stragglers)",
    params=ParameterServerParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
