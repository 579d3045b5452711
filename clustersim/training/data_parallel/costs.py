"""Data-parallel cost model: layer work, gradient buckets, the iteration, lr, payload bytes.

The cost view of the ``data_parallel`` kind (docs/architecture.md §1): pure functions of
numbers, no SimPy. The kind's ``analytic`` prices each layer and bucket on the cluster's devices
and links and combines them here.

**Iteration** (contention-free). Compute per iteration ``C = F + Σ_l B_l + U`` (forward,
per-layer backward and update rooflines). Without overlap the exchange starts after the whole
backward pass: ``T = C + Σ_b A(G_b)`` with ``A`` the all-reduce's alpha-beta time (or the
parameter server's push + pull). With overlap gradients are grouped into buckets of about
``bucket_size`` bytes in backward order (PyTorch DDP's gradient bucketing, Li et al., "PyTorch
Distributed: Experiences on Accelerating Data Parallel Training", VLDB 2020, §3.2.3) and
bucket ``b``'s exchange starts when every worker has produced it and the previous bucket's
exchange is done: ``e_b = max(r_b, e_{b-1}) + A(G_b)``, ``T = e_last + U``, where ``r_b`` is
the time the last worker finishes bucket ``b``'s backward (:func:`overlapped_iteration_time`).

**Kernels** (each pays the device's launch overhead, :meth:`clustersim.hardware.spec.
DeviceSpec.kernel_time`): the forward launches one kernel per layer (its matrix product; the
bias and the activation are taken as fused into the product's epilogue, as cuBLASLt's
bias/ReLU epilogues do, so an eager framework that launches them separately pays more), the
backward :func:`backward_kernels` per layer (the data and the weight gradient are two matrix
products, which is why the backward is priced at twice the forward), each compression pass one
kernel per layer of its bucket (the codecs encode layer by layer), and the update
:data:`UPDATE_KERNELS`.

**Learning rate** (Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour",
arXiv:1706.02677, 2017, §2.1-2.2): :func:`learning_rate`.

**Compressed payloads** (:func:`expected_payload_bytes`): the expected encoded sizes of
:mod:`~clustersim.training.data_parallel.compression`, for timing-only runs and the prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clustersim.training.data_parallel.compression import (
    COUNT_BYTES,
    kept_entries,
    level_bits,
    varint_sizes,
)
from clustersim.training.profiles import ModelProfile

if TYPE_CHECKING:
    from clustersim.training.data_parallel.params import DataParallelParams

__all__ = [
    "COMPRESS_PASSES",
    "UPDATE_KERNELS",
    "UPDATE_PASSES",
    "LayerCost",
    "backward_kernels",
    "buckets_of",
    "expected_bucket_bytes",
    "expected_payload_bytes",
    "learning_rate",
    "mlp_layer_costs",
    "overlapped_iteration_time",
    "profile_layer_costs",
]

UPDATE_PASSES = 5.0
"""Memory passes of a momentum-SGD update per parameter: read p, g, v; write p, v."""
UPDATE_KERNELS = 1
"""Kernels of one optimizer update: a single fused pass over every parameter, as PyTorch's
multi-tensor (``foreach``/``fused``) SGD applies it."""
COMPRESS_PASSES = {"dgc": 7.0, "terngrad": 3.0}
"""Memory passes over the gradient of the compression kernels, charged on the device: DGC
reads G, U, V, writes U, V, selects and masks (7); TernGrad clips, draws and packs (3).
Decoding and summing on receipt are not charged."""


@dataclass(frozen=True)
class LayerCost:
    """One layer as the timing model sees it, for one worker's batch.

    Attributes:
        name: label for traces.
        elements: gradient elements (parameters) of the layer.
        fwd_flops, fwd_bytes, bwd_flops, bwd_bytes: roofline work of its forward and backward.
        names: the numpy model's parameter names of this layer (empty when timing-only).
    """

    name: str
    elements: int
    fwd_flops: float
    fwd_bytes: float
    bwd_flops: float
    bwd_bytes: float
    names: tuple[str, ...] = ()


def backward_kernels(layer: LayerCost) -> int:
    """Kernels of one layer's backward: two matrix products (the data gradient and the weight
    gradient) for a layer with parameters, one (the data gradient) for a layer without."""
    return 2 if layer.elements else 1


def mlp_layer_costs(sizes: Sequence[int], batch: int, itemsize: int) -> list[LayerCost]:
    """Per-layer work of an MLP ``sizes`` on a batch of ``batch`` samples.

    A layer ``Linear(a, b)`` costs ``2·B·a·b`` FLOP forward (a multiply-add is 2 FLOP) and
    twice that backward (the data and the weight gradient: two matrix products), and moves its
    parameters plus its input and output activations (``B·(a+b)`` elements) forward, twice that
    backward. Its parameters are ``{2i}.weight`` and ``{2i}.bias`` of :func:`clustersim.nn.mlp`.
    """
    out: list[LayerCost] = []
    for i in range(len(sizes) - 1):
        a, c = sizes[i], sizes[i + 1]
        elements = a * c + c
        flops = 2.0 * batch * a * c
        moved = float(itemsize * (elements + batch * (a + c)))
        out.append(
            LayerCost(
                f"linear{i}",
                elements,
                flops,
                moved,
                2 * flops,
                2 * moved,
                (f"{2 * i}.weight", f"{2 * i}.bias"),
            )
        )
    return out


def profile_layer_costs(profile: ModelProfile, batch: int, itemsize: int) -> list[LayerCost]:
    """Per-layer work of a layer profile on a batch of ``batch`` samples (timing only).

    FLOPs scale with the batch; memory traffic is the layer's parameters plus the batch's input
    and output activations forward, twice that backward (the ``pipeline`` kind's convention).
    """
    out: list[LayerCost] = []
    previous = profile.input_bytes
    for layer in profile.layers:
        fwd_bytes = layer.params + batch * (previous + layer.activation)
        out.append(
            LayerCost(
                layer.name,
                round(layer.params / itemsize),
                batch * layer.flops,
                fwd_bytes,
                batch * layer.bwd_flops,
                2.0 * fwd_bytes,
            )
        )
        previous = layer.activation
    return out


def buckets_of(
    layers: list[LayerCost], bucket_bytes: float, itemsize: int, overlap: bool
) -> list[list[int]]:
    """Layer indices per gradient bucket, in backward order (last layer first).

    Without overlap there is one bucket holding every layer. With overlap consecutive layers (in
    backward order) join a bucket until it holds at least ``bucket_bytes``; a final partial
    bucket is kept (Li et al. VLDB 2020 §3.2.3).
    """
    order = list(reversed(range(len(layers))))
    if not overlap:
        return [order]
    buckets: list[list[int]] = [[]]
    filled = 0.0
    for i in order:
        buckets[-1].append(i)
        filled += layers[i].elements * itemsize
        if filled >= bucket_bytes:
            buckets.append([])
            filled = 0.0
    return [b for b in buckets if b]


def learning_rate(
    params: DataParallelParams, k: int, workers: int, iterations_per_epoch: float
) -> float:
    """The learning rate of iteration ``k``: Goyal et al.'s linear scaling with gradual warm-up.

    ``lr`` is the rate for a batch of ``base_batch`` samples (default ``batch_size``).
    ``lr_scaling: linear`` multiplies it by ``global_batch / base_batch`` (the linear scaling
    rule, §2.1), and ``warmup`` (epochs) ramps it linearly from ``lr`` to the scaled rate over
    the first epochs, one increment per iteration (gradual warm-up, §2.2).
    """
    base = params.lr
    if params.lr_scaling == "none":
        return base
    target = base * workers * params.batch_size / (params.base_batch or params.batch_size)
    ramp = params.warmup * iterations_per_epoch
    if ramp > 0 and k < ramp:
        return base + (target - base) * k / ramp
    return target


def expected_payload_bytes(
    elements: int, keep: float, workers: int, method: str
) -> tuple[float, float]:
    """Expected encoded bytes of one layer of ``elements``: (one worker's push, the aggregate).

    DGC (Lin et al., "Deep Gradient Compression", ICLR 2018): ``k = ⌈keep·n⌉`` entries, each a
    float32 value and a varint gap of about ``n/k``, plus the count; the aggregate of ``N``
    workers holds about ``n·(1-(1-keep)^N)`` distinct entries (independent uniform choices).
    TernGrad (Wen et al., NeurIPS 2017): ``⌈n/4⌉`` bytes (2 bits per element); the aggregate
    ``⌈n·⌈lg(2N+1)⌉/8⌉`` bytes.
    """
    n = max(int(elements), 1)
    if method == "terngrad":
        return float(math.ceil(n / 4)), float(math.ceil(n * level_bits(2 * workers + 1) / 8))

    def sparse(fraction: float) -> float:
        k = kept_entries(n, fraction)
        gap = max(round(n / k) - 1, 0)
        return float(COUNT_BYTES + k * (4 + int(varint_sizes(np.array([gap]))[0])))

    return sparse(keep), sparse(1.0 - (1.0 - keep) ** workers)


def expected_bucket_bytes(
    elements: Sequence[int], keep: float, workers: int, method: str
) -> tuple[float, float]:
    """:func:`expected_payload_bytes` summed over a bucket's layers (empty layers send
    nothing)."""
    push = pull = 0.0
    for n in elements:
        if n:
            a, c = expected_payload_bytes(n, keep, workers, method)
            push, pull = push + a, pull + c
    return push, pull


def overlapped_iteration_time(
    forward: np.ndarray,
    backward: Sequence[Sequence[np.ndarray]],
    exchange: Sequence[float],
    update: np.ndarray,
) -> tuple[float, float, float]:
    """(iteration time, compute, communication) of the bucket recurrence.

    ``forward`` and ``update`` hold each worker's time; ``backward[b]`` the per-worker times of
    the kernels that produce bucket ``b`` (its layers' backward, then the compression pass), and
    ``exchange[b]`` the bucket's exchange time. ``r_b`` accumulates the kernels,
    ``e_b = max(max_w r_b, e_{b-1}) + A(G_b)``; the iteration is ``max_w (e_last + U)`` and the
    compute ``max_w (r_last + U)``. One bucket without overlap is ``C + A(G)``.
    """
    ready = forward.copy()
    comm_end = 0.0
    comm_total = 0.0
    for kernels, comm in zip(backward, exchange, strict=True):
        for seconds in kernels:
            ready += seconds
        comm_end = max(float(ready.max()), comm_end) + comm
        comm_total += comm
    return float((comm_end + update).max()), float((ready + update).max()), comm_total
