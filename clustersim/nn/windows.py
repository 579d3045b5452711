"""Sliding windows over NCHW feature maps: the im2col view and its adjoint, for conv and pooling.

A convolution or pooling layer with kernel ``(kh, kw)``, stride ``(sh, sw)``, dilation
``(dh, dw)`` and padding ``(top, bottom, left, right)`` reads, for output pixel ``(i, j)``, the
input pixels ``(i·sh + a·dh, j·sw + b·dw)`` of the padded map, ``0 <= a < kh``, ``0 <= b < kw``.
The output has

    Ho = floor((H + top + bottom - dh·(kh - 1) - 1) / sh) + 1

rows (the same with ``W``, ``left``, ``right``, ``kw``, ``sw``, ``dw`` for columns), the
formula of PyTorch's ``Conv2d`` documentation and of Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning", arXiv:1603.07285, relationship 15.

:func:`window_view` gives every window at once as a read-only strided view ``(N, C, Ho, Wo,
kh, kw)`` (numpy's ``sliding_window_view`` with stride and dilation applied by slicing: no
copy); :func:`scatter_windows` is its adjoint (col2im): it adds window-shaped values back onto
the padded map with one strided slice per kernel offset, ``kh·kw`` numpy operations in all,
never a loop over pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from clustersim.errors import InputError

__all__ = [
    "Padding",
    "output_size",
    "pad",
    "padding4",
    "pair",
    "scatter_windows",
    "unpad",
    "window_view",
]

Padding = tuple[int, int, int, int]
"""Zero-padding rows and columns ``(top, bottom, left, right)``."""


def pair(value: int | Sequence[int], what: str, minimum: int = 1) -> tuple[int, int]:
    """``(value, value)`` for an int, or the two ints of a pair; each at least ``minimum``."""
    if isinstance(value, int | np.integer):
        out = (int(value), int(value))
    else:
        values = tuple(value)
        if len(values) != 2 or not all(isinstance(v, int | np.integer) for v in values):
            raise InputError(f"{what} must be an int or a pair of ints, got {value!r}")
        out = (int(values[0]), int(values[1]))
    if min(out) < minimum:
        raise InputError(f"{what} must be at least {minimum}, got {value!r}")
    return out


def compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """One int when every entry is equal (``(3, 3) -> 3``), else the tuple: for layer reprs."""
    return values[0] if len(set(values)) == 1 else values


def padding4(value: int | Sequence[int] | Sequence[Sequence[int]]) -> Padding:
    """Padding as ``(top, bottom, left, right)`` from an int (all four sides), a pair ``(rows,
    columns)`` (both sides alike) or a pair of pairs ``((top, bottom), (left, right))``."""
    if isinstance(value, int | np.integer):
        rows = cols = pair(value, "padding", minimum=0)
    else:
        parts = tuple(value)
        if len(parts) != 2:
            raise InputError(
                f"padding must be an int, (rows, columns) or ((top, bottom), (left, right)), "
                f"got {value!r}"
            )
        rows, cols = (pair(p, "padding", minimum=0) for p in parts)
    return (rows[0], rows[1], cols[0], cols[1])


def output_size(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: Padding,
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int]:
    """``(Ho, Wo)`` for an ``(H, W)`` input; InputError when the dilated kernel does not fit in
    the padded input (the output would have no pixel)."""
    out = []
    for axis, (n, k, s, d, before, after) in enumerate(
        (
            (size[0], kernel[0], stride[0], dilation[0], padding[0], padding[1]),
            (size[1], kernel[1], stride[1], dilation[1], padding[2], padding[3]),
        )
    ):
        span = d * (k - 1) + 1
        padded = n + before + after
        if span > padded:
            name = ("height", "width")[axis]
            raise InputError(
                f"the kernel's {name} {k} (dilation {d}: it spans {span} pixels) is larger than "
                f"the padded input {name} {padded} ({n} + padding {before} + {after}); the "
                "output would be empty"
            )
        out.append((padded - span) // s + 1)
    return out[0], out[1]


def pad(x: np.ndarray, padding: Padding, value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) with ``padding`` rows and columns of ``value`` around each map."""
    top, bottom, left, right = padding
    if not any(padding):
        return x
    return np.pad(
        x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="constant", constant_values=value
    )


def unpad(x: np.ndarray, padding: Padding) -> np.ndarray:
    """The inverse crop of :func:`pad`."""
    top, bottom, left, right = padding
    h, w = x.shape[2], x.shape[3]
    return x[:, :, top : h - bottom, left : w - right]


def window_view(
    xp: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """Every window of the padded map ``xp`` (N, C, Hp, Wp) as a read-only view
    ``(N, C, Ho, Wo, kh, kw)``: ``view[n, c, i, j, a, b] = xp[n, c, i·sh + a·dh, j·sw + b·dw]``."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = sliding_window_view(xp, span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def scatter_windows(
    windows: np.ndarray,
    padded_shape: tuple[int, ...],
    stride: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """The adjoint of :func:`window_view` (col2im): a zero map of ``padded_shape`` onto which
    ``windows[n, c, i, j, a, b]`` is added at ``(i·sh + a·dh, j·sw + b·dw)``.

    Overlapping windows (stride smaller than the kernel) add up. One strided ``+=`` per kernel
    offset ``(a, b)``: within one offset the target pixels are distinct, so no update is lost.
    """
    ho, wo, kh, kw = windows.shape[2:]
    (sh, sw), (dh, dw) = stride, dilation
    out = np.zeros(padded_shape, dtype=windows.dtype)
    for a in range(kh):
        rows = slice(a * dh, a * dh + sh * (ho - 1) + 1, sh)
        for b in range(kw):
            cols = slice(b * dw, b * dw + sw * (wo - 1) + 1, sw)
            out[:, :, rows, cols] += windows[:, :, :, :, a, b]
    return out
