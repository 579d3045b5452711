"""What every partition moves and computes: bytes per flow, FLOPs and memory traffic per step.

Two shapes of work cover the five partitions:

* :class:`StagedWork`: one piece per worker, in stages. The central node scatters each worker
  its input; a worker computes a stage, sends the bytes the next stage needs to the workers
  that need them (halos, partial sums, keys and values), waits for its own, computes the next
  stage; after the last it sends its share of the output to the central node, which runs the
  head. Spatial partitions with halo exchange, channel-wise, head-wise and sequence attention.
* :class:`TileWork`: independent tiles, each sent by the central node, computed by one worker
  and sent back; static (a fixed list per worker) or adaptive (handed out as workers finish).
  ADCNN's FDSP and DeepThings' fully fused tiles.

A step's cost is a list of layer entries (FLOP, bytes), each one kernel, priced with the device
roofline plus its launch overhead (:meth:`clustersim.hardware.spec.DeviceSpec.kernel_time`)
entry by entry. A tile's share of a
layer is its fraction of the layer's :func:`clustersim.nn.profile` record: FLOPs in proportion
to the output pixels it computes, traffic to the pixels it reads and writes, plus the layer's
weights, read once per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clustersim.hardware.spec import DeviceSpec
from clustersim.inference.partition.costs import AttentionShape, attention_steps
from clustersim.inference.partition.stack import LayerGeom, Stack
from clustersim.inference.partition.tiles import FdspLayout, Group, Rect, Steps
from clustersim.nn import LayerCost

__all__ = [
    "Compute",
    "Stage",
    "StagedWork",
    "TileWork",
    "attention_work",
    "channel_slices",
    "channel_work",
    "fdsp_work",
    "fused_work",
    "spatial_work",
    "static_assignment",
    "whole_compute",
]


@dataclass(frozen=True)
class Compute:
    """One step of one device: entries of (FLOP, bytes moved), one per layer or kernel."""

    flops: tuple[float, ...] = ()
    nbytes: tuple[float, ...] = ()

    @property
    def total_flops(self) -> float:
        return float(sum(self.flops))

    @property
    def total_bytes(self) -> float:
        return float(sum(self.nbytes))

    def time(self, spec: DeviceSpec) -> float:
        """Seconds on ``spec`` at full speed: every entry's kernel time (its roofline plus one
        launch overhead; an entry with no work, a view, launches nothing), summed."""
        pairs = zip(self.flops, self.nbytes, strict=True)
        return float(sum(spec.kernel_time(f, b, kernels=1 if f or b else 0) for f, b in pairs))

    def __add__(self, other: Compute) -> Compute:
        return Compute(self.flops + other.flops, self.nbytes + other.nbytes)


def _records(records: Sequence[LayerCost]) -> Compute:
    return Compute(
        tuple(float(r.flops) for r in records), tuple(float(r.bytes_moved(1)) for r in records)
    )


def whole_compute(stack: Stack) -> Compute:
    """The whole model on one device, layer by layer (the single-device baseline)."""
    return _records([g.cost for g in stack.layers] + list(stack.head))


def _share(
    cost: LayerCost, f_flops: float, f_in: float, f_out: float, f_params: float
) -> tuple[float, float]:
    """(FLOP, bytes) of ``f_flops`` of a layer's arithmetic, reading ``f_in`` of its input,
    writing ``f_out`` of its output and reading ``f_params`` of its weights."""
    traffic = cost.input_bytes * f_in + cost.output_bytes * f_out if cost.traffic_bytes else 0.0
    return cost.flops * f_flops, traffic + cost.param_bytes * f_params


def _region(layer: LayerGeom, read: Rect, out: Rect) -> tuple[float, float]:
    """(FLOP, bytes) of ``layer`` computing output ``out`` from input ``read``."""
    _, hi, wi = layer.in_shape
    _, ho, wo = layer.out_shape
    f_out = out.area / (ho * wo)
    return _share(layer.cost, f_out, read.area / (hi * wi), f_out, 1.0)


def _steps_compute(layers: Sequence[LayerGeom], steps: Steps) -> Compute:
    pairs = [_region(g, r, o) for g, r, o in zip(layers, steps.reads, steps.regions, strict=True)]
    return Compute(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))


def _pixels_bytes(rect: Rect, channels: int, stack: Stack) -> float:
    return float(rect.area * channels * stack.dtype_bytes)


@dataclass(frozen=True)
class Stage:
    """One stage of a :class:`StagedWork`.

    Attributes:
        compute: per worker, what it computes in this stage.
        exchange: ``(workers, workers)`` bytes worker ``i`` sends worker ``j`` after the stage
            (all zero after the last stage).
    """

    compute: list[Compute]
    exchange: np.ndarray


@dataclass(frozen=True)
class StagedWork:
    """Scatter, stages with exchanges between workers, gather, head.

    Attributes:
        scatter: ``(workers,)`` bytes the central node sends each worker first.
        stages: the stages, in order.
        gather: ``(workers,)`` bytes each worker sends the central node at the end.
        head: what the central node computes once everything is gathered.
        halo_bytes: bytes moved because of the partition alone (halo pixels, also those
            inside the scatter; partial sums; keys and values).
        labels: one name per stage (for traces).
    """

    scatter: np.ndarray
    stages: list[Stage]
    gather: np.ndarray
    head: Compute
    halo_bytes: float
    labels: list[str] = field(default_factory=list)

    @property
    def workers(self) -> int:
        return int(self.scatter.size)

    @property
    def exchange_bytes(self) -> float:
        return float(sum(s.exchange.sum() for s in self.stages))

    def worker_compute(self, i: int) -> Compute:
        out = Compute()
        for stage in self.stages:
            out = out + stage.compute[i]
        return out


@dataclass(frozen=True)
class TileWork:
    """Independent tiles.

    Attributes:
        inputs, outputs: ``(tiles,)`` bytes of each tile's input (central -> worker) and
            output (worker -> central).
        compute: per tile, what computing it costs.
        assignment: static: per worker, its tiles in order; None: adaptive.
        head: what the central node computes once every tile is back.
        halo_bytes: bytes of halo pixels inside the tiles' inputs (0 for FDSP).
    """

    inputs: np.ndarray
    outputs: np.ndarray
    compute: list[Compute]
    assignment: list[list[int]] | None
    head: Compute
    halo_bytes: float

    @property
    def tiles(self) -> int:
        return int(self.inputs.size)


def static_assignment(tiles: int, workers: int) -> list[list[int]]:
    """Contiguous runs of tiles (row-major), as equal as possible, the longer runs first."""
    return [list(map(int, part)) for part in np.array_split(np.arange(tiles), workers)]


# ------------------------------------------------------------------------------- spatial
def spatial_work(stack: Stack, groups: Sequence[Group]) -> StagedWork:
    """The halo-exchange partition: one stage per fused group."""
    m = len(groups[0].owned)
    c_in = stack.input_shape[0]
    scatter = np.array([_pixels_bytes(s.needed, c_in, stack) for s in groups[0].steps])
    stages = []
    for g, group in enumerate(groups):
        layers = [stack.layers[k] for k in group.layers]
        compute = [_steps_compute(layers, s) for s in group.steps]
        exchange = np.zeros((m, m))
        if g + 1 < len(groups):
            nxt = groups[g + 1]
            channels = stack.layers[nxt.layers[0]].in_shape[0]
            for (src, dst), rect in nxt.halos.items():
                exchange[src, dst] = _pixels_bytes(rect, channels, stack)
        stages.append(Stage(compute, exchange))
    c_out = stack.out_shape[0]
    gather = np.array([_pixels_bytes(r, c_out, stack) for r in groups[-1].owned])
    halo = float(scatter.sum()) - stack.input_bytes + sum(s.exchange.sum() for s in stages)
    labels = [
        f"layers {stack.layers[g.layers[0]].index}-{stack.layers[g.layers[-1]].index}"
        for g in groups
    ]
    return StagedWork(scatter, stages, gather, _records(stack.head), halo, labels)


def fused_work(
    stack: Stack, tiles: Sequence[Steps], assignment: list[list[int]] | None
) -> TileWork:
    """DeepThings' fully fused tiles: each tile's input carries its whole receptive field."""
    c_in, c_out = stack.input_shape[0], stack.out_shape[0]
    inputs = np.array([_pixels_bytes(t.needed, c_in, stack) for t in tiles])
    outputs = np.array([_pixels_bytes(t.out, c_out, stack) for t in tiles])
    compute = [_steps_compute(stack.layers, t) for t in tiles]
    halo = float(inputs.sum()) - stack.input_bytes
    return TileWork(inputs, outputs, compute, assignment, _records(stack.head), halo)


def fdsp_work(stack: Stack, layout: FdspLayout, assignment: list[list[int]] | None) -> TileWork:
    """ADCNN's FDSP tiles: inputs without halo, each tile computed as a small whole image."""
    c_in, c_out = stack.input_shape[0], stack.out_shape[0]
    inputs = np.array([_pixels_bytes(t.rect, c_in, stack) for t in layout.tiles])
    outputs = np.array([_pixels_bytes(t.out, c_out, stack) for t in layout.tiles])
    compute = []
    for t in layout.tiles:
        reads = [t.rect, *t.outs[:-1]]
        pairs = [_region(g, r, o) for g, r, o in zip(stack.layers, reads, t.outs, strict=True)]
        compute.append(Compute(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)))
    return TileWork(inputs, outputs, compute, assignment, _records(stack.head), 0.0)


# ------------------------------------------------------------------------------- channel
def channel_slices(channels: int, workers: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each worker's channels: as equal as possible, the larger first."""
    sizes = [len(p) for p in np.array_split(np.arange(channels), workers)]
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(workers)]


def _compute(entries: Sequence[tuple[float, float]]) -> Compute:
    return Compute(tuple(e[0] for e in entries), tuple(e[1] for e in entries))


def channel_work(stack: Stack, workers: int) -> StagedWork:
    """The channel-wise partition (the notes' "channelwise partition", after ADCNN §2).

    Worker ``i`` holds input channels ``s_i`` of every convolution (and the filter slices
    ``W[:, s_i]``) and computes partial sums of *all* output channels; it sends worker ``j``
    the partial sums of ``j``'s output channels ``o_j`` (a reduce-scatter), and ``j`` adds
    them up: ``o_j`` is then ``j``'s input slice of the next convolution. Pooling and ReLU act
    channel by channel, so only the convolutions communicate. Stage ``n`` is: reduce
    convolution ``n - 1`` and run the layers after it, then the partial sums of convolution
    ``n``; the last stage reduces the last convolution and finishes the stack.
    """
    size = stack.dtype_bytes
    layers = stack.layers
    conv_at = [k for k, g in enumerate(layers) if g.op == "conv"]
    held = channel_slices(stack.input_shape[0], workers)  # channels each worker holds now
    scatter = np.array([(b - a) * stack.input_bytes / stack.input_shape[0] for a, b in held])
    pending: list[list[tuple[float, float]]] = [[] for _ in range(workers)]

    def channel_local(start: int, stop: int) -> None:
        for g in layers[start:stop]:
            for i, (a, b) in enumerate(held):
                share = (b - a) / g.in_shape[0]
                pending[i].append(_share(g.cost, share, share, share, share))

    channel_local(0, conv_at[0])
    stages: list[Stage] = []
    labels: list[str] = []
    for n, k in enumerate(conv_at):
        conv = layers[k]
        _, ho, wo = conv.out_shape
        out = channel_slices(conv.out_shape[0], workers)
        contributors = [i for i, (a, b) in enumerate(held) if b > a]
        exchange = np.zeros((workers, workers))
        for i in contributors:
            share = (held[i][1] - held[i][0]) / conv.in_shape[0]
            pending[i].append(_share(conv.cost, share, share, 1.0, share))
            for j, (a, b) in enumerate(out):
                if j != i:
                    exchange[i, j] = (b - a) * ho * wo * size
        stages.append(Stage([_compute(p) for p in pending], exchange))
        labels.append(f"partial sums of layer {conv.index}")
        pending = [[] for _ in range(workers)]
        for i, (a, b) in enumerate(out):  # add up the partial sums received
            mine = (b - a) * ho * wo
            pending[i].append(
                ((len(contributors) - 1) * mine, (len(contributors) + 1) * mine * size)
            )
        held = out
        channel_local(k + 1, conv_at[n + 1] if n + 1 < len(conv_at) else len(layers))
    stages.append(Stage([_compute(p) for p in pending], np.zeros((workers, workers))))
    labels.append("reduce and finish")
    _, hf, wf = stack.out_shape
    gather = np.array([(b - a) * hf * wf * size for a, b in held], dtype=float)
    halo = float(sum(s.exchange.sum() for s in stages))
    return StagedWork(scatter, stages, gather, _records(stack.head), halo, labels)


# ----------------------------------------------------------------------------- attention
def attention_work(
    shape: AttentionShape, workers: int, partition: str, dtype_bytes: int, replicated: bool
) -> StagedWork:
    """Head-wise attention (one stage, heads split, the head outputs gathered) or the sequence
    split (two stages, every worker's keys and values sent to every other between them); the
    step costs come from :func:`~clustersim.inference.partition.costs.attention_steps`.
    ``replicated``: the layer input is already on every worker (nothing is scattered)."""
    steps = attention_steps(shape, workers, partition, dtype_bytes)
    act = float(shape.batch * shape.seq_len * shape.embed * dtype_bytes)
    m = workers
    zeros = np.zeros((m, m))
    central = _compute(steps["central"])
    worker = [_compute(entries) for entries in steps["worker"]]
    gather = np.full(m, act / m)
    if partition == "head":
        scatter = np.zeros(m) if replicated else np.full(m, act)
        stages = [Stage([worker[0]] * m, zeros)]
        return StagedWork(scatter, stages, gather, central, 0.0, ["heads"])
    scatter = np.zeros(m) if replicated else np.full(m, act / m)
    kv = np.full((m, m), 2 * act / m)
    np.fill_diagonal(kv, 0.0)
    stages = [Stage([worker[0]] * m, kv), Stage([worker[1]] * m, zeros)]
    return StagedWork(scatter, stages, gather, central, float(kv.sum()), ["Q, K, V", "attention"])
