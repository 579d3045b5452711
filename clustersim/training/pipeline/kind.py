"""The ``pipeline`` workload kind: pipeline-parallel training, timed, costed and verified.

A minibatch of ``batch`` samples per pipeline replica is cut into ``microbatches`` (M)
micro-batches that flow through ``stages`` (K) devices under a ``schedule``; ``replicas``
pipelines run side by side on different data and all-reduce their gradients, and each stage
may itself be split ``tensor_parallel`` ways. ``partition`` decides which layers go to which
stage: ``even`` (equal layer counts), ``balanced`` (the contiguous split minimising the slowest
stage), an explicit list of layer counts, or ``planner`` (PipeDream's optimizer, which also
picks the replication of each stage; schedule ``pipedream``).

``prepare`` resolves the :class:`~clustersim.training.pipeline.layout.Layout` once (the planner
runs there) and, for the planner, the layouts it is compared with; ``simulate`` runs them
(:func:`~clustersim.training.pipeline.process.run_layout`, the comparisons on fresh clusters)
and ``analytic`` prices the same layouts with the closed forms of
:mod:`~clustersim.training.pipeline.costs` and PipeDream's cost model.

Activations and their gradients cross the FlowNetwork between stages; with tensor parallelism
each rank sends its 1/t slice (the point-to-point half of Megatron-LM's scatter/gather
optimisation, Narayanan et al. SC 2021 §4.1; the intra-node all-gather after it is not
modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clustersim.collectives.allreduce import allreduce_time
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind
from clustersim.training.pipeline import costs
from clustersim.training.pipeline.layout import (
    Layout,
    baselines,
    check_op_count,
    layer_times,
    resolve_layout,
)
from clustersim.training.pipeline.params import PipelineParams
from clustersim.training.pipeline.planner import ClusterCosts, notation, pipedream_time
from clustersim.training.pipeline.process import run_layout
from clustersim.training.pipeline.schedules import SCHEDULES, pipedream_warmup

__all__ = ["KIND", "PipelineParams", "PipelinePlan", "analytic", "prepare", "simulate"]


@dataclass(frozen=True)
class PipelinePlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        layout: the layout to simulate (the planner's choice with partition ``planner``).
        baselines: ``(name, layout)`` of what the planner's choice is compared with
            (partition ``planner`` with ``compare``; otherwise empty).
    """

    cluster: Cluster
    params: PipelineParams
    layout: Layout
    baselines: tuple[tuple[str, Layout], ...] = ()


def prepare(cluster: Cluster, params: PipelineParams) -> PipelinePlan:
    """Resolve the layout (and the planner's baselines); InputError if one cannot run."""
    layout = resolve_layout(cluster, params)
    compared: tuple[tuple[str, Layout], ...] = ()
    if params.partition == "planner" and params.compare:
        compared = tuple(baselines(cluster, params, layout))
    check_op_count(layout, params)
    for _, other in compared:
        check_op_count(other, params)
    return PipelinePlan(cluster, params, layout, compared)


def _same(a: Layout, b: Layout) -> bool:
    """Whether two layouts split the same layers over the same replica counts."""
    return (a.counts, a.replicas) == (b.counts, b.replicas)


def simulate(plan: PipelinePlan) -> Outcome:
    """Run the pipeline and measure it; with the planner, also its baselines on fresh clusters."""
    params, layout = plan.params, plan.layout
    outcome = run_layout(plan.cluster, params, layout, verify=params.verify)
    metrics = outcome.metrics
    for name, other in plan.baselines:
        if _same(other, layout):  # the plan is this baseline (e.g. "16" is data parallelism)
            measured = outcome.metrics
        else:
            measured = run_layout(plan.cluster.fresh(), params, other, verify=False).metrics
        tput = measured["throughput_samples_per_s"]
        metrics[f"{name}_throughput_samples_per_s"] = tput
        metrics[f"speedup_over_{name}_ratio"] = metrics["throughput_samples_per_s"] / tput
        metrics[f"{name}_plan"] = measured["plan"]
    return outcome


# ------------------------------------------------------------------------------------ analytic
def _pipedream_prediction(cluster: Cluster, params: PipelineParams, layout: Layout) -> float:
    """PipeDream's cost model (as the planner prices it) on ``layout``: seconds per micro-batch."""
    return pipedream_time(
        layer_times(
            cluster, layout.placement[0], layout.profile, layout.microbatch, params.recompute
        ),
        layout.counts,
        layout.replicas,
        [spec.param_bytes for spec in layout.stages],
        [spec.input_bytes for spec in layout.stages],
        ClusterCosts(cluster, layout.placement, params.allreduce_algorithm),
    )


def _peak_activations(params: PipelineParams, layout: Layout) -> list[float]:
    """Per pipeline position: the closed-form peak activation bytes of one of its devices."""
    p, t = layout.p, layout.t
    warm = pipedream_warmup(layout.replicas)
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
    """PipeDream: the planner's cost model of the layout and of its baselines."""
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    m, p, b = params.microbatches, layout.p, layout.microbatch
    per_mb = _pipedream_prediction(cluster, params, layout)
    samples = m * params.replicas * b
    # no flush, so no fill-and-drain bubble; what idles is the faster stages waiting for
    # the slowest: 1 - (compute of one micro-batch on every stage) / (devices x period)
    times = layer_times(cluster, layout.placement[0], layout.profile, b, params.recompute)
    work = sum(times) * layout.t
    out: dict[str, Any] = {
        "time_per_minibatch_s": per_mb * m * params.replicas,
        "throughput_samples_per_s": samples / (per_mb * m * params.replicas),
        "bubble_fraction": max(0.0, 1.0 - work / (len(layout.placement) * per_mb)),
    }
    if all(r == 1 for r in layout.replicas):
        versions = [costs.pipedream_weight_versions(p, d) for d in range(p)]
        out.update({"weight_versions": max(versions), "weight_versions_per_stage": versions})
    if layout.plan_time is not None:
        out["plan"] = notation(layout.replicas)
    for name, other in plan.baselines:
        out[f"{name}_throughput_samples_per_s"] = b / _pipedream_prediction(cluster, params, other)
    return out


def _position_time(plan: PipelinePlan, d: int) -> float:
    """Seconds of one micro-batch on position ``d``: every pass of its chunks, split ``t`` ways,
    plus the tensor-parallel all-reduces of each layer's output."""
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    p, t = layout.p, layout.t
    dev = cluster.devices[layout.groups[d][0][0]]
    tp_ranks = layout.groups[d][0]
    total = 0.0
    for spec in (s for s in layout.stages if s.index % p == d):
        passes = [(spec.fwd_flops, spec.fwd_bytes), (spec.bwd_flops, spec.bwd_bytes)]
        if params.recompute:
            passes.append((spec.fwd_flops, spec.fwd_bytes))
        for flops, nbytes in passes:
            total += sum(dev.compute_time(f / t, x / t) for f, x in zip(flops, nbytes, strict=True))
            if t > 1:
                total += params.tensor_parallel_allreduces * sum(
                    allreduce_time(cluster, tp_ranks, a, params.allreduce_algorithm)
                    for a in spec.act_bytes
                )
    return total


def _flush_analytic(plan: PipelinePlan) -> dict[str, Any]:
    """Synchronous schedules: the flush time of the slowest position, then the gradient sync."""
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    m, p, v, t = params.microbatches, layout.p, layout.v, layout.t
    name = params.schedule
    slowest = max(_position_time(plan, d) for d in range(p))
    flush = costs.pipeline_flush_time(name, p, m, slowest, v)
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
        "bubble_fraction": costs.bubble_fraction(name, p, m, v),
        "bubble_over_ideal_fraction": costs.bubble_over_ideal_fraction(name, p, m, v),
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


def _details() -> list[str]:
    return [
        "schedules: " + ", ".join(SCHEDULES),
        "gpipe bubble (K-1)/(M+K-1) [Huang et al. NeurIPS 2019 §2.3]",
        "1f1b bubble (p-1)/m of ideal time; interleaved (p-1)/(v·m) [Narayanan et al. SC 2021 "
        "§2.2]",
        "planner: PipeDream DP max(compute, sync)/m with replication [Narayanan et al. SOSP 2019 "
        "§3.1]",
    ]


KIND = WorkloadKind(
    name="pipeline",
    description="pipeline-parallel training (naive, gpipe, 1f1b, interleaved_1f1b, pipedream)",
    params=PipelineParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
)
