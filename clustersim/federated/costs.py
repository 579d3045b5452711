"""Closed forms of a federated round: bytes, local work, transfer times, the straggler's round.

* :func:`local_work`: one local epoch of minibatch SGD on ``n`` samples from the model's layer
  profile (:func:`clustersim.nn.profile`: a multiply-add is 2 FLOP, the device roofline's
  convention): the forward pass's FLOPs and memory traffic, the backward pass twice the forward
  (a layer's data and weight gradients are two products of the forward's size; the convention
  of :func:`clustersim.training.data_parallel.costs.mlp_layer_costs`), and the update: 2 FLOP
  per parameter (``w -= lr·g``), 5 with FedProx's proximal term (``g += μ(w - w^t)`` adds 3),
  reading weights and gradient and writing the weights.
* :func:`training_memory`: the bytes local training holds at once: the weights and their
  gradients (two copies of the parameters; plain SGD keeps no optimiser state, the "model
  states" of Rajbhandari et al., "ZeRO", SC 2020, §3.1) and, per sample of the minibatch, the
  input and every layer's output, which backpropagation keeps from the forward pass (Chen, Xu,
  Zhang & Guestrin, "Training Deep Nets with Sublinear Memory Cost", arXiv:1604.06174, §3).
* :func:`heterofl_parameters`: the parameters of a HeteroFL sub-model of width rate ``r`` of
  an MLP ``[d_0, d_1, ..., d_L]`` (Diao et al., ICLR 2021, §3.1: hidden widths cut to
  ``⌈r·d_l⌉``, input and output kept): ``Σ_l (d'_{l-1} + 1)·d'_l`` with ``d'_0 = d_0``,
  ``d'_L = d_L``; hidden-to-hidden layers shrink by ``r²``, the first and last by ``r``.
* :func:`expected_wire_bytes`: a transfer over a link losing a share ``p`` of its packets under
  ideal selective-repeat ARQ: ``size + ceil(size / packet) · p / (1 - p) · packet`` (the
  expected ``1 / (1 - p)`` transmissions per packet; Bertsekas & Gallager, *Data Networks*,
  1992, §2.4). The simulation draws the retransmissions instead
  (:mod:`clustersim.federated.channel`).
* :func:`transfer_time`: alone on its path a transfer takes ``latency + size / bandwidth``
  (docs/architecture.md §3).
* :func:`expected_round_time`: the round ends when its slowest selected client reports (the
  lecture notes: "the total latency of each training round [is] bottlenecked by the straggler").
  With ``m`` of ``K`` clients chosen uniformly without replacement and contention-free client
  times ``T_(1) <= ... <= T_(K)``, the largest chosen one is ``T_(j)`` with probability
  ``C(j-1, m-1) / C(K, m)`` (the distribution of the maximum of a simple random sample, e.g.
  David & Nagaraja, *Order Statistics*, 3rd ed., 2003, §2.1), so
  ``E[T_round] = Σ_j min(T_(j), D) · C(j-1, m-1) / C(K, m)`` for a deadline ``D``. Exact for
  full participation on a contention-free topology; with shared links or a shared Wi-Fi medium
  the simulated rounds are longer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from clustersim.nn import LayerCost

__all__ = [
    "AGGREGATE_KERNELS",
    "expected_round_time",
    "expected_wire_bytes",
    "heterofl_parameters",
    "local_kernels",
    "local_work",
    "model_bytes",
    "training_memory",
    "transfer_time",
]


def model_bytes(parameters: int, itemsize: int) -> float:
    """Bytes of a dense model (or update) of ``parameters`` elements of ``itemsize`` bytes."""
    return float(parameters * itemsize)


def local_work(
    layers: Sequence[LayerCost], samples: int, batch: int | None, itemsize: int, *,
    proximal: bool,
) -> tuple[float, float]:  # fmt: skip
    """(FLOP, bytes of memory traffic) of one local epoch of a model with layer profile
    ``layers`` on ``samples``.

    The epoch is ``samples // batch`` full minibatches and one of the remainder (``batch``
    None: one step on everything); a step on ``b`` samples costs ``3 · b ·`` the forward FLOPs
    and ``3 ·`` the forward's traffic (``LayerCost.bytes_moved(b)``), plus the update.
    """
    if samples <= 0:
        return 0.0, 0.0
    batch = samples if batch is None else batch
    parameters = sum(layer.params for layer in layers)
    per_update = (5.0 if proximal else 2.0) * parameters
    update_bytes = 3.0 * parameters * itemsize
    forward = float(sum(layer.flops for layer in layers))
    full, rest = divmod(samples, batch)
    flops = moved = 0.0
    for count, width in ((full, batch), (1 if rest else 0, rest)):
        if count:
            flops += count * (3.0 * forward * width + per_update)
            traffic = sum(layer.bytes_moved(width) for layer in layers)
            moved += count * (3.0 * traffic + update_bytes)
    return flops, moved


AGGREGATE_KERNELS = 1
"""Kernels of the server's aggregation of a round: one fused weighted sum over the updates."""


def local_kernels(layers: Sequence[LayerCost], samples: int, batch: int | None) -> int:
    """Kernels one local epoch launches, each paying the device's launch overhead
    (:meth:`clustersim.hardware.spec.DeviceSpec.kernel_time`): per minibatch step (as many as
    :func:`local_work` counts) one forward kernel per layer, two backward kernels per layer with
    parameters (the data and the weight gradient) and one per layer without, none for a view
    (:attr:`clustersim.nn.LayerCost.kernels`), and one fused update over every parameter."""
    if samples <= 0 or not layers:
        return 0
    batch = samples if batch is None else batch
    full, rest = divmod(samples, batch)
    per_step = sum(layer.kernels * (1 + (2 if layer.params else 1)) for layer in layers) + 1
    return (full + (1 if rest else 0)) * per_step


def training_memory(layers: Sequence[LayerCost], batch: int, itemsize: int) -> float:
    """Bytes local training on minibatches of ``batch`` holds: weights, gradients, and the
    minibatch's input and activations."""
    if not layers:
        return 0.0
    params = float(sum(layer.params for layer in layers)) * itemsize
    activations = layers[0].input_bytes + sum(layer.output_bytes for layer in layers)
    return 2.0 * params + batch * float(activations)


def heterofl_parameters(sizes: Sequence[int], rate: float) -> int:
    """Parameters of the rate-``rate`` sub-model of the MLP ``sizes`` (weights and biases)."""
    cut = [int(sizes[0])]
    cut += [max(1, math.ceil(round(rate * d, 9))) for d in sizes[1:-1]]
    cut.append(int(sizes[-1]))
    return sum((a + 1) * b for a, b in itertools.pairwise(cut))


def expected_wire_bytes(size: float, loss: float, packet: float) -> float:
    """Expected bytes on the wire of a ``size``-byte transfer at packet loss rate ``loss``."""
    if size <= 0:
        return 0.0
    return size + math.ceil(size / packet) * loss / (1.0 - loss) * packet


def transfer_time(latency: float, size: float, bandwidth: float) -> float:
    """``latency + size / bandwidth``: a transfer alone on its path."""
    return latency + size / bandwidth


def expected_round_time(times: Sequence[float], m: int, deadline: float | None = None) -> float:
    """Expected round time ``E[min(max_{k∈S} T_k, D)]`` for a uniform ``m``-subset ``S``."""
    t = np.sort(np.asarray(times, dtype=float))
    if deadline is not None:
        t = np.minimum(t, deadline)
    k = t.size
    if m >= k:
        return float(t[-1])
    j = np.arange(1, k + 1)
    # C(j-1, m-1) / C(k, m), in logs for large k
    log_p = _log_comb(j - 1, m - 1) - _log_comb(np.array([k]), m)[0]
    p = np.exp(log_p)  # 0 where j < m
    return float((p * t).sum())


def _log_comb(n: np.ndarray, r: int) -> np.ndarray:
    """log C(n, r) elementwise (-inf where n < r)."""
    out = np.full(n.shape, -np.inf)
    ok = n >= r
    out[ok] = [
        math.lgamma(v + 1) - math.lgamma(r + 1) - math.lgamma(v - r + 1) for v in n[ok].tolist()
    ]
    return out
