"""Strokes on a pixel grid: the drawing primitive of the synthetic images.

A stroke is a line segment from ``start`` to ``end`` with a width ``w``, in image coordinates
``[-1, 1]²`` (``x`` to the right, ``y`` down; pixel centres at ``(2k + 1)/size - 1``). A pixel at
distance ``r`` from the segment gets intensity ``exp(-r² / (2w²))``, a Gaussian line profile;
a segment of zero length is a round dot. An image of several strokes takes their maximum, so
crossing strokes do not add up beyond 1. Because coordinates and widths are relative to the
image, the same strokes look the same at every resolution.

Rendering is vectorised over any leading dimensions (images, strokes) and the pixel grid; large
batches are rendered in chunks to bound memory.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pixel_centres", "place", "render"]

_CHUNK_ELEMENTS = 1 << 22
"""Distance-array elements (images × strokes × pixels) rendered at once."""


def pixel_centres(size: int) -> np.ndarray:
    """The ``size`` pixel-centre coordinates along one axis, in ``[-1, 1]``."""
    return (2.0 * np.arange(size) + 1.0) / size - 1.0


def place(
    points: np.ndarray, rotation: np.ndarray, zoom: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """``zoom · R(rotation) · p + shift`` for points ``(M, K, 2)`` and per-image ``rotation``
    (M,), ``zoom`` (M,) and ``shift`` (M, 2): the similarity transform that poses an object."""
    c, s = np.cos(rotation)[:, None], np.sin(rotation)[:, None]
    x, y = points[..., 0], points[..., 1]
    z = zoom[:, None]
    return np.stack(
        (z * (c * x - s * y) + shift[:, None, 0], z * (s * x + c * y) + shift[:, None, 1]),
        axis=-1,
    )


def render(starts: np.ndarray, ends: np.ndarray, widths: np.ndarray, size: int) -> np.ndarray:
    """Images ``(M, size, size)`` of ``M`` sets of ``K`` strokes: ``starts`` and ``ends`` are
    ``(M, K, 2)``, ``widths`` ``(M, K)``. Float64 intensities in ``[0, 1]``."""
    m, k = widths.shape
    grid = pixel_centres(size)
    px = grid[None, None, None, :]  # (1, 1, 1, W)
    py = grid[None, None, :, None]  # (1, 1, H, 1)
    out = np.empty((m, size, size))
    step = max(1, _CHUNK_ELEMENTS // (k * size * size))
    for lo in range(0, m, step):
        a = starts[lo : lo + step, :, None, None, :]  # (m', K, 1, 1, 2)
        d = ends[lo : lo + step, :, None, None, :] - a
        length2 = np.maximum((d * d).sum(axis=-1), 1e-12)
        t = ((px - a[..., 0]) * d[..., 0] + (py - a[..., 1]) * d[..., 1]) / length2
        t = np.clip(t, 0.0, 1.0)
        rx = px - (a[..., 0] + t * d[..., 0])
        ry = py - (a[..., 1] + t * d[..., 1])
        w = widths[lo : lo + step, :, None, None]
        out[lo : lo + step] = np.exp(-(rx * rx + ry * ry) / (2.0 * w * w)).max(axis=1)
    return out
