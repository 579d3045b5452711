"""Splitting a buffer into per-rank chunks, and the padded layout the kernels work on."""

from __future__ import annotations

import numpy as np

__all__ = ["chunk_lengths", "from_padded", "to_padded"]


def chunk_lengths(elements: int, parts: int) -> np.ndarray:
    """Element counts of ``parts`` chunks as even as possible (``numpy.array_split`` rule).

    The first ``elements % parts`` chunks get one element more than the others.
    """
    base, extra = divmod(int(elements), int(parts))
    lengths = np.full(parts, base, dtype=np.int64)
    lengths[:extra] += 1
    return lengths


def to_padded(buffers: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(ranks, elements) -> (ranks, chunks, max_len) with chunk c in slot c, zero padded.

    With even chunks the result is a view of ``buffers`` (no copy).

    Zero padding is neutral for sums and is dropped by :func:`from_padded`, so kernels can move
    whole slots with vectorised fancy indexing even when chunks are uneven.
    """
    ranks = buffers.shape[0]
    parts = lengths.size
    width = int(lengths.max()) if parts else 0
    if parts and np.all(lengths == width):
        return buffers.reshape(ranks, parts, width)  # a view: even chunks need no padding
    padded = np.zeros((ranks, parts, width), dtype=buffers.dtype)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    for c, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=False)):
        padded[:, c, :length] = buffers[:, start : start + length]
    return padded


def from_padded(padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_padded`: (ranks, chunks, max_len) -> (ranks, elements)."""
    width = padded.shape[2]
    if np.all(lengths == width):
        return padded.reshape(padded.shape[0], -1).copy()
    return np.concatenate([padded[:, c, :n] for c, n in enumerate(lengths.tolist())], axis=1)
