"""The collectives' shared numerics: chunking a buffer, the padded layout, the inputs and
starting buffers of a verified run, whole-row moves, and checking a result.

**Chunks.** Each algorithm cuts a rank's buffer into chunks; :func:`chunk_lengths` makes them as
even as the elements allow and :func:`to_padded` lays them out as (ranks, chunks, width) so a
step of any schedule is one vectorised numpy operation.

**Checks.** Numerical checks of a collective's result against the direct computation.

Float tolerance: a ring (or any sequential) reduction of p values is recursive summation, whose
error is at most (p-1)·u·Σ|x_i| (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd
ed., §4.2, eq. 4.4, to first order in u). The reference is the float64 sum, whose own error is
bounded the same way in float64; the tolerance is twice the bound of the collective's dtype, so
a correct reduction in any order passes and a missing or doubled contribution (an error of
order |x|) fails. Integer results must match exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.kinds.contract import check

__all__ = [
    "add_rows",
    "check_collective",
    "chunk_lengths",
    "copy_rows",
    "from_padded",
    "random_inputs",
    "starting_buffers",
    "to_padded",
]


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


def random_inputs(rng: np.random.Generator, p: int, elements: int, dtype: np.dtype) -> np.ndarray:
    """The (p, elements) buffers a verified run starts from, drawn from ``rng``.

    Integers uniform in [-1000, 1000); floats uniform in [-1, 1): cheap to draw, and signed so
    that sums cancel as gradients do (float16 is drawn in float32 and rounded).
    """
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-1000, 1000, size=(p, elements)).astype(dtype)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    values = rng.random((p, elements), dtype=draw_dtype)
    values *= 2
    values -= 1
    return values.astype(dtype, copy=False)


def starting_buffers(op: str, inputs: np.ndarray, root: int) -> np.ndarray:
    """The working buffers: what each rank holds before ``op``, from the padded ``inputs``.

    An all-gather starts with each rank's own chunk only, a broadcast with the root's buffer
    only (the others zero); every other op starts from the whole inputs.
    """
    padded = inputs.copy()
    p = padded.shape[0]
    if op == "allgather":
        own = padded[np.arange(p), np.arange(p)].copy()
        padded[:] = 0
        padded[np.arange(p), np.arange(p)] = own
    elif op == "broadcast":
        padded[np.arange(p) != root] = 0
    return padded


def add_rows(padded: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Rank ``dst[i]`` adds rank ``src[i]``'s whole buffer to its own (no rank is both)."""
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        padded[d] += padded[s]


def copy_rows(padded: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Rank ``dst[i]`` stores rank ``src[i]``'s whole buffer."""
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        padded[d] = padded[s]


_BLOCK_BYTES = 1 << 21
"""Work on column blocks of about this many input bytes, so temporaries stay in cache."""


def _tolerance(magnitude: np.ndarray, terms: int, dtype: np.dtype) -> np.ndarray:
    """Twice Higham's recursive-summation bound (p-1)·u·Σ|x|; zero for integers."""
    if np.issubdtype(dtype, np.integer):
        return np.zeros_like(magnitude)
    unit_roundoff = float(np.finfo(dtype).eps) / 2
    return 2.0 * max(terms - 1, 1) * unit_roundoff * magnitude


class _Tally:
    """Running worst error, worst tolerance and pass/fail over compared blocks."""

    def __init__(self) -> None:
        self.passed = True
        self.max_abs_err = 0.0
        self.tolerance = 0.0

    def add(self, results: np.ndarray, reference: np.ndarray, bound: np.ndarray) -> None:
        error = np.abs(np.subtract(results, reference, dtype=np.float64))
        if error.size:
            self.max_abs_err = max(self.max_abs_err, float(error.max()))
            self.tolerance = max(self.tolerance, float(bound.max()))
            self.passed &= bool((error <= bound).all())

    def record(self) -> dict[str, Any]:
        return check(self.passed, max_abs_err=self.max_abs_err, tolerance=self.tolerance)


def _blocks(columns: int, rows: int, itemsize: int) -> range:
    step = max(256, _BLOCK_BYTES // max(1, rows * itemsize))
    return range(0, columns, step)


def _sum_check(tally: _Tally, inputs: np.ndarray, results: np.ndarray) -> None:
    """Compare ``results`` (p', elements) rows with the column sums of ``inputs`` (p, elements),
    block by block, within Higham's bound for p terms."""
    p = inputs.shape[0]
    step = _blocks(inputs.shape[1], p, inputs.dtype.itemsize).step
    for start in range(0, inputs.shape[1], step):
        block = inputs[:, start : start + step]
        reference = block.sum(axis=0, dtype=np.float64)
        bound = _tolerance(np.abs(block).sum(axis=0, dtype=np.float64), p, inputs.dtype)
        tally.add(results[:, start : start + step], reference, bound)


def check_collective(
    op: str, inputs: np.ndarray, outputs: np.ndarray, root: int = 0
) -> dict[str, dict[str, Any]]:
    """Check ``outputs`` of ``op`` against ``inputs``, both in padded (ranks, chunks, width) layout.

    * allreduce: every rank holds the sum over ranks (check ``allreduce_equals_sum``);
    * reduce: rank ``root`` holds the sum over ranks (``reduce_equals_sum``);
    * reduce_scatter: rank r holds the sum of chunk r (``reduce_scatter_equals_sum``);
    * allgather: every rank holds chunk c of rank c for every c (``allgather_equals_concat``,
      exact: nothing is computed, only copied);
    * broadcast: every rank holds rank ``root``'s buffer (``broadcast_equals_root``, exact);
    * alltoall: rank r's block j is rank j's block r (``alltoall_equals_transpose``, exact).
    """
    p = inputs.shape[0]
    tally = _Tally()
    exact = np.zeros(1)
    if op == "allgather":
        own = inputs[np.arange(p), np.arange(p)]  # (chunks, width): rank c's chunk c
        for row in outputs:
            tally.add(row, own, exact)
        return {"allgather_equals_concat": tally.record()}
    if op == "broadcast":
        for row in outputs:
            tally.add(row, inputs[root], exact)
        return {"broadcast_equals_root": tally.record()}
    if op == "alltoall":
        for rank in range(p):
            tally.add(outputs[rank], inputs[:, rank], exact)
        return {"alltoall_equals_transpose": tally.record()}
    if op in ("allreduce", "reduce"):
        flat_in = inputs.reshape(p, -1)
        flat_out = outputs.reshape(p, -1)
        if op == "allreduce":
            _sum_check(tally, flat_in, flat_out)
            return {"allreduce_equals_sum": tally.record()}
        _sum_check(tally, flat_in, flat_out[root : root + 1])
        return {"reduce_equals_sum": tally.record()}
    if op == "reduce_scatter":
        for rank in range(p):
            _sum_check(tally, inputs[:, rank], outputs[rank : rank + 1, rank])
        return {"reduce_scatter_equals_sum": tally.record()}
    raise ValueError(f"no check for collective op {op!r}")
