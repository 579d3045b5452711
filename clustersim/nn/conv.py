"""2-D convolution (NCHW) with stride, zero padding and dilation, by im2col and one matrix
product.

``y[n, o, i, j] = bias[o] + Σ_{c, a, b} weight[o, c, a, b] · xp[n, c, i·sh + a·dh, j·sw + b·dw]``
with ``xp`` the zero-padded input: the cross-correlation every deep-learning framework calls
convolution (PyTorch's ``Conv2d`` with ``groups=1``). The forward pass contracts the strided
window view of :mod:`clustersim.nn.windows` with the weights (``np.tensordot`` copies the
windows into the im2col matrix and calls one BLAS product, Chellapilla, Puri & Simard, "High
Performance Convolutional Neural Networks for Document Processing", IWFHR 2006). The backward
pass is the two products of the lecture notes' linear layer, on the im2col matrix:

* weight gradient ``∂W[o, c, a, b] = Σ_{n, i, j} ∂y[n, o, i, j] · xp[n, c, i·sh + a·dh, ...]``,
* data gradient: ``∂y`` times ``W`` gives one value per window element, which col2im
  (:func:`~clustersim.nn.windows.scatter_windows`) adds back onto the input positions it came
  from; the padding is then cropped away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.nn.layers import Params, Shape, WeightAndBias
from clustersim.nn.windows import (
    Padding,
    compact,
    output_size,
    pad,
    padding4,
    pair,
    scatter_windows,
    unpad,
    window_view,
)

__all__ = ["Conv2d", "conv2d"]


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | Sequence[Sequence[int]] = 0,
    dilation: int | Sequence[int] = 1,
) -> np.ndarray:
    """The convolution of ``x`` (N, C, H, W) with ``weight`` (O, C, kh, kw) and ``bias`` (O,).

    ``padding`` is an int, ``(rows, columns)`` or ``((top, bottom), (left, right))``: an
    asymmetric padding lets a caller convolve one tile of a larger map with zeros only on the
    sides where the map really ends.
    """
    if weight.ndim != 4:
        raise InputError(f"conv2d weight must be (O, C, kh, kw), got shape {weight.shape}")
    st, dl, pd = pair(stride, "stride"), pair(dilation, "dilation"), padding4(padding)
    _check_input(x, weight.shape[1], (weight.shape[2], weight.shape[3]), pd, dl)
    return _forward(pad(x, pd), weight, bias, st, dl)


def _check_input(
    x: np.ndarray,
    channels: int,
    kernel: tuple[int, int],
    padding: Padding,
    dilation: tuple[int, int],
) -> None:
    """InputError unless ``x`` is (N, channels, H, W) and the dilated kernel fits once padded."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise InputError(
            f"a convolution with {channels} input channels needs an (N, {channels}, H, W) "
            f"input, got shape {x.shape}"
        )
    output_size((x.shape[2], x.shape[3]), kernel, (1, 1), padding, dilation)


def _forward(
    xp: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> np.ndarray:
    windows = window_view(xp, (weight.shape[2], weight.shape[3]), stride, dilation)
    y = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    if bias is not None:
        y = y + bias[:, None, None]
    return y


class Conv2d(WeightAndBias):
    """A convolution layer: ``weight`` (out_channels, in_channels, kh, kw), ``bias``
    (out_channels,), input and output NCHW.

    Weights are He-normal, standard deviation ``sqrt(2 / (in_channels·kh·kw))`` (He et al.,
    ICCV 2015, §2.2, fan-in ``k²c``), biases zero. Forward FLOPs per sample:
    ``2·out_channels·Ho·Wo·in_channels·kh·kw`` (one multiply-add per weight and output pixel;
    the bias is the accumulator's initial value). ``lazy=True`` draws the weights on first use
    (see :class:`~clustersim.nn.layers.Parametrised`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | Sequence[Sequence[int]] = 0,
        dilation: int | Sequence[int] = 1,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
        lazy: bool = False,
    ) -> None:
        if in_channels < 1 or out_channels < 1:
            raise InputError(
                f"Conv2d needs positive in_channels and out_channels, got {in_channels} and "
                f"{out_channels}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "Conv2d kernel_size")
        self.stride = pair(stride, "Conv2d stride")
        self.padding = padding4(padding)
        self.dilation = pair(dilation, "Conv2d dilation")
        self.has_bias = bias
        self.dtype = np.dtype(dtype)
        self._init_parameters(rng, lazy)

    def __repr__(self) -> str:
        dilation = f", dilation={compact(self.dilation)}" if self.dilation != (1, 1) else ""
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, "
            f"kernel_size={compact(self.kernel_size)}, stride={compact(self.stride)}, "
            f"padding={compact(self.padding)}{dilation})"
        )

    def _draw(self, rng: np.random.Generator) -> Params:
        kh, kw = self.kernel_size
        std = math.sqrt(2.0 / (self.in_channels * kh * kw))
        shape = (self.out_channels, self.in_channels, kh, kw)
        out = {"weight": (rng.standard_normal(shape) * std).astype(self.dtype)}
        if self.has_bias:
            out["bias"] = np.zeros(self.out_channels, dtype=self.dtype)
        return out

    def parameter_shapes(self) -> dict[str, Shape]:
        out: dict[str, Shape] = {"weight": (self.out_channels, self.in_channels, *self.kernel_size)}
        if self.has_bias:
            out["bias"] = (self.out_channels,)
        return out

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        p = params if params is not None else self.parameters()
        _check_input(x, self.in_channels, self.kernel_size, self.padding, self.dilation)
        xp = pad(x, self.padding)
        return _forward(xp, p["weight"], p.get("bias"), self.stride, self.dilation), xp

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        p = params if params is not None else self.parameters()
        xp = cache
        windows = window_view(xp, self.kernel_size, self.stride, self.dilation)
        grads = {"weight": np.tensordot(grad_y, windows, axes=([0, 2, 3], [0, 2, 3]))}
        if "bias" in p:
            grads["bias"] = grad_y.sum(axis=(0, 2, 3))
        cols = np.tensordot(grad_y, p["weight"], axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
        grad_xp = scatter_windows(cols, xp.shape, self.stride, self.dilation)
        return unpad(grad_xp, self.padding), grads

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.in_channels:
            raise InputError(
                f"{self!r} expects a ({self.in_channels}, H, W) feature map per sample, got "
                f"shape {tuple(shape)}"
            )
        ho, wo = output_size(
            (shape[1], shape[2]), self.kernel_size, self.stride, self.padding, self.dilation
        )
        return (self.out_channels, ho, wo)

    def flops(self, shape: Shape) -> int:
        _, ho, wo = self.output_shape(shape)
        kh, kw = self.kernel_size
        return 2 * self.out_channels * ho * wo * self.in_channels * kh * kw
