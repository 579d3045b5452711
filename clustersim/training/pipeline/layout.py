"""Where a pipeline's layers and devices go: the layout one run simulates and the analytic prices.

A :class:`Layout` is resolved once, in the kind's ``prepare`` step, from the parameters and the
cluster: the built profile, the layers of each stage (``even``, ``balanced``, an explicit list,
or PipeDream's planner), the per-micro-batch work of each stage (:class:`StageSpec`), and the
devices of every (pipeline position, replica, tensor-parallel rank).

Placement: devices are taken in ``devices`` order (default: the cluster's rank order) with the
tensor-parallel rank varying fastest, then the replica, then the pipeline position (Megatron-
LM's order, which keeps tensor-parallel groups inside a machine on a two_level cluster).

Forward and backward times are per-layer rooflines on each stage's device (backward FLOPs 2x
forward unless the profile says otherwise; memory traffic estimated as parameters plus input
and output activations, doubled for the backward).
"""

from __future__ import annotations

from dataclasses import dataclass

from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.validation import rank_list
from clustersim.training.pipeline.params import PipelineParams
from clustersim.training.pipeline.planner import (
    ClusterCosts,
    balanced_partition,
    even_partition,
    plan_pipedream,
)
from clustersim.training.pipeline.schedules import pipedream_window
from clustersim.training.profile_schema import build_profile
from clustersim.training.profiles import ModelProfile

__all__ = [
    "MAX_OPS",
    "Layout",
    "StageSpec",
    "baselines",
    "check_op_count",
    "device_order",
    "layer_times",
    "microbatches_simulated",
    "resolve_layout",
    "stage_specs",
]

MAX_OPS = 2_000_000
"""Largest number of compute ops a run may schedule (guards against runaway sweeps)."""


@dataclass(frozen=True)
class StageSpec:
    """One virtual stage (model chunk), per micro-batch, before any tensor-parallel split.

    Attributes:
        index: position in the model (0 = first chunk).
        layers: ``(first, stop)`` layer indices of the profile.
        fwd_flops, bwd_flops: per layer, FLOP of one micro-batch.
        fwd_bytes, bwd_bytes: per layer, memory traffic of one micro-batch (roofline).
        act_bytes: per layer, the output activation of one micro-batch.
        stash_bytes: bytes of one micro-batch kept for the backward (all layers plus input).
        input_bytes: the stage's input activation for one micro-batch.
        param_bytes: parameter (and gradient) bytes of the stage.
    """

    index: int
    layers: tuple[int, int]
    fwd_flops: tuple[float, ...]
    bwd_flops: tuple[float, ...]
    fwd_bytes: tuple[float, ...]
    bwd_bytes: tuple[float, ...]
    act_bytes: tuple[float, ...]
    stash_bytes: float
    input_bytes: float
    param_bytes: float

    @property
    def out_bytes(self) -> float:
        """Activation sent to the next stage per micro-batch."""
        return self.act_bytes[-1]


@dataclass(frozen=True)
class Layout:
    """One pipeline configuration, resolved from the parameters and the cluster.

    Attributes:
        profile: the model's layers.
        counts: layers per virtual stage, in model order.
        p: pipeline positions (devices along the pipeline).
        v: model chunks per position (interleaved schedules).
        replicas: data-parallel replicas of each position.
        t: tensor-parallel degree of every stage.
        microbatch: samples per micro-batch.
        stages: the virtual stages; stage ``s`` lives on position ``s mod p``.
        groups: ``groups[d][r]``: the ``t`` devices of position ``d``, replica ``r``.
        placement: every device the layout uses, in placement order.
        mode: ``"flush"`` (synchronous schedules) or ``"async"`` (PipeDream).
        plan_time: the planner's predicted seconds per micro-batch (partition ``planner``).
    """

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


def stage_specs(profile: ModelProfile, counts: list[int], b: int) -> list[StageSpec]:
    """The per-micro-batch work of consecutive stages of ``counts`` layers, ``b`` samples each."""
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


def device_order(cluster: Cluster, params: PipelineParams, needed: int) -> list[str]:
    """The devices in placement order (``workload.devices`` or the ranks), at least ``needed``."""
    devices = params.devices if params.devices is not None else cluster.ranks
    rank_list(devices, cluster.devices, "workload.devices", noun="device")
    if needed > len(devices):
        raise InputError(
            f"the pipeline needs {needed} devices (stages x replicas x tensor_parallel) but "
            f"{'workload.devices lists' if params.devices else 'the cluster has'} "
            f"{len(devices)}"
        )
    return list(devices)


def layer_times(
    cluster: Cluster, device: str, profile: ModelProfile, b: int, recompute: bool
) -> list[float]:
    """Per layer: forward + backward (+ recompute) seconds of one micro-batch on ``device``."""
    dev = cluster.devices[device]
    out = []
    for s in stage_specs(profile, [1] * len(profile), b):
        f = dev.compute_time(s.fwd_flops[0], s.fwd_bytes[0])
        out.append(f * (2 if recompute else 1) + dev.compute_time(s.bwd_flops[0], s.bwd_bytes[0]))
    return out


def _planned(
    cluster: Cluster, params: PipelineParams, profile: ModelProfile, b: int
) -> tuple[list[int], list[int], float]:
    """PipeDream's planner over every device: layer counts, replicas, seconds per micro-batch."""
    devices = device_order(cluster, params, 1)
    plan = plan_pipedream(
        layer_times(cluster, devices[0], profile, b, params.recompute),
        [b * layer.activation for layer in profile.layers],
        [layer.params for layer in profile.layers],
        ClusterCosts(cluster, devices, params.allreduce_algorithm),
    )
    return list(plan.counts), list(plan.replicas), plan.time_per_microbatch_s


def _partitioned(
    cluster: Cluster, params: PipelineParams, profile: ModelProfile, b: int
) -> list[int]:
    """Layers per virtual stage for ``even``, ``balanced`` or an explicit ``partition``."""
    n_layers, v = len(profile), params.chunks
    if isinstance(params.partition, list):
        counts = list(params.partition)
        if sum(counts) != n_layers:
            raise InputError(
                f"workload.partition: the layer counts {counts} sum to "
                f"{sum(counts)} but the profile has {n_layers} layers"
            )
        return counts
    p: int = params.stages  # type: ignore[assignment]  # required unless partition: planner
    if p * v > n_layers:
        raise InputError(
            f"workload.stages: {p} stages x {v} chunks need at least "
            f"{p * v} layers but the profile has {n_layers}"
        )
    if params.partition == "even":
        return even_partition(n_layers, p * v)
    devices = device_order(cluster, params, 1)
    times = layer_times(cluster, devices[0], profile, b, params.recompute)
    return balanced_partition(times, p * v)


def resolve_layout(cluster: Cluster, params: PipelineParams) -> Layout:
    """The layout ``params`` describe on ``cluster``; InputError if it does not fit."""
    profile = build_profile(params.profile)
    b = params.microbatch_samples
    v, t = params.chunks, params.tensor_parallel
    plan_time = None
    if params.partition == "planner":
        counts, replicas, plan_time = _planned(cluster, params, profile, b)
        p = len(counts)
    else:
        counts = _partitioned(cluster, params, profile, b)
        p = len(counts) // v
        replicas = [params.replicas] * p
    needed = t * sum(replicas)
    placement = device_order(cluster, params, needed)
    groups: list[list[list[str]]] = []
    offset = 0
    for d in range(p):
        groups.append(
            [placement[offset + r * t : offset + (r + 1) * t] for r in range(replicas[d])]
        )
        offset += replicas[d] * t
    return Layout(
        profile,
        counts,
        p,
        v,
        replicas,
        t,
        b,
        stage_specs(profile, counts, b),
        groups,
        placement[:needed],
        "async" if params.schedule == "pipedream" else "flush",
        plan_time,
    )


def _straight(
    layout: Layout, counts: list[int], replicas: list[int], placement: list[str]
) -> Layout:
    """A PipeDream layout of ``counts`` layers on ``replicas`` single devices per stage."""
    groups, offset = [], 0
    for r in replicas:
        groups.append([[placement[offset + i]] for i in range(r)])
        offset += r
    return Layout(
        layout.profile,
        counts,
        len(counts),
        1,
        replicas,
        1,
        layout.microbatch,
        stage_specs(layout.profile, counts, layout.microbatch),
        groups,
        placement[:offset],
        "async",
    )


def baselines(cluster: Cluster, params: PipelineParams, layout: Layout) -> list[tuple[str, Layout]]:
    """What the planner's choice is compared with: data parallelism and an even straight split.

    Both use every device: data parallelism one stage replicated on all of them, the even split
    ``min(layers, devices)`` stages each replicated ``devices // stages`` times.
    """
    placement = device_order(cluster, params, 1)
    n_layers, n = len(layout.profile), len(placement)
    k = min(n_layers, n)
    return [
        ("data_parallel", _straight(layout, [n_layers], [n], placement)),
        ("even_split", _straight(layout, even_partition(n_layers, k), [n // k] * k, placement)),
    ]


def microbatches_simulated(layout: Layout, params: PipelineParams) -> int:
    """Micro-batches a run streams through: one minibatch per replica, or PipeDream's window."""
    per_minibatch = params.microbatches * params.replicas
    if layout.mode == "flush":
        return per_minibatch
    return sum(pipedream_window(layout.replicas, per_minibatch))


def check_op_count(layout: Layout, params: PipelineParams) -> None:
    """InputError when simulating ``layout`` would schedule more than :data:`MAX_OPS` ops.

    Every micro-batch runs one forward and one backward op on each of the ``p·v`` virtual
    stages, on each of its ``t`` tensor-parallel ranks.
    """
    n_ops = 2 * microbatches_simulated(layout, params) * layout.p * layout.v * layout.t
    if n_ops > MAX_OPS:
        raise InputError(
            f"the run would execute {n_ops} compute ops, over the limit of "
            f"{MAX_OPS}; use fewer microbatches, stages or replicas"
        )
