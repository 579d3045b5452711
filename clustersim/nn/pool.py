"""Max and average pooling over NCHW maps, on the strided window view of
:mod:`clustersim.nn.windows`.

Both follow PyTorch's ``MaxPool2d`` / ``AvgPool2d`` defaults: ``stride`` defaults to the kernel
size, padding is implicit (``-inf`` for max, zeros counted in the average, i.e.
``count_include_pad=True``), the output size is rounded down (``ceil_mode=False``) and padding
may be at most half the kernel, so every window holds at least one real pixel.

FLOPs at inference: max-pooling is comparisons only, 0 FLOP; average-pooling costs
``kh·kw`` FLOP per output (``kh·kw - 1`` additions and one multiplication by ``1/(kh·kw)``), the
convention :func:`clustersim.training.profiles.resnet50_profile` uses for its global pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.nn.layers import Module, Params, Shape, numel
from clustersim.nn.windows import (
    compact,
    output_size,
    pad,
    padding4,
    pair,
    scatter_windows,
    unpad,
    window_view,
)

__all__ = ["AvgPool2d", "MaxPool2d"]


class _Pool2d(Module):
    """What max and average pooling share: the window geometry and the shape checks."""

    name = "Pool2d"

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
    ) -> None:
        self.kernel_size = pair(kernel_size, f"{self.name} kernel_size")
        self.stride = (
            pair(stride, f"{self.name} stride") if stride is not None else self.kernel_size
        )
        self.padding = padding4(padding)
        kh, kw = self.kernel_size
        top, bottom, left, right = self.padding
        if max(top, bottom) > kh // 2 or max(left, right) > kw // 2:
            raise InputError(
                f"{self.name} padding {self.padding} must be at most half the kernel "
                f"{self.kernel_size} on every side, so that no window is all padding"
            )

    def __repr__(self) -> str:
        padding = f", padding={compact(self.padding)}" if any(self.padding) else ""
        return (
            f"{self.name}(kernel_size={compact(self.kernel_size)}, "
            f"stride={compact(self.stride)}{padding})"
        )

    def _check(self, x: np.ndarray) -> None:
        if x.ndim != 4:
            raise InputError(f"{self!r} needs an (N, C, H, W) input, got shape {x.shape}")
        output_size((x.shape[2], x.shape[3]), self.kernel_size, self.stride, self.padding)

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3:
            raise InputError(f"{self!r} expects a (C, H, W) map per sample, got shape {shape}")
        ho, wo = output_size((shape[1], shape[2]), self.kernel_size, self.stride, self.padding)
        return (shape[0], ho, wo)


class MaxPool2d(_Pool2d):
    """The maximum of every window. The backward pass sends each output's gradient to the one
    input that won (the first maximum in row-major window order, as ``argmax`` picks; with
    overlapping windows an input collects the gradients of every window it won)."""

    name = "MaxPool2d"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        self._check(x)
        xp = pad(x, self.padding, -np.inf)
        windows = window_view(xp, self.kernel_size, self.stride)
        n, c, ho, wo, kh, kw = windows.shape
        flat = windows.reshape(n, c, ho, wo, kh * kw)
        winner = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, winner[..., None], axis=-1)[..., 0]
        return y, (winner, xp.shape)

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        winner, padded_shape = cache
        kh, kw = self.kernel_size
        cols = np.zeros((*grad_y.shape, kh * kw), dtype=grad_y.dtype)
        np.put_along_axis(cols, winner[..., None], grad_y[..., None], axis=-1)
        cols = cols.reshape(*grad_y.shape, kh, kw)
        grad_xp = scatter_windows(cols, padded_shape, self.stride)
        return unpad(grad_xp, self.padding), {}

    def flops(self, shape: Shape) -> int:
        self.output_shape(shape)
        return 0


class AvgPool2d(_Pool2d):
    """The mean of every window (padding zeros included in the count); the backward pass
    spreads each output's gradient evenly over its window."""

    name = "AvgPool2d"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        self._check(x)
        xp = pad(x, self.padding)
        windows = window_view(xp, self.kernel_size, self.stride)
        kh, kw = self.kernel_size
        y = windows.sum(axis=(4, 5)) * np.asarray(1.0 / (kh * kw), dtype=x.dtype)
        return y, xp.shape

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        kh, kw = self.kernel_size
        share = grad_y * np.asarray(1.0 / (kh * kw), dtype=grad_y.dtype)
        cols = np.broadcast_to(share[..., None, None], (*grad_y.shape, kh, kw))
        grad_xp = scatter_windows(cols, cache, self.stride)
        return unpad(grad_xp, self.padding), {}

    def flops(self, shape: Shape) -> int:
        kh, kw = self.kernel_size
        return kh * kw * numel(self.output_shape(shape))
