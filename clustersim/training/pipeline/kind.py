"""The ``pipeline`` workload kind: pipeline-parallel training, timed, costed and verified.

A minibatch of ``batch`` samples per pipeline replica is cut into ``microbatches`` (M)
micro-batches that flow through ``stages`` (K) devices under a ``schedule``; ``replicas``
pipelines run side by side on different data and all-reduce their gradients, and each stage
may itself be split ``tensor_parallel`` ways. ``partition`` decides which layers go to which
stage: ``even`` (equal layer counts), ``balanced`` (the contiguous split minimising the slowest
stage), an explicit list of layer counts, or ``planner`` (PipeDream's optimizer, which also
picks the replication of each stage; schedule ``pipedream``). A PipeDream plan can also be
forced: ``stages: [15, 1]`` gives each stage's replicas, ``partition`` its layers.

``prepare`` resolves the :class:`~clustersim.training.pipeline.layout.Layout` once (the planner
runs there) and, for a PipeDream plan with ``compare``, the layouts it is compared with (data
parallelism, run by the ``data_parallel`` kind, and an even straight split); ``simulate`` runs
them (:func:`~clustersim.training.pipeline.process.run_layout`, the comparisons on fresh
clusters) and ``analytic`` prices the same layouts: the synchronous schedules with the closed
forms of :mod:`~clustersim.training.pipeline.costs` for the stages given, PipeDream with the
steady-state model of :mod:`~clustersim.training.pipeline.steady_state` (the one the planner
minimises; a one-stage plan with the data-parallel kind's own prediction).

Activations and their gradients cross the FlowNetwork between stages; with tensor parallelism
each rank sends its 1/t slice (the point-to-point half of Megatron-LM's scatter/gather
optimisation, Narayanan et al. SC 2021 §4.1; the intra-node all-gather after it is not
modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.collectives.allreduce import allreduce_time
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.maxmin import max_min_rates
from clustersim.kinds.contract import AnalyticNote, Outcome, Work, WorkloadKind
from clustersim.training.data_parallel import kind as data_parallel
from clustersim.training.pipeline import costs
from clustersim.training.pipeline.baseline import data_parallel_prediction, data_parallel_run
from clustersim.training.pipeline.kernels import PipelineReplay
from clustersim.training.pipeline.layout import (
    Layout,
    baselines,
    check_op_count,
    microbatches_simulated,
    resolve_layout,
)
from clustersim.training.pipeline.params import PipelineParams
from clustersim.training.pipeline.planner import notation
from clustersim.training.pipeline.process import run_layout
from clustersim.training.pipeline.schedules import SCHEDULES

__all__ = [
    "KIND",
    "PipelineParams",
    "PipelinePlan",
    "analytic",
    "analytic_notes",
    "boundary_transfers",
    "estimate",
    "prepare",
    "simulate",
    "simulated_events",
]


@dataclass(frozen=True)
class PipelinePlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        layout: the layout to simulate (the planner's choice with partition ``planner``).
        baselines: ``(name, layout)`` of what a PipeDream plan (the planner's, or one forced
            by ``stages: [15, 1]``) is compared with when ``compare`` is on; otherwise empty.
    """

    cluster: Cluster
    params: PipelineParams
    layout: Layout
    baselines: tuple[tuple[str, Layout], ...] = ()


def prepare(cluster: Cluster, params: PipelineParams) -> PipelinePlan:
    """Resolve the layout (and the planner's baselines); InputError if one cannot run."""
    layout = resolve_layout(cluster, params)
    compared: tuple[tuple[str, Layout], ...] = ()
    if params.compare and (params.partition == "planner" or isinstance(params.stages, list)):
        compared = tuple(baselines(cluster, params, layout))
    check_op_count(layout, params)
    for _, other in compared:
        check_op_count(other, params)
    return PipelinePlan(cluster, params, layout, compared)


def _same(a: Layout, b: Layout) -> bool:
    """Whether two layouts split the same layers over the same replica counts."""
    return (a.counts, a.replicas) == (b.counts, b.replicas)


# ------------------------------------------------------------------- data parallelism
def _data_parallel_checks(params: PipelineParams, layout: Layout, cluster: Cluster) -> Any:
    """``pipeline_gradient_equals_full_batch`` for a one-stage plan: each worker's micro-batch
    gradient, summed over the workers, equals the full-batch gradient of the numpy model."""
    workers = len(layout.placement)
    replay = PipelineReplay(
        1,
        [workers],
        layout.microbatch,
        workers,
        mode="flush",
        recompute=params.recompute,
        rng=cluster.sim.rng("pipeline.replay"),
    )
    for j in range(workers):
        replay.forward(0, j)
        replay.backward(0, j, j)
    buffers = replay.stacked_gradients([0], workers)
    buffers[:] = buffers.sum(axis=0)
    replay.set_gradients([0], buffers)
    return replay.check_full_batch(workers)


def _data_parallel_metrics(
    params: PipelineParams, layout: Layout, dp: dict[str, Any]
) -> dict[str, Any]:
    """The pipeline kind's metrics of a one-stage plan, from the data-parallel run ``dp``."""
    per_minibatch = params.microbatches * params.replicas
    spec = layout.stages[0]
    throughput = float(dp["throughput_samples_per_s"])
    idle = 1.0 - dp["compute_s"] / dp["time_per_iteration_s"]
    return {
        "time_per_minibatch_s": per_minibatch * layout.microbatch / throughput,
        "throughput_samples_per_s": throughput,
        "bubble_fraction": idle,
        "bubble_fraction_per_stage": [idle],
        "peak_activation_memory_bytes": spec.stash_bytes,
        "peak_activation_memory_bytes_per_stage": [spec.stash_bytes],
        "weight_versions": 1,
        "weight_versions_per_stage": [1],
        "bytes_between_stages": 0.0,
        "bytes_between_stages_per_boundary": [],
        "stage_compute_time_s": [float(dp["compute_s"])],
        "exposed_communication_s": float(dp["exposed_communication_s"]),
        **{k: dp[k] for k in dp if k.startswith("bytes_") or k.endswith("_per_rank")},
        "plan": notation(layout.replicas),
        "layers_per_stage": layout.counts,
        "microbatch_samples": layout.microbatch,
        "devices_used": len(layout.placement),
        "microbatches_simulated": len(layout.placement),
    }


def _run(cluster: Cluster, params: PipelineParams, layout: Layout, *, verify: bool) -> Outcome:
    """Simulate ``layout`` on ``cluster``: a one-stage PipeDream plan by the data-parallel kind."""
    if layout.data_parallel is None:
        return run_layout(cluster, params, layout, verify=verify)
    dp = data_parallel_run(layout.data_parallel, cluster)
    checks = _data_parallel_checks(params, layout, cluster) if verify else {}
    return Outcome(metrics=_data_parallel_metrics(params, layout, dp), checks=checks)


def simulate(plan: PipelinePlan) -> Outcome:
    """Run the pipeline and measure it; with the planner, also its baselines on fresh clusters."""
    params, layout = plan.params, plan.layout
    outcome = _run(plan.cluster, params, layout, verify=params.verify)
    metrics = outcome.metrics
    for name, other in plan.baselines:
        if _same(other, layout):  # the plan is this baseline (e.g. "16" is data parallelism)
            measured = outcome.metrics
        else:
            measured = _run(plan.cluster.fresh(), params, other, verify=False).metrics
        tput = measured["throughput_samples_per_s"]
        metrics[f"{name}_throughput_samples_per_s"] = tput
        metrics[f"speedup_over_{name}_ratio"] = metrics["throughput_samples_per_s"] / tput
        metrics[f"{name}_plan"] = measured["plan"]
    return outcome


# ------------------------------------------------------------------------------------ analytic
def _throughput(layout: Layout) -> float:
    """The cost model's samples per second of a PipeDream layout."""
    if layout.data_parallel is not None:
        return data_parallel_prediction(layout.data_parallel)["throughput_samples_per_s"]
    assert layout.steady is not None
    return layout.microbatch / layout.steady.period_s


def _peak_activations(params: PipelineParams, layout: Layout) -> list[float]:
    """Per pipeline position: the closed-form peak activation bytes of one of its devices."""
    p, t = layout.p, layout.t
    warm = layout.warmup
    peaks = []
    for d in range(p):
        chunks = [s for s in layout.stages if s.index % p == d]
        full = max(s.stash_bytes for s in chunks) / t
        inputs = max(s.input_bytes for s in chunks) / t
        if params.schedule == "pipedream":  # no flush: every replica keeps warm-up + 1 in flight
            peaks.append(
                costs.stashed_activation_bytes(warm[d] + 1, full, inputs, params.recompute)
            )
        else:
            peaks.append(
                costs.peak_activation_memory(
                    params.schedule,
                    p,
                    params.microbatches,
                    d,
                    full,
                    inputs,
                    params.recompute,
                    v=layout.v,
                )
            )
    return peaks


def _pipedream_analytic(plan: PipelinePlan) -> dict[str, Any]:
    """PipeDream: the steady-state cost model of the layout and of its baselines."""
    params, layout = plan.params, plan.layout
    m, b = params.microbatches, layout.microbatch
    samples = m * params.replicas * b
    throughput = _throughput(layout)
    out: dict[str, Any] = {
        "time_per_minibatch_s": samples / throughput,
        "throughput_samples_per_s": throughput,
    }
    if layout.data_parallel is not None:
        predicted = data_parallel_prediction(layout.data_parallel)
        out["bubble_fraction"] = 1.0 - predicted["compute_s"] / predicted["time_per_iteration_s"]
    else:
        steady = layout.steady
        assert steady is not None
        # no flush, so no fill-and-drain bubble; what idles is the faster stages waiting for
        # the bottleneck: 1 - (compute of one micro-batch on every stage) / (devices x period)
        work = sum(steady.compute_s)
        out["bubble_fraction"] = max(0.0, 1.0 - work / (len(layout.placement) * steady.period_s))
        out["bottleneck"] = steady.bottleneck
        if all(r == 1 for r in layout.replicas):
            versions = [w + 1 for w in layout.warmup]  # one per micro-batch in flight
            out.update({"weight_versions": max(versions), "weight_versions_per_stage": versions})
    if layout.search is not None:
        out["plan"] = notation(layout.replicas)
        out["plan_search_exhaustive"] = layout.search.exhaustive
        out["plan_fits_memory"] = layout.search.fits
    for name, other in plan.baselines:
        out[f"{name}_throughput_samples_per_s"] = _throughput(other)
    return out


def _position_times(plan: PipelinePlan, d: int) -> tuple[float, float, float, float]:
    """(forward, backward, total, compute) seconds of one micro-batch on position ``d``: every
    pass of its chunks, split ``t`` ways, plus the tensor-parallel all-reduces of each layer's
    output; the recomputation counts in the backward, ``total`` in pass order, ``compute`` is
    the passes alone (what the bubble counts as busy)."""
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    p, t = layout.p, layout.t
    dev = cluster.devices[layout.groups[d][0][0]]
    tp_ranks = layout.groups[d][0]
    forward = backward = total = busy = 0.0
    for spec in (s for s in layout.stages if s.index % p == d):
        # the last element: kernels per layer (one forward or recompute, two backward)
        passes = [
            (spec.fwd_flops, spec.fwd_bytes, True, 1),
            (spec.bwd_flops, spec.bwd_bytes, False, 2),
        ]
        if params.recompute:
            passes.append((spec.fwd_flops, spec.fwd_bytes, False, 1))
        for flops, nbytes, is_forward, launches in passes:
            kernels = zip(flops, nbytes, spec.rows, strict=True)
            compute = sum(
                dev.compute_time(f / t, x / t, rows=rows, tiling=layout.tiling, kernels=launches)
                for f, x, rows in kernels
            )
            comm = 0.0
            if t > 1:
                comm = params.tensor_parallel_allreduces * sum(
                    allreduce_time(cluster, tp_ranks, a, params.allreduce_algorithm)
                    for a in spec.act_bytes
                )
            total = total + compute + comm
            busy += compute
            if is_forward:
                forward += compute + comm
            else:
                backward += compute + comm
    return forward, backward, total, busy


def boundary_transfers(plan: PipelinePlan) -> list[tuple[float, float]]:
    """Per boundary between positions ``u`` and ``u+1`` (one chunk per device): the seconds of
    one micro-batch's activation going forward and of its gradient coming back.

    Every replica and tensor-parallel rank of a position sends its slice at the same instant
    (they run in step), so the boundary's flows are priced together: each at its max-min fair
    share of the links it crosses (:func:`~clustersim.hardware.maxmin.max_min_rates`, the
    network's own allocation), taking its route's latency plus its bytes over that rate; the
    boundary takes as long as its slowest flow. Alone on its route a flow takes exactly
    ``latency + bytes / bandwidth``, as the FlowNetwork moves it.
    """
    cluster, layout = plan.cluster, plan.layout
    net = cluster.network
    capacity = np.concatenate([net.capacity, net.medium_capacity])
    out = []
    for u in range(layout.p - 1):
        senders = cluster.rank_indices([name for group in layout.groups[u] for name in group])
        receivers = cluster.rank_indices([name for group in layout.groups[u + 1] for name in group])
        times = []
        for size, src, dst in (
            (layout.stages[u].out_bytes / layout.t, senders, receivers),
            (layout.stages[u + 1].input_bytes / layout.t, receivers, senders),
        ):
            pattern = net.pattern(src, dst)
            rates = max_min_rates(pattern.entry_flow, pattern.entry_link, pattern.size, capacity)
            with np.errstate(divide="ignore"):
                stream = np.where(np.isinf(rates), 0.0, size / rates)
            times.append(float((pattern.latency + stream).max()))
        out.append((times[0], times[1]))
    return out


def _flush_analytic(plan: PipelinePlan) -> dict[str, Any]:
    """Synchronous schedules: the flush of the stages given, then the gradient sync.

    The bubble is the idle share of the devices over that flush: ``1 - m·Σ_d c_d / (p·T)``
    with ``c_d`` a position's compute alone (its tensor-parallel all-reduces count as idle, as
    in the run), which is ``(p-1)/(m+p-1)`` for balanced stages and free communication (GPipe
    §2.3) and larger when they are not. Naive and GPipe price the activation and gradient transfers
    between the stages (:func:`boundary_transfers`) as machines of their flow shop
    (:func:`~clustersim.training.pipeline.costs.unbalanced_flush_time`); 1F1B and interleaved
    1F1B leave them out (a lower bound of the run, departing by the transfers that are not
    overlapped).
    """
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    m, p, v, t = params.microbatches, layout.p, layout.v, layout.t
    name = params.schedule
    times = [_position_times(plan, d) for d in range(p)]
    forward = [x[0] for x in times]
    backward = [x[1] for x in times]
    transfers = boundary_transfers(plan) if name in ("naive", "gpipe") else []
    moving = any(x > 0 or y > 0 for x, y in transfers)
    comm_free = all(x[2] == x[3] for x in times)  # no tensor-parallel all-reduce either
    if len(set(times)) == 1 and not moving and comm_free:  # the papers' closed forms
        flush = costs.pipeline_flush_time(name, p, m, times[0][2], v)
        bubble = costs.bubble_fraction(name, p, m, v)
        over_ideal = costs.bubble_over_ideal_fraction(name, p, m, v)
    else:
        flush = costs.unbalanced_flush_time(
            name, forward, backward, m, v, transfers if moving else None
        )
        busy = m * sum(x[3] for x in times)
        bubble = (p * flush - busy) / (p * flush) if flush > 0 else 0.0
        over_ideal = (p * flush - busy) / busy if busy > 0 else 0.0
    sync = 0.0
    if params.replicas > 1:
        sync = max(
            allreduce_time(
                cluster,
                [g[0] for g in layout.groups[d]],
                sum(s.param_bytes for s in layout.stages if s.index % p == d) / t,
                params.allreduce_algorithm,
            )
            for d in range(p)
        )
    time = flush + sync
    return {
        "time_per_minibatch_s": time,
        "throughput_samples_per_s": m * params.replicas * layout.microbatch / time,
        "bubble_fraction": bubble,
        "bubble_over_ideal_fraction": over_ideal,
        "weight_versions": 1,
    }


def analytic(plan: PipelinePlan) -> dict[str, Any]:
    """Closed forms: bubble, time per minibatch, throughput, memory, versions, traffic."""
    params, layout = plan.params, plan.layout
    asynchronous = params.schedule == "pipedream"
    out = _pipedream_analytic(plan) if asynchronous else _flush_analytic(plan)
    peaks = _peak_activations(params, layout)
    m, replicas = params.microbatches, params.replicas
    boundary = [2.0 * s.out_bytes * m * replicas for s in layout.stages[:-1]]
    out.update(
        {
            "peak_activation_memory_bytes": max(peaks),
            "peak_activation_memory_bytes_per_stage": peaks,
            "bytes_between_stages": sum(boundary),
            "bytes_between_stages_per_boundary": boundary,
        }
    )
    return out


def analytic_notes(plan: PipelinePlan) -> dict[str, AnalyticNote]:
    """What the analytic column rests on, for the table: the flush's flow shop or PipeDream's
    steady state, what each assumes, and the effect the simulation adds."""
    params, layout = plan.params, plan.layout
    if params.schedule == "pipedream":
        if layout.steady is None:
            dp = AnalyticNote(
                "one stage: the data_parallel kind's prediction (all-reduce overlapping the "
                "backward pass)",
                departs="contention",
            )
            return {"time_per_minibatch_s": dp, "throughput_samples_per_s": dp}
        steady = layout.steady
        assumes = (
            "each link direction carries every flow routed over it, spread over the period; a "
            "replicated stage's rounds are timed by playing the plan's op lists on a max-min "
            "fair fluid of its links until the run has settled (sync_round: a second, smaller "
            "engine, its resolution 1e-4), and the run is measured from where it settled "
            "(microbatches_simulated; sync_round_s_per_stage, sync_wait_fraction_per_stage)"
        )
        period = (
            "b / period, period = max(compute/r, sync/r, link loads, channels, in-flight "
            "window, timed sync rounds/r) [Narayanan et al. SOSP 2019 §3.1-3.2]: here "
            f"{steady.bottleneck}"
        )
        # with a replicated stage the prediction is the timed model's run: contention is in
        # both, and what is left between them is two engines' windows on a settled run
        departs = "two engines" if any(steady.sync_s) else "contention"
        return {
            "throughput_samples_per_s": AnalyticNote(period, assumes, departs),
            "time_per_minibatch_s": AnalyticNote(
                "M·b / throughput (the analytic one)", assumes, departs
            ),
            "bubble_fraction": AnalyticNote(
                "1 - Σ_d c_d / (devices · period): the stages waiting for the bottleneck",
                assumes,
                departs,
            ),
        }
    if params.schedule in ("naive", "gpipe"):
        flush = (
            "a flow shop of the stages and of the activation and gradient transfers between "
            "them, Σp + (M-1)·max p forward and again backward [Huang et al. NeurIPS 2019 Fig. "
            "2c; Pinedo, Scheduling §6.1]"
            if params.schedule == "gpipe"
            else "M·(Σ_d t_d + Σ_u x_u): one micro-batch at a time, transfers included"
        )
        assumes = (
            "a boundary's flows (every replica and tensor-parallel rank, in step) priced "
            "together at their max-min shares; no two boundaries, and no gradient all-reduce, "
            "sharing a link; the gradient all-reduce after the flush priced alone"
        )
    else:
        flush = (
            "Σ_d t_d + (M-1)·max t [Narayanan et al. SC 2021 §2.2.1]"
            if params.schedule == "1f1b"
            else "(M + (p-1)/v)·max t [Narayanan et al. SC 2021 §2.2.2]"
        )
        assumes = "free communication between the stages; the gradient all-reduce priced alone"
    departs = "contention" if params.schedule in ("naive", "gpipe") else "transfers"
    return {
        "time_per_minibatch_s": AnalyticNote(
            f"flush + gradient sync, flush = {flush}", assumes, departs
        ),
        "bubble_fraction": AnalyticNote(
            "1 - M·Σ_d c_d / (p·flush), c_d a position's compute", assumes, departs
        ),
    }


# ------------------------------------------------------------------------------------ estimate
_OP_EVENTS = 3
"""Events of one compute op: the stream request, the timeout, the process resuming."""
_TRANSFER_EVENTS = 4
"""Events of one activation or gradient transfer: the channel's flow start and end, the
arrival event, the waiting worker resuming."""
_REPLAY_WIDTH = 8
"""Hidden width of the verify MLP (:class:`~.kernels.PipelineReplay`)."""


def _allreduce_events(n: int) -> int:
    """Events of one all-reduce over ``n`` ranks: the collectives kind's own estimate (at most
    ``2n + c + 2⌈lg n⌉`` steps of about three events, ``c = n`` chunks for the ring)."""
    if n < 2:
        return 0
    return 3 * (3 * n + 2 * (n - 1).bit_length()) + 10


def _layout_events(params: PipelineParams, layout: Layout) -> int:
    """SimPy events of one simulated layout (:func:`~clustersim.training.pipeline.process.
    run_layout`, or the data-parallel kind's run of a one-stage PipeDream plan)."""
    if layout.data_parallel is not None:
        return data_parallel.estimate(layout.data_parallel).events
    n_mb = microbatches_simulated(layout, params)
    p, v, t = layout.p, layout.v, layout.t
    passes = 3 if params.recompute else 2
    layers = max(len(range(*s.layers)) for s in layout.stages)
    tp = t > 1 and params.tensor_parallel_allreduces > 0
    # each micro-batch visits every virtual stage once, on one replica's t ranks
    ops_per_pass = layers if tp else 1
    compute = n_mb * p * v * t * passes * ops_per_pass * _OP_EVENTS
    tp_events = 0
    if tp:  # one all-reduce per layer and pass of each micro-batch, shared by the t ranks
        # a small all-reduce inside a node: the ring's 2(t-1) steps of about two events, and
        # each rank's arrival at the rendezvous (measured: 7.4 events per all-reduce, layer op
        # included, in scenarios/pipeline_3d_parallel.yaml)
        per_pass = layers * params.tensor_parallel_allreduces * (4 * (t - 1) + t)
        tp_events = n_mb * p * v * passes * per_pass
    transfers = n_mb * (p * v - 1) * 2 * t * _TRANSFER_EVENTS
    sync = 0
    for d in range(p):
        r = layout.replicas[d] if len(layout.replicas) > d else len(layout.groups[d])
        if r < 2:
            continue
        # flush: one all-reduce per position and tp rank; PipeDream: one per round, and a
        # replica does n_mb / r backwards of its position
        syncs = 1 if layout.mode == "flush" else max(1, n_mb // r)
        sync += syncs * t * (_allreduce_events(r) + r)
    return compute + tp_events + transfers + sync + 10 * len(layout.placement)


def _replay_bytes(params: PipelineParams, layout: Layout) -> float:
    """Bytes the verify MLP holds: each micro-batch's stage inputs, input gradients and saved
    activations (width 8, float64), and the weight versions PipeDream stashes."""
    if not params.verify:
        return 0.0
    n_mb = microbatches_simulated(layout, params)
    stages = layout.p * layout.v
    width = _REPLAY_WIDTH
    samples = n_mb * layout.microbatch
    activations = 3.0 * samples * width * (2 * stages + 1)
    weights = 2 * stages * (width * width + width)
    versions = n_mb if layout.mode == "async" else 2
    return 8.0 * (activations + versions * weights + samples * width)


def simulated_events(plan: PipelinePlan) -> int:
    """SimPy events of the run: the layout's and its PipeDream baselines' (see :func:`estimate`)."""
    params, layout = plan.params, plan.layout
    events = _layout_events(params, layout)
    for _, other in plan.baselines:
        if not _same(other, layout):
            events += _layout_events(params, other)
    return int(events)


def estimate(plan: PipelinePlan) -> Work:
    """Events and replay memory before the run, within a small factor.

    Every micro-batch streamed (one minibatch per replica, or PipeDream's measuring window)
    runs a forward and a backward (and a recompute) op on each of the ``p·v`` virtual stages on
    each of its ``t`` ranks, about three events each (per layer with tensor-parallel
    all-reduces, plus the all-reduce's steps); each stage boundary carries an activation and a
    gradient per micro-batch and rank, about four events each; replicated positions all-reduce
    their gradients once (flush) or once per round (PipeDream). A PipeDream comparison adds its
    baselines' runs (data parallelism by the ``data_parallel`` kind's own estimate). Memory:
    the ``verify`` MLP's replay (:func:`_replay_bytes`); the timing model holds no arrays.
    """
    return Work(
        simulated_events(plan),
        _replay_bytes(plan.params, plan.layout),
        knob="workload.microbatches (or workload.replicas, workload.stages)",
        memory_knob="workload.microbatches",
    )


def _details() -> list[str]:
    return [
        "schedules: " + ", ".join(SCHEDULES),
        "gpipe bubble (K-1)/(M+K-1) [Huang et al. NeurIPS 2019 §2.3]",
        "1f1b bubble (p-1)/m of ideal time; interleaved (p-1)/(v·m) [Narayanan et al. SC 2021 "
        "§2.2]",
        "flush of the stages given: gpipe a flow shop of the stages and the transfers between "
        "them, Σp+(M-1)max p forward and again backward [Pinedo, Scheduling §6.1]; naive "
        "M·(Σt+Σx); 1f1b Σt+(M-1)max t (transfers left out)",
        "pipedream: period = max(compute/r, sync/r, link loads, channels, in-flight window, "
        "replicated stages' rounds timed on a fluid of the links until the run settles), the "
        "runtime overlapping transfers [Narayanan et al. SOSP 2019 §3.1-3.2]; planner: branch "
        "and bound over that model",
    ]


KIND = WorkloadKind(
    name="pipeline",
    description="pipeline-parallel training (naive, gpipe, 1f1b, interleaved_1f1b, pipedream)",
    params=PipelineParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
    analytic_notes=analytic_notes,
)
