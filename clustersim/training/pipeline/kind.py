"""The ``pipeline`` workload kind: pipeline-parallel training, timed, costed and verified.

A minibatch of ``batch`` samples per pipeline replica is cut into ``microbatches`` (M)
micro-batches that flow through ``stages`` (K) devices under a ``schedule``; ``replicas``
pipelines run side by side on different data and all-reduce their gradients, and each stage
may itself be split ``tensor_parallel`` ways. ``partition`` decides which layers go to which
stage: ``even`` (equal layer counts), ``balanced`` (the contiguous split minimising the slowest
stage), an explicit list of layer counts, or ``planner`` (PipeDream's optimizer, which also
picks the replication of each stage; schedule ``pipedream``).

Placement: devices are taken in ``devices`` order (default: the cluster's rank order) with the
tensor-parallel rank varying fastest, then the replica, then the pipeline position (Megatron-
LM's order, which keeps tensor-parallel groups inside a machine on a two_level cluster).

Forward and backward times are per-layer rooflines on each stage's device (backward FLOPs 2x
forward unless the profile says otherwise; memory traffic estimated as parameters plus input
and output activations, doubled for the backward). Activations and their gradients cross the
FlowNetwork between stages; with tensor parallelism each rank sends its 1/t slice (the
point-to-point half of Megatron-LM's scatter/gather optimisation, Narayanan et al. SC 2021
§4.1; the intra-node all-gather after it is not modelled).

Synchronous schedules are timed over one minibatch, from the first forward to the end of the
gradient all-reduce. PipeDream has no flush, so it is timed in steady state: several minibatches
stream through and the throughput is measured over one minibatch in the middle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.collectives.allreduce import allreduce_algorithm, allreduce_time
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind
from clustersim.training.pipeline import costs
from clustersim.training.pipeline.kernels import PipelineReplay
from clustersim.training.pipeline.planner import (
    ClusterCosts,
    balanced_partition,
    even_partition,
    notation,
    plan_pipedream,
    stage_time,
)
from clustersim.training.pipeline.process import PipelineRun, StageSpec
from clustersim.training.pipeline.schedules import (
    SCHEDULES,
    Op,
    pipedream,
    pipedream_warmup,
    schedule,
)
from clustersim.training.profile_schema import ProfileModel, build_profile
from clustersim.training.profiles import ModelProfile

__all__ = ["PipelineParams", "analytic", "simulate"]

_MAX_OPS = 2_000_000
"""Largest number of compute ops a run may schedule (guards against runaway sweeps)."""


class PipelineParams(BaseModel):
    """Parameters of ``kind: pipeline``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["pipeline"] = "pipeline"
    profile: ProfileModel = Field(description="the layers: list, generator or builtin")
    stages: int | None = Field(None, description="pipeline devices K (not with partition: planner)")
    partition: Literal["even", "balanced", "planner"] | list[int] = Field(
        "even", description="even | balanced | planner | explicit layer counts per stage"
    )
    microbatches: int = Field(description="micro-batches M per minibatch")
    batch: int | None = Field(
        None,
        description="samples per minibatch per pipeline replica "
        "(default: M, one sample per micro-batch)",
    )
    schedule: Literal["naive", "gpipe", "1f1b", "interleaved_1f1b", "pipedream"] = "1f1b"
    chunks: int = Field(1, description="model chunks v per device (interleaved_1f1b)")
    recompute: bool = Field(False, description="keep only stage inputs, recompute before backward")
    replicas: int = Field(1, description="data-parallel pipeline replicas")
    tensor_parallel: int = Field(1, description="tensor-parallel degree t of every stage")
    tensor_parallel_allreduces: int = Field(
        2,
        description="all-reduces per layer in forward and again in backward when t > 1 "
        "(2 for a transformer block, Shoeybi et al. 2019)",
    )
    allreduce_algorithm: str = Field("ring", description="all-reduce for gradients and TP")
    devices: list[str] | None = Field(None, description="placement order (default: ranks)")
    verify: bool = Field(False, description="replay a numpy MLP through the schedule")
    weight_stashing: bool = Field(
        True, description="PipeDream weight stashing (false: the negative control)"
    )
    compare: bool = Field(
        True, description="with partition planner: also simulate data parallelism and an even split"
    )

    @field_validator("microbatches", "chunks", "replicas", "tensor_parallel")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise InputError(f"must be a positive integer, got {value!r}")
        return value

    @field_validator("stages", "batch")
    @classmethod
    def _positive_or_none(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise InputError(f"must be a positive integer, got {value!r}")
        return value

    @field_validator("tensor_parallel_allreduces")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise InputError(f"must be a non-negative integer, got {value!r}")
        return value

    @field_validator("allreduce_algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        allreduce_algorithm(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PipelineParams:
        m, sched = self.microbatches, self.schedule
        batch = self.batch if self.batch is not None else m
        if batch % m:
            raise InputError(
                f"batch {batch} must be a multiple of microbatches {m} (each "
                "micro-batch holds batch/microbatches samples)"
            )
        if self.partition == "planner":
            if sched != "pipedream":
                raise InputError(
                    f"partition planner needs schedule pipedream (PipeDream's "
                    f"planner plans its asynchronous runtime), got {sched!r}"
                )
            if self.stages is not None or self.replicas != 1 or self.tensor_parallel != 1:
                raise InputError(
                    "partition planner chooses the stages and their replication "
                    "itself; leave stages unset and replicas and tensor_parallel "
                    "at 1"
                )
        else:
            if isinstance(self.partition, list):
                if not self.partition or any(c < 1 for c in self.partition):
                    raise InputError(
                        f"partition must list a positive layer count per stage, "
                        f"got {self.partition}"
                    )
                if self.stages is not None and self.stages * self.chunks != len(self.partition):
                    raise InputError(
                        f"partition lists {len(self.partition)} stages but stages "
                        f"x chunks is {self.stages * self.chunks}"
                    )
            elif self.stages is None:
                raise InputError(f"stages is required with partition {self.partition!r}")
        if sched != "interleaved_1f1b" and self.chunks != 1:
            raise InputError(f"chunks {self.chunks} needs schedule interleaved_1f1b, got {sched!r}")
        if sched == "interleaved_1f1b":
            p = self.stages if self.stages is not None else len(self.partition) // self.chunks
            if m % p:
                raise InputError(
                    f"interleaved_1f1b needs microbatches ({m}) to be a multiple "
                    f"of stages ({p}), as Megatron-LM requires"
                )
        if sched != "pipedream" and not self.weight_stashing:
            raise InputError("weight_stashing: false only applies to schedule pipedream")
        return self


# ------------------------------------------------------------------------------------- build
@dataclass
class _Layout:
    """Everything a run needs, resolved from the params and the cluster."""

    profile: ModelProfile
    counts: list[int]
    p: int
    v: int
    replicas: list[int]
    t: int
    microbatch: int
    stages: list[StageSpec]
    groups: list[list[list[str]]]
    placement: list[str]
    mode: str
    plan_time: float | None = None


def _stage_specs(profile: ModelProfile, counts: list[int], b: int) -> list[StageSpec]:
    specs, start = [], 0
    layers = profile.layers
    for index, count in enumerate(counts):
        chunk = layers[start : start + count]
        in_act = profile.input_bytes if start == 0 else layers[start - 1].activation
        ins = [in_act] + [layer.activation for layer in chunk[:-1]]
        fwd_bytes = tuple(
            layer.params + b * (i + layer.activation) for layer, i in zip(chunk, ins, strict=True)
        )
        specs.append(
            StageSpec(
                index=index,
                layers=(start, start + count),
                fwd_flops=tuple(b * layer.flops for layer in chunk),
                bwd_flops=tuple(b * layer.bwd_flops for layer in chunk),
                fwd_bytes=fwd_bytes,
                bwd_bytes=tuple(2.0 * x for x in fwd_bytes),
                act_bytes=tuple(b * layer.activation for layer in chunk),
                stash_bytes=b * (in_act + sum(layer.stash_bytes for layer in chunk)),
                input_bytes=b * in_act,
                param_bytes=sum(layer.params for layer in chunk),
            )
        )
        start += count
    return specs


def _placement(cluster: Cluster, params: PipelineParams, needed: int) -> list[str]:
    devices = params.devices if params.devices is not None else cluster.ranks
    for name in devices:
        if name not in cluster.devices:
            raise InputError(
                f"workload.devices: {name!r} is not a device of the cluster; "
                f"devices are {', '.join(cluster.ranks[:12])}"
            )
    if len(set(devices)) != len(devices):
        raise InputError("workload.devices: a device is listed twice")
    if needed > len(devices):
        raise InputError(
            f"the pipeline needs {needed} devices (stages x replicas x tensor_parallel) but "
            f"{'workload.devices lists' if params.devices else 'the cluster has'} "
            f"{len(devices)}"
        )
    return list(devices)


def _layer_compute_times(
    cluster: Cluster, device: str, profile: ModelProfile, b: int, recompute: bool
) -> list[float]:
    """Per layer: forward + backward (+ recompute) seconds of one micro-batch on ``device``."""
    dev = cluster.devices[device]
    spec = _stage_specs(profile, [1] * len(profile), b)
    out = []
    for s in spec:
        f = dev.compute_time(s.fwd_flops[0], s.fwd_bytes[0])
        out.append(f * (2 if recompute else 1) + dev.compute_time(s.bwd_flops[0], s.bwd_bytes[0]))
    return out


_LAST: list[tuple[Cluster, str, _Layout]] = []
"""The last layout resolved, with its cluster and params, so that ``analytic`` reuses the one
``simulate`` planned (the planner is the expensive part)."""


def _resolve(cluster: Cluster, params: PipelineParams) -> _Layout:
    key = params.model_dump_json()
    if _LAST and _LAST[0][0] is cluster and _LAST[0][1] == key:
        return _LAST[0][2]
    layout = _resolve_uncached(cluster, params)
    _LAST[:] = [(cluster, key, layout)]
    return layout


def _resolve_uncached(cluster: Cluster, params: PipelineParams) -> _Layout:
    profile = build_profile(params.profile)
    n_layers = len(profile)
    m = params.microbatches
    b = (params.batch if params.batch is not None else m) // m
    v, t = params.chunks, params.tensor_parallel
    algorithm = params.allreduce_algorithm
    plan_time = None
    if params.partition == "planner":
        devices = _placement(cluster, params, 1)
        times = _layer_compute_times(cluster, devices[0], profile, b, params.recompute)
        cc = ClusterCosts(cluster, devices, algorithm)
        plan = plan_pipedream(
            times,
            [b * layer.activation for layer in profile.layers],
            [layer.params for layer in profile.layers],
            cc,
        )
        counts, replicas = list(plan.counts), list(plan.replicas)
        p, plan_time = len(counts), plan.time_per_microbatch_s
    else:
        if isinstance(params.partition, list):
            counts = list(params.partition)
            if sum(counts) != n_layers:
                raise InputError(
                    f"workload.partition: the layer counts {counts} sum to "
                    f"{sum(counts)} but the profile has {n_layers} layers"
                )
            p = len(counts) // v
        else:
            p = params.stages  # type: ignore[assignment]
            if p * v > n_layers:
                raise InputError(
                    f"workload.stages: {p} stages x {v} chunks need at least "
                    f"{p * v} layers but the profile has {n_layers}"
                )
            if params.partition == "even":
                counts = even_partition(n_layers, p * v)
            else:
                devices = _placement(cluster, params, 1)
                times = _layer_compute_times(cluster, devices[0], profile, b, params.recompute)
                counts = balanced_partition(times, p * v)
        replicas = [params.replicas] * p
    needed = t * sum(replicas)
    placement = _placement(cluster, params, needed)
    groups: list[list[list[str]]] = []
    offset = 0
    for d in range(p):
        groups.append(
            [placement[offset + r * t : offset + (r + 1) * t] for r in range(replicas[d])]
        )
        offset += replicas[d] * t
    mode = "async" if params.schedule == "pipedream" else "flush"
    return _Layout(
        profile,
        counts,
        p,
        v,
        replicas,
        t,
        b,
        _stage_specs(profile, counts, b),
        groups,
        placement[:needed],
        mode,
        plan_time,
    )


def _pipedream_window(layout: _Layout, m: int, replicas: int) -> tuple[int, int, int]:
    """(warm-up, measured, trailing) micro-batches of a steady-state PipeDream run.

    The measured window is a multiple of every stage's replica count (at least one minibatch
    of ``m x replicas`` micro-batches), so that its first and last micro-batch went through the
    same replica of every stage: the time between their completions is a whole number of
    round-robin cycles, with no bias from replicas finishing in bursts.
    """
    per_minibatch = m * replicas
    cycle = math.lcm(*layout.replicas)
    window = cycle * math.ceil(per_minibatch / cycle)
    # fill the pipeline, and let the background gradient syncs (one per round, a replica at
    # most two rounds ahead of them) reach their steady backlog: from the third round on
    warm = max(sum(layout.replicas) + 3 * max(layout.replicas), per_minibatch)
    return warm, window, max(sum(layout.replicas), per_minibatch)


# ------------------------------------------------------------------------------------ simulate
def _window_busy(intervals: list[tuple[float, float]], t0: float, t1: float) -> float:
    return sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in intervals)


def _run(cluster: Cluster, params: PipelineParams, layout: _Layout) -> dict[str, Any]:
    """Simulate ``layout`` on ``cluster``; return metrics and checks."""
    m = params.microbatches
    p, v, b = layout.p, layout.v, layout.microbatch
    algorithm = params.allreduce_algorithm
    if layout.mode == "flush":
        r_count = params.replicas
        total = m * r_count
        base = schedule(params.schedule, p, m, v)
        ops = [
            [
                [Op(op.kind, op.microbatch + r * m, op.stage) for op in base[d]]
                for r in range(r_count)
            ]
            for d in range(p)
        ]

        def route(d: int, mb: int) -> int:
            return mb // m

        per_minibatch = total
    else:
        warm, window, tail = _pipedream_window(layout, m, params.replicas)
        per_minibatch = m * params.replicas
        total = warm + window + tail
        ops = pipedream(layout.replicas, total)
        reps = layout.replicas

        def route(d: int, mb: int) -> int:
            return mb % reps[d]

    n_ops = sum(len(o) for pos in ops for o in pos) * layout.t
    if n_ops > _MAX_OPS:
        raise InputError(
            f"the run would execute {n_ops} compute ops, over the limit of "
            f"{_MAX_OPS}; use fewer microbatches, stages or replicas"
        )
    replay = None
    if params.verify:
        stage_replicas = [layout.replicas[s % p] for s in range(p * v)]
        replay = PipelineReplay(
            p * v,
            stage_replicas,
            b,
            total,
            mode=layout.mode,
            recompute=params.recompute,
            stashing=params.weight_stashing,
            rng=cluster.sim.rng("pipeline.replay"),
        )
    run = PipelineRun(
        cluster,
        layout.stages,
        layout.groups,
        ops,
        route,
        total,
        mode=layout.mode,
        recompute=params.recompute,
        tp_allreduces=params.tensor_parallel_allreduces,
        algorithm=algorithm,
        replay=replay,
    )
    run.start()
    sim = cluster.sim
    sim.run()
    end = sim.now
    workers = run.workers
    samples_per_minibatch = per_minibatch * b
    by_position: list[list[Any]] = [[w for w in workers if w.position == d] for d in range(p)]
    if layout.mode == "flush":
        t0, t1 = 0.0, max(w.last_op_end for w in workers)
        time_per_minibatch = end
        throughput = samples_per_minibatch / end
    else:
        done = run.completions
        t0, t1 = done[warm - 1], done[warm + window - 1]
        throughput = window * b / (t1 - t0)
        time_per_minibatch = samples_per_minibatch / throughput
    span = t1 - t0
    busy = {id(w): _window_busy(w.intervals, t0, t1) for w in workers}
    bubble_per_stage = [
        max(0.0, 1.0 - sum(busy[id(w)] for w in ws) / (len(ws) * span)) for ws in by_position
    ]
    total_busy = sum(busy.values())
    bubble = max(0.0, 1.0 - total_busy / (len(workers) * span))
    peaks = [max(run.peak.get(w.device, 0.0) for w in ws) for ws in by_position]
    versions = [max(w.weight_versions for w in ws if w.tp_rank == 0) for ws in by_position]
    stage_compute = [
        sum(
            sum(
                cluster.devices[ws[0].device].compute_time(f / layout.t, nb / layout.t)
                for f, nb in zip(
                    spec.fwd_flops + spec.bwd_flops, spec.fwd_bytes + spec.bwd_bytes, strict=True
                )
            )
            + (
                sum(
                    cluster.devices[ws[0].device].compute_time(f / layout.t, nb / layout.t)
                    for f, nb in zip(spec.fwd_flops, spec.fwd_bytes, strict=True)
                )
                if params.recompute
                else 0.0
            )
            for spec in layout.stages
            if spec.index % p == d
        )
        for d, ws in enumerate(by_position)
    ]
    boundary = [
        2.0 * layout.stages[s].out_bytes * per_minibatch for s in range(len(layout.stages) - 1)
    ]
    n = len(workers)
    metrics: dict[str, Any] = {
        "time_per_minibatch_s": time_per_minibatch,
        "throughput_samples_per_s": throughput,
        "bubble_fraction": bubble,
        "bubble_fraction_per_stage": bubble_per_stage,
        "bubble_over_ideal_fraction": max(0.0, (span * n - total_busy) / total_busy),
        "peak_activation_memory_bytes": max(peaks),
        "peak_activation_memory_bytes_per_stage": peaks,
        "weight_versions": max(versions),
        "weight_versions_per_stage": versions,
        "bytes_between_stages": sum(boundary),
        "bytes_between_stages_per_boundary": boundary,
        "stage_compute_time_s": stage_compute,
        **cluster.standard_metrics(),
    }
    if layout.mode == "flush":
        metrics.update(
            {
                "compute_time_fraction": sum(w.busy_s for w in workers) / (n * end),
                "tensor_parallel_comm_time_fraction": sum(w.tensor_parallel_s for w in workers)
                / (n * end),
                "data_parallel_sync_time_fraction": sum(w.data_parallel_s for w in workers)
                / (n * end),
            }
        )
        metrics["idle_time_fraction"] = 1.0 - (
            metrics["compute_time_fraction"]
            + metrics["tensor_parallel_comm_time_fraction"]
            + metrics["data_parallel_sync_time_fraction"]
        )
    metrics.update(
        {
            "plan": notation(layout.replicas)
            if layout.mode == "async"
            else f"{p}x{params.replicas}x{layout.t}",
            "layers_per_stage": layout.counts,
            "microbatch_samples": b,
            "devices_used": len(layout.placement),
            "microbatches_simulated": total,
            "sim_events": sim.events_processed,
        }
    )
    checks: dict[str, Any] = {}
    if replay is not None:
        checks = (
            replay.check_full_batch(params.replicas)
            if layout.mode == "flush"
            else replay.check_stashing()
        )
    return {"metrics": metrics, "checks": checks}


def _fresh(cluster: Cluster) -> Cluster:
    """A new, idle cluster on the same graph and devices (for the planner's comparisons)."""
    sim = Simulation(cluster.sim.seed)
    devices = cluster.devices
    specs = {name: d.spec for name, d in devices.items()}
    first = next(iter(specs.values()))
    return Cluster(
        sim,
        cluster.graph,
        first,
        specs=specs,
        slowdowns={name: d.slowdown for name, d in devices.items()},
    )


def _baselines(
    cluster: Cluster, params: PipelineParams, layout: _Layout
) -> list[tuple[str, list[int], list[int]]]:
    """(name, layer counts, replicas) of data parallelism and of an even straight split."""
    n_layers, n = len(layout.profile), len(_placement(cluster, params, 1))
    k = min(n_layers, n)
    return [
        ("data_parallel", [n_layers], [n]),
        ("even_split", even_partition(n_layers, k), [n // k] * k),
    ]


def _with_counts(
    layout: _Layout, counts: list[int], replicas: list[int], placement: list[str]
) -> _Layout:
    groups, offset = [], 0
    for r in replicas:
        groups.append([[placement[offset + i]] for i in range(r)])
        offset += r
    return _Layout(
        layout.profile,
        counts,
        len(counts),
        1,
        replicas,
        1,
        layout.microbatch,
        _stage_specs(layout.profile, counts, layout.microbatch),
        groups,
        placement[:offset],
        "async",
    )


def simulate(cluster: Cluster, params: PipelineParams) -> Outcome:
    """Run the pipeline and measure it (see the module docstring)."""
    layout = _resolve(cluster, params)
    out = _run(cluster, params, layout)
    metrics, checks = out["metrics"], out["checks"]
    if params.partition == "planner" and params.compare:
        placement = _placement(cluster, params, 1)
        quiet = params.model_copy(update={"verify": False})
        for name, counts, replicas in _baselines(cluster, params, layout):
            if (counts, replicas) == (layout.counts, layout.replicas):
                other = out  # the plan is this baseline (e.g. "16" is data parallelism)
            else:
                other = _run(
                    _fresh(cluster), quiet, _with_counts(layout, counts, replicas, placement)
                )
            tput = other["metrics"]["throughput_samples_per_s"]
            metrics[f"{name}_throughput_samples_per_s"] = tput
            metrics[f"speedup_over_{name}_ratio"] = metrics["throughput_samples_per_s"] / tput
            metrics[f"{name}_plan"] = other["metrics"]["plan"]
    return Outcome(metrics=metrics, checks=checks)


# ------------------------------------------------------------------------------------ analytic
def _pipedream_prediction(cluster: Cluster, params: PipelineParams, layout: _Layout) -> float:
    """PipeDream's cost model (as the planner prices it) on ``layout``: seconds per micro-batch."""
    cc = ClusterCosts(cluster, layout.placement, params.allreduce_algorithm)
    times = _layer_compute_times(
        cluster, layout.placement[0], layout.profile, layout.microbatch, params.recompute
    )
    worst, first, start = 0.0, 0, 0
    for d, (count, r) in enumerate(zip(layout.counts, layout.replicas, strict=True)):
        stop = start + r
        spec = layout.stages[d]
        sync = cc.sync_time(start, stop, spec.param_bytes)
        worst = max(worst, stage_time(sum(times[first : first + count]), sync, r))
        if d > 0:
            r_prev = layout.replicas[d - 1]
            senders = slice(start - r_prev, start)
            bw = float(cc.bandwidth[senders, start:stop].min())
            lat = float(cc.latency[senders, start:stop].max())
            worst = max(worst, lat + spec.input_bytes / (min(r_prev, r) * bw))
        first, start = first + count, stop
    return worst


def analytic(cluster: Cluster, params: PipelineParams) -> dict[str, Any]:
    """Closed forms: bubble, time per minibatch, throughput, memory, versions, traffic."""
    layout = _resolve(cluster, params)
    m, p, v, t = params.microbatches, layout.p, layout.v, layout.t
    b = layout.microbatch
    schedule_name = params.schedule
    out: dict[str, Any] = {}
    peaks = []
    warm = pipedream_warmup(layout.replicas)
    for d in range(p):
        chunks = [s for s in layout.stages if s.index % p == d]
        full = max(s.stash_bytes for s in chunks) / t
        inputs = max(s.input_bytes for s in chunks) / t
        if schedule_name == "pipedream":  # no flush: every replica keeps warm-up + 1 in flight
            n = warm[d] + 1
            peaks.append(n * inputs + (full - inputs) if params.recompute else n * full)
        else:
            peaks.append(
                costs.peak_activation_memory(
                    schedule_name, p, m, d, full, inputs, params.recompute, v
                )
            )
    boundary = [2.0 * s.out_bytes * m * params.replicas for s in layout.stages[:-1]]
    if schedule_name == "pipedream":
        per_mb = _pipedream_prediction(cluster, params, layout)
        samples = m * params.replicas * b
        # no flush, so no fill-and-drain bubble; what idles is the faster stages waiting for
        # the slowest: 1 - (compute of one micro-batch on every stage) / (devices x period)
        times = _layer_compute_times(
            cluster, layout.placement[0], layout.profile, b, params.recompute
        )
        work = sum(times) * layout.t
        out.update(
            {
                "time_per_minibatch_s": per_mb * m * params.replicas,
                "throughput_samples_per_s": samples / (per_mb * m * params.replicas),
                "bubble_fraction": max(0.0, 1.0 - work / (len(layout.placement) * per_mb)),
            }
        )
        if all(r == 1 for r in layout.replicas):
            versions = [costs.pipedream_weight_versions(p, d) for d in range(p)]
            out.update({"weight_versions": max(versions), "weight_versions_per_stage": versions})
        if layout.plan_time is not None:
            out["plan"] = notation(layout.replicas)
        if params.partition == "planner" and params.compare:
            placement = _placement(cluster, params, 1)
            for name, counts, replicas in _baselines(cluster, params, layout):
                other = _with_counts(layout, counts, replicas, placement)
                out[f"{name}_throughput_samples_per_s"] = b / _pipedream_prediction(
                    cluster, params, other
                )
    else:
        algorithm = params.allreduce_algorithm
        times = []
        for d in range(p):
            dev = cluster.devices[layout.groups[d][0][0]]
            tp_ranks = layout.groups[d][0]
            total = 0.0
            for spec in (s for s in layout.stages if s.index % p == d):
                passes = [(spec.fwd_flops, spec.fwd_bytes), (spec.bwd_flops, spec.bwd_bytes)]
                if params.recompute:
                    passes.append((spec.fwd_flops, spec.fwd_bytes))
                for flops, nbytes in passes:
                    total += sum(
                        dev.compute_time(f / t, x / t) for f, x in zip(flops, nbytes, strict=True)
                    )
                    if t > 1:
                        total += params.tensor_parallel_allreduces * sum(
                            allreduce_time(cluster, tp_ranks, a, algorithm) for a in spec.act_bytes
                        )
            times.append(total)
        flush = costs.pipeline_flush_time(schedule_name, p, m, max(times), v)
        sync = 0.0
        if params.replicas > 1:
            sync = max(
                allreduce_time(
                    cluster,
                    [g[0] for g in layout.groups[d]],
                    sum(s.param_bytes for s in layout.stages if s.index % p == d) / t,
                    algorithm,
                )
                for d in range(p)
            )
        time = flush + sync
        out.update(
            {
                "time_per_minibatch_s": time,
                "throughput_samples_per_s": m * params.replicas * b / time,
                "bubble_fraction": costs.bubble_fraction(schedule_name, p, m, v),
                "bubble_over_ideal_fraction": costs.bubble_over_ideal_fraction(
                    schedule_name, p, m, v
                ),
                "weight_versions": 1,
            }
        )
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


def _prepare(cluster: Cluster, params: Any) -> tuple[Cluster, Any]:  # TRANSITION
    return cluster, params


KIND = WorkloadKind(
    name="pipeline",
    description="pipeline-parallel training (naive, gpipe, 1f1b, interleaved_1f1b, pipedream)",
    params=PipelineParams,
    prepare=_prepare,  # TRANSITION: replaced by the real prepare step
    simulate=lambda plan: simulate(*plan),
    analytic=lambda plan: analytic(*plan),
    details=_details,
)
