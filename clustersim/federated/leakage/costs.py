"""Closed forms of a leakage run: what each defence puts on the wire, and what the attack costs.

* Payload bytes (:func:`payload_bytes`) of a model with tensors of ``n_t`` elements
  (``n = Σ n_t``): dense float32 ``4n`` (no defence, noise, a larger batch); fp16 ``2n``;
  int8 ``n + 4T`` (a float32 scale per tensor, ``T`` tensors); TernGrad ``Σ ⌈n_t / 4⌉ + 4T``
  (2 bits an element, Wen et al., NeurIPS 2017, §3); the sparse run-length encoding of pruning
  and DGC (Lin et al., ICLR 2018; ``clustersim.training.data_parallel.compression``) per sparse
  tensor ``4 + 4k + Σ varint(gap)`` with ``k = ⌈(1 - s) n_t⌉`` kept entries. The gaps depend
  on where the kept entries fall; the estimate takes them evenly spread, every gap
  ``⌊n_t / k⌋ - 1`` and ``⌈bits(gap) / 7⌉`` bytes (LEB128), so it is exact when the kept
  entries are equally spaced and within a byte per entry otherwise. DGC sends biases dense.
* FLOPs (a multiply-add is 2) of the products of
  :mod:`clustersim.federated.leakage.kernels` for a batch of ``B`` on layers ``(a_l, b_l)``:
  the client's gradient (forward, ``∇W``, and the data gradient of every layer but the first)
  ``2B (2 Σ a_l b_l + Σ_{l≥2} a_l b_l)`` (:func:`gradient_flops`); one evaluation of DLG's
  matching loss and its gradient (forward, backward, the reverse of the backward: two products
  per layer and one more per hidden layer, the reverse of the forward)
  ``2B (5 Σ a_l b_l + 2 Σ_{l≥2} a_l b_l)`` (:func:`matching_flops`). Their memory traffic is
  counted as the weight-sized arrays they read or write, in float64: 3 per layer for the
  gradient, 7 per layer for a matching evaluation (elementwise work is left out).
* A transfer alone on its path takes ``latency + bytes / bandwidth`` (docs/architecture.md §3).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "gradient_bytes",
    "gradient_flops",
    "gradient_kernels",
    "matching_bytes",
    "matching_flops",
    "matching_kernels",
    "payload_bytes",
    "sparse_tensor_bytes",
    "transfer_time",
]

_F64 = 8


def _products(sizes: Sequence[int]) -> tuple[int, int]:
    """``(Σ_l a_l b_l, Σ_{l≥2} a_l b_l)`` over the layers of ``sizes``."""
    pairs = [a * b for a, b in itertools.pairwise(sizes)]
    return sum(pairs), sum(pairs[1:])


def gradient_flops(sizes: Sequence[int], batch: int) -> float:
    """FLOP of one gradient of the MLP ``sizes`` on ``batch`` samples."""
    total, later = _products(sizes)
    return 2.0 * batch * (2 * total + later)


def gradient_kernels(sizes: Sequence[int]) -> int:
    """Kernels of one gradient: one matrix product per product :func:`gradient_flops` counts,
    ``2L + (L - 1)`` for ``L`` layers (forward, weight gradients, and the data gradients of
    every layer but the first)."""
    layers = len(sizes) - 1
    return 2 * layers + max(layers - 1, 0)


def gradient_bytes(sizes: Sequence[int]) -> float:
    """Bytes of the weight-sized arrays a gradient reads or writes (3 per layer, float64)."""
    return 3.0 * _F64 * _products(sizes)[0]


def matching_flops(sizes: Sequence[int], batch: int) -> float:
    """FLOP of one evaluation of DLG's matching loss and its gradient."""
    total, later = _products(sizes)
    return 2.0 * batch * (5 * total + 2 * later)


def matching_kernels(sizes: Sequence[int]) -> int:
    """Kernels of one matching evaluation: one per product :func:`matching_flops` counts,
    ``5L + 2(L - 1)`` for ``L`` layers."""
    layers = len(sizes) - 1
    return 5 * layers + 2 * max(layers - 1, 0)


def matching_bytes(sizes: Sequence[int]) -> float:
    """Bytes of the weight-sized arrays one matching evaluation reads or writes (7 per
    layer, float64)."""
    return 7.0 * _F64 * _products(sizes)[0]


def _varint_bytes(value: int) -> int:
    return max(1, math.ceil(max(value, 1).bit_length() / 7))


def sparse_tensor_bytes(n: int, sparsity: float) -> float:
    """Estimated bytes of one tensor of ``n`` elements at ``sparsity`` in the sparse encoding
    (count, evenly spread gaps as varints, float32 values)."""
    k = max(1, min(n, math.ceil(round((1.0 - sparsity) * n, 9))))
    gap = n // k - 1
    return 4.0 + 4.0 * k + k * _varint_bytes(gap)


def payload_bytes(spec: Any, tensors: Sequence[tuple[int, bool]]) -> float:
    """Bytes a defence ``spec`` (its ``kind``, ``sparsity``) sends for a gradient with tensors
    ``(elements, is_weight)``."""
    kind = spec.kind
    n = sum(size for size, _ in tensors)
    count = len(tensors)
    if kind in ("none", "noise", "batch"):
        return 4.0 * n
    if kind == "fp16":
        return 2.0 * n
    if kind == "int8":
        return float(n + 4 * count)
    if kind == "terngrad":
        return float(sum(math.ceil(size / 4) for size, _ in tensors) + 4 * count)
    if kind == "prune":
        return sum(sparse_tensor_bytes(size, spec.sparsity) for size, _ in tensors)
    if kind == "dgc":
        return sum(
            sparse_tensor_bytes(size, spec.sparsity) if weight else 4.0 * size
            for size, weight in tensors
        )
    raise ValueError(f"unknown defence {kind!r}")


def transfer_time(latency: float, size: float, bandwidth: float) -> float:
    """``latency + size / bandwidth``: a transfer alone on its path."""
    return latency + size / bandwidth
