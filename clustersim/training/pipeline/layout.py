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

PipeDream layouts (schedule ``pipedream``) carry their steady state
(:mod:`~clustersim.training.pipeline.steady_state`): the period the cost model predicts and the
warm-up that lets the runtime reach it. One with a single stage is plain data parallelism and
carries the ``data_parallel`` kind's plan instead (:mod:`~clustersim.training.pipeline.baseline`).
A layout comes from the planner (``partition: planner``) or is forced by the scenario
(``stages: [15, 1]`` replica counts with a ``partition``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.device import MatrixTiling
from clustersim.kinds.validation import rank_list
from clustersim.training.data_parallel.kind import DataParallelPlan
from clustersim.training.pipeline.baseline import data_parallel_plan, data_parallel_prediction
from clustersim.training.pipeline.costs import stashed_activation_bytes
from clustersim.training.pipeline.params import PipelineParams
from clustersim.training.pipeline.planner import (
    Plan,
    balanced_partition,
    even_partition,
    plan_pipedream,
)
from clustersim.training.pipeline.schedules import pipedream_window
from clustersim.training.pipeline.steady_state import PlacementCosts, SteadyState, steady_state
from clustersim.training.profile_schema import build_profile
from clustersim.training.profiles import ModelProfile

__all__ = [
    "MAX_OPS",
    "Layout",
    "StageSpec",
    "baselines",
    "check_op_count",
    "device_order",
    "layer_passes",
    "microbatches_simulated",
    "pipedream_layout",
    "resolve_layout",
    "stage_memory",
    "stage_specs",
    "tiling_of",
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
        rows: per layer, the matrix rows of one micro-batch's kernels (for a matrix tiling).
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
    rows: tuple[float, ...] = ()

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
        tiling: the devices' matrix tiling (``matrix_tile``), or None for the plain roofline.
        steady: PipeDream with two or more stages: the steady state the cost model predicts.
        data_parallel: PipeDream with one stage: the data-parallel kind's plan that runs it.
        search: partition ``planner``: how the planner found the layout.
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
    tiling: MatrixTiling | None = None
    steady: SteadyState | None = None
    data_parallel: DataParallelPlan | None = None
    search: Plan | None = None

    @property
    def warmup(self) -> list[int]:
        """PipeDream: warm-up forwards per replica of each stage."""
        return list(self.steady.warmup) if self.steady is not None else [0] * self.p

    @property
    def settled(self) -> int:
        """PipeDream: micro-batches the run completes at least before it is measured
        (:attr:`SteadyState.settled`)."""
        return self.steady.settled if self.steady is not None else 0

    @property
    def repeat(self) -> int:
        """PipeDream: micro-batches the measured window is a multiple of
        (:attr:`SteadyState.repeat`)."""
        return self.steady.repeat if self.steady is not None else 1

    @property
    def period_s(self) -> float | None:
        """PipeDream: the predicted seconds between micro-batch completions."""
        if self.steady is not None:
            return self.steady.period_s
        if self.data_parallel is not None:
            predicted = data_parallel_prediction(self.data_parallel)
            return predicted["time_per_iteration_s"] / self.data_parallel.layout.workers
        return None


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
                rows=tuple(b * layer.rows for layer in chunk),
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


def layer_passes(
    cluster: Cluster,
    device: str,
    profile: ModelProfile,
    b: int,
    recompute: bool,
    tiling: MatrixTiling | None = None,
) -> tuple[list[float], list[float]]:
    """Per layer: (forward, forward + backward (+ recompute)) seconds of one micro-batch on
    ``device``."""
    dev = cluster.devices[device]
    forward, total = [], []
    for s in stage_specs(profile, [1] * len(profile), b):
        rows = s.rows[0]
        # one forward kernel per layer, two backward (the data and the weight gradient)
        f = dev.compute_time(s.fwd_flops[0], s.fwd_bytes[0], rows=rows, tiling=tiling, kernels=1)
        bwd = dev.compute_time(s.bwd_flops[0], s.bwd_bytes[0], rows=rows, tiling=tiling, kernels=2)
        forward.append(f)
        total.append(f * (2 if recompute else 1) + bwd)
    return forward, total


def tiling_of(params: PipelineParams) -> MatrixTiling | None:
    """The matrix tiling ``matrix_tile`` asks for (None: the plain roofline)."""
    if params.matrix_tile is None:
        return None
    return MatrixTiling(params.matrix_tile, "workload.matrix_tile")


def _partitioned(
    cluster: Cluster,
    params: PipelineParams,
    profile: ModelProfile,
    b: int,
    stages: int,
    replicas: list[int] | None = None,
) -> list[int]:
    """Layers per virtual stage for ``even``, ``balanced`` or an explicit ``partition``.

    ``balanced`` minimises the slowest stage's time, a replicated stage's divided by its
    ``replicas``.
    """
    n_layers, v = len(profile), params.chunks
    if isinstance(params.partition, list):
        counts = list(params.partition)
        if sum(counts) != n_layers:
            raise InputError(
                f"workload.partition: the layer counts {counts} sum to "
                f"{sum(counts)} but the profile has {n_layers} layers"
            )
        return counts
    if stages * v > n_layers:
        raise InputError(
            f"workload.stages: {stages} stages x {v} chunks need at least "
            f"{stages * v} layers but the profile has {n_layers}"
        )
    if params.partition == "even":
        return even_partition(n_layers, stages * v)
    devices = device_order(cluster, params, 1)
    _, times = layer_passes(cluster, devices[0], profile, b, params.recompute, tiling_of(params))
    return balanced_partition(times, stages * v, replicas)


def _groups(placement: list[str], replicas: list[int], t: int) -> list[list[list[str]]]:
    """``groups[d][r]``: the ``t`` consecutive devices of position ``d``, replica ``r``."""
    groups: list[list[list[str]]] = []
    offset = 0
    for count in replicas:
        groups.append([placement[offset + r * t : offset + (r + 1) * t] for r in range(count)])
        offset += count * t
    return groups


def pipedream_layout(
    cluster: Cluster,
    params: PipelineParams,
    profile: ModelProfile,
    counts: list[int],
    replicas: list[int],
    devices: list[str],
    costs: PlacementCosts,
    search: Plan | None = None,
) -> Layout:
    """A PipeDream layout of ``counts`` layers on ``replicas`` consecutive ``devices`` each."""
    b = params.microbatch_samples
    used = sum(replicas)
    placement = devices[:used]
    steady = dp = None
    if len(counts) == 1 and profile.params > 0:
        dp = data_parallel_plan(cluster, params, placement, b)
    else:
        forward, compute = layer_passes(cluster, devices[0], profile, b, params.recompute)
        steady = steady_state(
            costs,
            compute,
            [b * layer.activation for layer in profile.layers],
            [layer.params for layer in profile.layers],
            counts,
            replicas,
            forward,
        )
    return Layout(
        profile,
        list(counts),
        len(counts),
        1,
        list(replicas),
        1,
        b,
        stage_specs(profile, list(counts), b),
        _groups(placement, list(replicas), 1),
        placement,
        "async",
        steady=steady,
        data_parallel=dp,
        search=search,
    )


def stage_memory(
    params: PipelineParams,
    profile: ModelProfile,
    counts: Sequence[int],
    warmup: Sequence[int],
) -> list[float]:
    """Per PipeDream stage: the bytes one of its devices holds with ``warmup + 1`` micro-batches
    in flight, each with its stashed activations (inputs only with ``recompute``) and, with
    weight stashing, its own version of the stage's weights (SOSP 2019, §3.3)."""
    out = []
    for spec, w in zip(
        stage_specs(profile, list(counts), params.microbatch_samples), warmup, strict=True
    ):
        versions = w + 1 if params.weight_stashing else 1
        activations = stashed_activation_bytes(
            w + 1, spec.stash_bytes, spec.input_bytes, params.recompute
        )
        out.append(activations + versions * spec.param_bytes)
    return out


def _pipedream(cluster: Cluster, params: PipelineParams, profile: ModelProfile) -> Layout:
    """The planner's layout, or the one ``stages`` (replicas per stage) and ``partition`` force."""
    b = params.microbatch_samples
    devices = device_order(cluster, params, 1)
    costs = PlacementCosts(cluster, devices, params.allreduce_algorithm)
    if params.partition == "planner":

        def data_parallel(m: int) -> float:
            one = pipedream_layout(cluster, params, profile, [len(profile)], [m], devices, costs)
            return one.period_s  # type: ignore[return-value]  # a PipeDream layout has one

        memory = min(cluster.devices[name].spec.memory for name in devices)

        def fits(counts: Sequence[int], replicas: Sequence[int], warmup: Sequence[int]) -> bool:
            return all(need <= memory for need in stage_memory(params, profile, counts, warmup))

        forward, compute = layer_passes(cluster, devices[0], profile, b, params.recompute)
        search = plan_pipedream(
            compute,
            [b * layer.activation for layer in profile.layers],
            [layer.params for layer in profile.layers],
            costs,
            data_parallel,
            fits,
            forward,
        )
        return pipedream_layout(
            cluster,
            params,
            profile,
            list(search.counts),
            list(search.replicas),
            devices,
            costs,
            search,
        )
    replicas = params.stage_replicas
    counts = _partitioned(cluster, params, profile, b, len(replicas), replicas)
    if len(counts) != len(replicas):
        raise InputError(
            f"workload.partition lists {len(counts)} stages but workload.stages gives "
            f"replica counts for {len(replicas)}"
        )
    device_order(cluster, params, sum(replicas))
    return pipedream_layout(cluster, params, profile, counts, replicas, devices, costs)


def resolve_layout(cluster: Cluster, params: PipelineParams) -> Layout:
    """The layout ``params`` describe on ``cluster``; InputError if it does not fit."""
    profile = build_profile(params.profile)
    if params.schedule == "pipedream":
        return _pipedream(cluster, params, profile)
    b = params.microbatch_samples
    v, t = params.chunks, params.tensor_parallel
    counts = _partitioned(cluster, params, profile, b, params.depth or 0)
    p = len(counts) // v
    replicas = [params.replicas] * p
    needed = t * sum(replicas)
    placement = device_order(cluster, params, needed)
    return Layout(
        profile,
        counts,
        p,
        v,
        replicas,
        t,
        b,
        stage_specs(profile, counts, b),
        _groups(placement, replicas, t),
        placement[:needed],
        "flush",
        tiling=tiling_of(params),
    )


def baselines(cluster: Cluster, params: PipelineParams, layout: Layout) -> list[tuple[str, Layout]]:
    """What the planner's choice is compared with: data parallelism and an even straight split.

    Both use every device: data parallelism one stage replicated on all of them (run by the
    ``data_parallel`` kind), the even split ``min(layers, devices)`` stages each replicated
    ``devices // stages`` times.
    """
    devices = device_order(cluster, params, 1)
    costs = PlacementCosts(cluster, devices, params.allreduce_algorithm)
    profile = layout.profile
    n_layers, n = len(profile), len(devices)
    k = min(n_layers, n)
    return [
        (
            "data_parallel",
            pipedream_layout(cluster, params, profile, [n_layers], [n], devices, costs),
        ),
        (
            "even_split",
            pipedream_layout(
                cluster, params, profile, even_partition(n_layers, k), [n // k] * k, devices, costs
            ),
        ),
    ]


def microbatches_simulated(layout: Layout, params: PipelineParams) -> int:
    """Micro-batches a run streams through: one minibatch per replica, or PipeDream's window."""
    per_minibatch = params.microbatches * params.replicas
    if layout.mode == "flush":
        return per_minibatch
    if layout.data_parallel is not None:
        return layout.data_parallel.layout.workers
    return sum(
        pipedream_window(
            layout.replicas, per_minibatch, layout.warmup, layout.settled, layout.repeat
        )
    )


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
