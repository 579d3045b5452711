"""The ``partition`` workload kind: one CNN (or attention layer) split over edge devices.

``prepare`` resolves the central node, the workers and the optional cloud against the cluster,
builds the model's spatial stack (shapes only: VGG-16's weights are never drawn), lays out the
partition (tiles and halos, FDSP tiles, channel slices, heads or token slices) and lists the
bytes and steps of every flow and worker (:mod:`~clustersim.inference.partition.work`);
every input error a geometry can reveal (more tiles than rows, a kernel larger than a tile, a
tile count that does not match the workers, a node that does not exist) is raised there, so
``clustersim validate`` finds it. ``simulate`` runs the partition's processes with the numeric
replay riding on the flows, then the two baselines (the whole model on the central node; the
input sent to the cloud) on idle copies of the cluster. ``analytic`` gives the same latencies
on contention-free links (:mod:`~clustersim.inference.partition.costs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.inference.partition import costs
from clustersim.inference.partition.accuracy import TrainingPlan, fdsp_accuracy
from clustersim.inference.partition.costs import AttentionShape
from clustersim.inference.partition.kernels import (
    AttentionReplay,
    ChannelReplay,
    FdspReplay,
    Net,
    SpatialReplay,
)
from clustersim.inference.partition.params import PartitionParams
from clustersim.inference.partition.process import (
    StagedRun,
    TileRun,
    remote_cloud_latency,
    single_device_latency,
)
from clustersim.inference.partition.stack import Stack, spatial_stack
from clustersim.inference.partition.tiles import (
    FdspLayout,
    Group,
    Steps,
    fdsp_tiles,
    fused_tiles,
    spatial_groups,
)
from clustersim.inference.partition.work import (
    Compute,
    StagedWork,
    TileWork,
    attention_work,
    channel_work,
    fdsp_work,
    fused_work,
    spatial_work,
    static_assignment,
    whole_compute,
)
from clustersim.kinds.contract import Outcome, Work, WorkloadKind
from clustersim.kinds.validation import rank_list
from clustersim.nn import Sequential, alexnet, small_cnn, vgg16
from clustersim.nn.profile import DTYPE_BYTES

__all__ = ["KIND", "PartitionParams", "PartitionPlan", "analytic", "prepare", "simulate"]

CHECK_NAMES = {
    "spatial": "spatial_equals_whole",
    "fdsp": "fdsp_interior_equals_whole",
    "channel": "channel_equals_whole",
    "head": "attention_equals_whole",
    "sequence": "attention_equals_whole",
}
"""The verification check each partition reports."""


@dataclass(frozen=True)
class PartitionPlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        central: the node holding the input and the result.
        workers: the worker nodes, in partition order.
        cloud: the remote-cloud baseline's node, or None.
        stack: the CNN's spatial stack and head (None for attention).
        shape: the attention layer (None for a CNN).
        geometry: the fused groups (staged spatial), the fused tiles' steps, the FDSP layout,
            or None (channel, attention).
        work: the bytes and steps of every flow and worker.
        whole: the whole model's steps on one device.
        sent, returned: bytes of the model's input and output (the cloud baseline's flows).
    """

    cluster: Cluster
    params: PartitionParams
    central: str
    workers: list[str]
    cloud: str | None
    stack: Stack | None
    shape: AttentionShape | None
    geometry: list[Group] | list[Steps] | FdspLayout | None
    work: StagedWork | TileWork
    whole: Compute
    sent: float
    returned: float


# ------------------------------------------------------------------------------ prepare
def _nodes(cluster: Cluster, params: PartitionParams) -> tuple[str, list[str], str | None]:
    """The central node, the workers and the cloud, checked against the cluster."""
    devices = cluster.devices
    central = params.central if params.central is not None else cluster.ranks[0]
    rank_list([central], devices, "workload.central", noun="device")
    cloud = params.cloud
    if cloud is not None:
        rank_list([cloud], devices, "workload.cloud", noun="device")
        if cloud == central:
            raise InputError(f"workload.cloud: {cloud!r} is the central node too; expected another")
    others = [n for n in cluster.ranks if n not in (central, cloud)]
    if isinstance(params.workers, list):
        workers = rank_list(params.workers, devices, "workload.workers", noun="worker")
        for role, name in (("central node", central), ("cloud", cloud)):
            if name in workers:
                raise InputError(
                    f"workload.workers: {name!r} is the {role}; the workers must be other devices"
                )
        return central, workers, cloud
    count = len(others) if params.workers is None else params.workers
    if count > len(others) or count < 1:
        raise InputError(
            f"workload.workers: {count} workers asked for but the cluster has {len(others)} "
            f"devices besides the central node{' and the cloud' if cloud else ''} "
            f"({', '.join(others[:8])}{' ...' if len(others) > 8 else ''})"
        )
    return central, others[:count], cloud


def _model(params: PartitionParams, cluster: Cluster) -> tuple[Sequential, tuple[int, int, int]]:
    m = params.model
    side, classes = m.side, m.class_count
    try:
        if m.name == "vgg16":
            return vgg16(classes=classes, image_size=side), (3, side, side)
        if m.name == "alexnet":
            return alexnet(classes=classes, image_size=side), (3, side, side)
        shape = (1, side, side)
        rng = cluster.sim.rng("partition.model")
        channels = tuple(m.channels) if m.channels else (8, 16)
        return small_cnn(shape, classes, channels=channels, rng=rng), shape
    except InputError as exc:
        raise InputError(
            f"workload.model: image_size {side} is too small for {m.name}: {exc}"
        ) from None


def _fractions(
    cluster: Cluster, params: PartitionParams, workers: list[str], grid: list[int]
) -> tuple[list[float], list[float]]:
    """Row and column fractions of the grid: equal, or strips in proportion to speed (BODP)."""
    rows, cols = [1.0] * grid[0], [1.0] * grid[1]
    if params.sizing == "speed":
        speeds = [
            cluster.devices[w].spec.peak_flops
            * cluster.devices[w].spec.efficiency
            / cluster.devices[w].slowdown
            for w in workers
        ]
        if grid[0] > 1:
            rows = speeds
        else:
            cols = speeds
    return rows, cols


def _spatial(
    cluster: Cluster, params: PartitionParams, stack: Stack, workers: list[str]
) -> tuple[Any, StagedWork | TileWork]:
    m = len(workers)
    grid = params.tiles or [m, 1]
    count = grid[0] * grid[1]
    rows, cols = _fractions(cluster, params, workers, grid)
    shown = f"workload.tiles: {grid} makes {count} tiles"
    if params.sizing == "speed" and count != m:
        raise InputError(f"{shown} but there are {m} workers; sizing: speed gives each one strip")
    if not params.independent_tiles:
        fuse = None if params.fuse == "all" else int(params.fuse)
        groups = spatial_groups(stack, (grid[0], grid[1]), rows, cols, fuse)
        if count != m:
            raise InputError(
                f"{shown} but there are {m} workers (workload.workers); the spatial partition "
                "with halo exchange gives every worker one tile"
            )
        return groups, spatial_work(stack, groups)
    if count < m:
        raise InputError(f"{shown} for {m} workers; expected at least one tile per worker")
    if params.schedule == "adaptive" and params.sizing == "speed":
        raise InputError(
            "sizing: speed applies to the static schedule (adaptive tiles balance themselves)"
        )
    assignment = static_assignment(count, m) if params.schedule == "static" else None
    if params.partition == "fdsp":
        layout = fdsp_tiles(stack, (grid[0], grid[1]), rows, cols)
        return layout, fdsp_work(stack, layout, assignment)
    tiles = fused_tiles(stack, (grid[0], grid[1]), rows, cols)
    return tiles, fused_work(stack, tiles, assignment)


def prepare(cluster: Cluster, params: PartitionParams) -> PartitionPlan:
    """Resolve the nodes, build the model's shapes, lay out the partition and list its work."""
    central, workers, cloud = _nodes(cluster, params)
    m = len(workers)
    size = DTYPE_BYTES[params.dtype]
    if not params.model.is_cnn:
        mp = params.model
        shape = AttentionShape(mp.batch, mp.seq_len, mp.embed, mp.heads)
        if params.partition == "head" and mp.heads % m:
            raise InputError(
                f"workload.model.heads: {mp.heads} heads do not divide among {m} workers; the "
                "head-wise partition gives every worker whole heads"
            )
        if params.partition == "sequence" and mp.seq_len % m:
            raise InputError(
                f"workload.model.seq_len: {mp.seq_len} tokens do not divide among {m} workers"
            )
        work = attention_work(shape, m, params.partition, size, params.input == "replicated")
        whole = _whole_attention(shape, size)
        act = float(mp.batch * mp.seq_len * mp.embed * size)
        return PartitionPlan(
            cluster, params, central, workers, cloud, None, shape, None, work, whole, act, act
        )
    model, input_shape = _model(params, cluster)
    try:
        stack = spatial_stack(model, input_shape, params.dtype)
    except InputError as exc:
        raise InputError(f"workload.model: {exc}") from None
    if params.partition == "channel":
        narrowest = min(g.out_shape[0] for g in stack.conv_layers())
        if m > narrowest:
            raise InputError(
                f"workload.workers: {m} workers but a convolution of {params.model.name} has "
                f"only {narrowest} output channels; expected at most {narrowest} workers"
            )
        geometry, work = None, channel_work(stack, m)
    else:
        geometry, work = _spatial(cluster, params, stack, workers)
    return PartitionPlan(
        cluster,
        params,
        central,
        workers,
        cloud,
        stack,
        None,
        geometry,
        work,
        whole_compute(stack),
        float(stack.input_bytes),
        float(stack.logits_bytes),
    )


def _whole_attention(shape: AttentionShape, size: int) -> Compute:
    """The attention layer on one device: the head-wise steps of a single worker, then W_O."""
    steps = costs.attention_steps(shape, 1, "head", size)
    entries = [*steps["worker"][0], *steps["central"]]
    return Compute(tuple(e[0] for e in entries), tuple(e[1] for e in entries))


# ----------------------------------------------------------------------------- simulate
def _replay(plan: PartitionPlan, accuracy_images: np.ndarray | None) -> Any:
    """The numeric replay of the plan: on the trained model and test images when there are
    some, else on a random twin of the stack."""
    params, work = plan.params, plan.work
    rng = plan.cluster.sim.rng("partition.replay")
    if plan.shape is not None:
        replicated = params.input == "replicated"
        return AttentionReplay(plan.shape, len(plan.workers), params.partition, replicated, rng)
    assert plan.stack is not None
    if accuracy_images is not None:
        net, x = Net.of_model(plan.stack), accuracy_images
    else:
        dtype = np.float64 if params.partition == "channel" else np.float32
        net = Net.twin(plan.stack, params.replay_channels, rng, dtype)
        x = net.input(rng)
    if params.partition == "channel":
        return ChannelReplay(net, x, len(plan.workers))
    if isinstance(plan.geometry, FdspLayout):
        return FdspReplay(net, x, plan.geometry)
    if isinstance(work, TileWork):
        return SpatialReplay(net, x, tiles=plan.geometry)  # type: ignore[arg-type]
    return SpatialReplay(net, x, groups=plan.geometry)  # type: ignore[arg-type]


def _accuracy(plan: PartitionPlan) -> Any:
    """Train the small CNN and measure it whole, under FDSP, and fine-tuned under FDSP."""
    train, stack, sim = plan.params.train, plan.stack, plan.cluster.sim
    assert train is not None and stack is not None and isinstance(plan.geometry, FdspLayout)
    training = TrainingPlan(
        train.samples,
        train.test_samples,
        train.epochs,
        train.finetune_epochs,
        train.batch_size,
        train.lr,
    )
    rngs = {name: sim.rng(f"partition.{name}") for name in ("task", "train", "test", "order")}
    rngs["finetune"] = sim.rng("partition.finetune")
    rngs["control"] = sim.rng("partition.finetune")  # the same batches as the fine-tuning
    return fdsp_accuracy(
        stack.model, len(stack.layers), plan.geometry, stack.input_shape, training, rngs
    )


def simulate(plan: PartitionPlan) -> Outcome:
    """Run the partition with its replay, then the baselines, and measure them."""
    cluster, params, work = plan.cluster, plan.params, plan.work
    metrics: dict[str, Any] = {}
    accuracy = _accuracy(plan) if params.train is not None else None
    if accuracy is not None:
        metrics.update(
            accuracy_whole=accuracy.whole,
            accuracy_fdsp=accuracy.fdsp,
            accuracy_fdsp_finetuned=accuracy.finetuned,
            accuracy_whole_same_epochs=accuracy.whole_longer,
        )
    images = None if accuracy is None else accuracy.test_images
    replay = _replay(plan, images) if params.verify else None
    if isinstance(work, TileWork):
        run: StagedRun | TileRun = TileRun(
            cluster, plan.central, plan.workers, work, params.prefetch, replay
        )
    else:
        run = StagedRun(cluster, plan.central, plan.workers, work, replay)
    run.start()
    cluster.sim.run()
    latency = run.latency
    busy = [cluster.devices[w].compute_busy_s for w in plan.workers]
    head = work.head.time(cluster.devices[plan.central].spec)
    head *= cluster.devices[plan.central].slowdown
    flops = sum(cluster.devices[n].flops_done for n in [plan.central, *plan.workers])
    standard = cluster.standard_metrics()
    metrics.update(
        latency_s=latency,
        delivery_s=latency - max(busy) - head,
        **_bytes(work),
        bytes_total=standard["bytes_total"],
        bytes_max_link=standard["bytes_max_link"],
        busy_s_per_worker=busy,
        central_busy_s=cluster.devices[plan.central].compute_busy_s,
        compute_overhead_fraction=flops / plan.whole.total_flops - 1.0,
        workers=len(plan.workers),
    )
    if isinstance(run, TileRun):
        metrics["tiles"] = work.tiles  # type: ignore[union-attr]
        metrics["tile_worker"] = run.tile_worker
        metrics["tiles_per_worker"] = [run.tile_worker.count(w) for w in range(len(plan.workers))]
    single = single_device_latency(cluster, plan.central, plan.whole)
    metrics.update(single_device_latency_s=single, speedup_vs_single_device=single / latency)
    if plan.cloud is not None:
        cloud = remote_cloud_latency(
            cluster, plan.central, plan.cloud, plan.whole, plan.sent, plan.returned
        )
        metrics.update(cloud_latency_s=cloud, speedup_vs_cloud=cloud / latency)
    checks = {}
    if replay is not None:
        metrics.update(replay.errors())
        checks[CHECK_NAMES[params.partition]] = replay.check()
    return Outcome(metrics=metrics, checks=checks)


def _bytes(work: StagedWork | TileWork) -> dict[str, float]:
    """Bytes by what they carry (the planned flows; ``bytes_total`` is what the network
    counted)."""
    if isinstance(work, TileWork):
        scatter, exchange, gather = float(work.inputs.sum()), 0.0, float(work.outputs.sum())
    else:
        scatter, exchange = float(work.scatter.sum()), work.exchange_bytes
        gather = float(work.gather.sum())
    return {
        "bytes_scatter": scatter,
        "bytes_exchange": exchange,
        "bytes_gather": gather,
        "bytes_halo": work.halo_bytes,
    }


# ----------------------------------------------------------------------------- analytic
class _Links:
    """Contention-free transfer times between nodes: ``latency + size / bottleneck``."""

    def __init__(self, cluster: Cluster) -> None:
        self.network = cluster.network
        self._pairs: dict[tuple[str, str], tuple[float, float]] = {}

    def time(self, src: str, dst: str, size: float) -> float:
        pair = self._pairs.get((src, dst))
        if pair is None:
            net = self.network
            pattern = net.pattern([net.node_index(src)], [net.node_index(dst)])
            pair = self._pairs[(src, dst)] = (
                float(pattern.latency[0]),
                float(pattern.bottleneck[0]),
            )
        return pair[0] + size / pair[1]


def _seconds(cluster: Cluster, node: str, step: Compute) -> float:
    device = cluster.devices[node]
    return step.time(device.spec) * device.slowdown


def _staged_latency(plan: PartitionPlan, work: StagedWork, links: _Links) -> float:
    cluster, workers, m = plan.cluster, plan.workers, len(plan.workers)
    arrival = np.array(
        [
            links.time(plan.central, w, work.scatter[i]) if work.scatter[i] > 0 else 0.0
            for i, w in enumerate(workers)
        ]
    )
    compute = np.array(
        [[_seconds(cluster, w, s.compute[i]) for i, w in enumerate(workers)] for s in work.stages]
    )
    exchange = np.full((len(work.stages), m, m), -np.inf)
    for s, stage in enumerate(work.stages):
        for i, j in zip(*np.nonzero(stage.exchange > 0), strict=True):
            exchange[s, i, j] = links.time(workers[i], workers[j], stage.exchange[i, j])
    gather = np.array(
        [
            links.time(w, plan.central, work.gather[i]) if work.gather[i] > 0 else -np.inf
            for i, w in enumerate(workers)
        ]
    )
    head = _seconds(cluster, plan.central, work.head)
    return costs.staged_latency(arrival, compute, exchange, gather, head)[0]


def _tile_latency(plan: PartitionPlan, work: TileWork, links: _Links) -> float:
    cluster, workers, central = plan.cluster, plan.workers, plan.central
    head = _seconds(cluster, central, work.head)
    if work.assignment is None:
        seconds = np.array([[_seconds(cluster, w, c) for c in work.compute] for w in workers])
        first = min(links.time(central, w, float(work.inputs.min())) for w in workers)
        last = min(links.time(w, central, float(work.outputs.min())) for w in workers)
        return costs.fluid_bound(seconds, first, last, head)
    ends = []
    for w, tiles in zip(workers, work.assignment, strict=True):
        send = [links.time(central, w, work.inputs[t]) for t in tiles]
        compute = [_seconds(cluster, w, work.compute[t]) for t in tiles]
        back = [links.time(w, central, work.outputs[t]) for t in tiles]
        ends.append(costs.tile_stream_latency(send, compute, back, plan.params.prefetch))
    return max(ends) + head


def analytic(plan: PartitionPlan) -> dict[str, Any]:
    """Latencies on contention-free links (each flow alone on its path), bytes by kind.

    Adaptive tiles: a lower bound (the work shared as a fluid at every worker's rate).
    """
    cluster, work = plan.cluster, plan.work
    links = _Links(cluster)
    if isinstance(work, TileWork):
        latency = _tile_latency(plan, work, links)
    else:
        latency = _staged_latency(plan, work, links)
    single = _seconds(cluster, plan.central, plan.whole)
    out: dict[str, Any] = {
        "latency_s": latency,
        "single_device_latency_s": single,
        "speedup_vs_single_device": single / latency,
        **_bytes(work),
    }
    out["bytes_total"] = out["bytes_scatter"] + out["bytes_exchange"] + out["bytes_gather"]
    if plan.cloud is not None:
        cloud = (
            links.time(plan.central, plan.cloud, plan.sent)
            + _seconds(cluster, plan.cloud, plan.whole)
            + links.time(plan.cloud, plan.central, plan.returned)
        )
        out.update(cloud_latency_s=cloud, speedup_vs_cloud=cloud / latency)
    return out


def estimate(plan: PartitionPlan) -> Work:
    """Events before the run: a few per compute step and per flow (measured: about 5 per
    flow and 3 per step on the scenarios here), and the replay's arrays."""
    work = plan.work
    if isinstance(work, TileWork):
        events = 12 * work.tiles + 8 * len(plan.workers)
    else:
        flows = sum(int((s.exchange > 0).sum()) for s in work.stages) + 2 * work.workers
        events = 6 * flows + 4 * work.workers * len(work.stages)
    memory = 0.0
    if plan.params.verify and plan.stack is not None:
        _, h, w = plan.stack.input_shape
        memory = 16.0 * h * w * plan.params.replay_channels * 8
    return Work(events=events, memory_bytes=memory, knob="workload.tiles")


def _details() -> list[str]:
    return [
        "spatial: tiles with halo exchange; h = d(k-1)+1-s rows per boundary per layer; "
        "fused groups exchange once [DeepThings, Zhao et al. 2018]; sizing speed = BODP "
        "[MoDNN, Mao et al. 2017]",
        "fdsp: zero-padded tiles, no halo, adaptive hand-out [ADCNN, Zhang et al. 2020]",
        "channel: (M-1)·C_out·H·W partial sums per convolution [lecture notes, after ADCNN]",
        "head / sequence: heads independent, one gather; or keys and values all-gathered "
        "[lecture notes]",
    ]


KIND = WorkloadKind(
    name="partition",
    description="one CNN or attention layer split over edge devices (spatial, FDSP, channel, "
    "head-wise)",
    params=PartitionParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
