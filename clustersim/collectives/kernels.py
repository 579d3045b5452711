"""The collectives' shared numerics: chunking a buffer, the padded layout, the inputs of a verified
run (drawn in place and redrawn block by block), whole-row moves, and checking a result.

**Chunks.** Each algorithm cuts a rank's buffer into chunks; :func:`chunk_lengths` makes them as
even as the elements allow and :func:`to_padded` lays them out as (ranks, chunks, width) so a
step of any schedule is one vectorised numpy operation, or a short loop of in-place operations
on whole chunks when a vectorised gather would need a large temporary (:func:`gather_fits`).

**Inputs.** :class:`InputStream` draws the inputs of a verified run from one PCG64 stream straight
into the replay buffers and can redraw any block of them later, bit for bit, so that the check
needs no copy of the inputs: a verified run holds the ranks' buffers, one chunk of scratch and
one block of the check (docs/architecture.md §6).

**Checks.** Numerical checks of a collective's result against the direct computation, block by
block. Float tolerance: a ring (or any sequential) reduction of p values is recursive summation,
whose error is at most (p-1)·u·Σ|x_i| (Higham, *Accuracy and Stability of Numerical Algorithms*,
2nd ed., §4.2, eq. 4.4, to first order in u). The reference is the float64 sum, whose own error
is bounded the same way in float64; the tolerance is twice the bound of the collective's dtype,
so a correct reduction in any order passes and a missing or doubled contribution (an error of
order |x|) fails. Integer results must match exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from clustersim.kinds.contract import check

__all__ = [
    "CHECK_BLOCK_BYTES",
    "SCRATCH_BYTES",
    "InputStream",
    "add_rows",
    "check_collective",
    "chunk_lengths",
    "copy_rows",
    "from_padded",
    "gather_fits",
    "random_inputs",
    "starting_buffers",
    "to_padded",
]

SCRATCH_BYTES = 4 * 2**20
"""Largest temporary a kernel step may gather for a vectorised update; above it the step moves
whole chunks in place one after another (one chunk of scratch at most)."""

CHECK_BLOCK_BYTES = 2 * 2**20
"""Input bytes (all ranks) the check compares at a time, so its temporaries stay in cache."""

_DRAW_BLOCK = 1 << 16
"""Elements drawn at a time when filling a chunk, so the affine step runs on cached data."""

_INT_RANGE = 2000
"""Integer inputs are uniform in [-1000, 1000)."""


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


def gather_fits(rows: int, width: int, itemsize: int) -> bool:
    """Whether gathering ``rows`` slots of ``width`` elements stays within
    :data:`SCRATCH_BYTES` (else a kernel moves the slots in place, one at a time)."""
    return rows * width * itemsize <= SCRATCH_BYTES


# ------------------------------------------------------------------------------------ inputs
class InputStream:
    """The inputs of a verified run: rank ``r``'s element ``k`` is value ``r·E + k`` of one
    PCG64 stream (``E`` elements per rank), drawn in place and redrawn on demand.

    Floats are uniform in [-1, 1): the stream's float32 uniforms (float64 ones for float64,
    float32 rounded for float16) times 2 minus 1, exactly what ``rng.random((p, E)) * 2 - 1``
    draws; integers are uniform in [-1000, 1000), one 64-bit draw each. Because PCG64 can
    ``advance`` to any position, any block can be redrawn bit for bit without keeping a copy:
    the check redraws the inputs it compares against. One cursor per rank makes reading rank by
    rank, chunk by chunk (the order of :meth:`fill` and of the checks) a sequential read of the
    stream, with no jumps.

    Args:
        rng: the run's generator (PCG64, e.g. ``cluster.sim.rng("collective.inputs")``); its
            state is read, not advanced.
        p: ranks.
        lengths: elements of each chunk of the layout (``E = lengths.sum()``).
        dtype: the collective's dtype.
    """

    def __init__(
        self, rng: np.random.Generator, p: int, lengths: np.ndarray, dtype: np.dtype
    ) -> None:
        if not isinstance(rng.bit_generator, np.random.PCG64):
            raise TypeError("InputStream needs a PCG64 generator (it jumps within the stream)")
        self._state = rng.bit_generator.state
        self.p = int(p)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)
        self.elements = int(self.lengths.sum())
        self.width = int(self.lengths.max()) if self.lengths.size else 0
        self.dtype = np.dtype(dtype)
        self._integer = bool(np.issubdtype(self.dtype, np.integer))
        self._draw_dtype = np.dtype(np.float64 if self.dtype == np.float64 else np.float32)
        self._cursors: dict[int, tuple[np.random.Generator, int]] = {}
        self._scratch = np.empty(0, dtype=self._draw_dtype)
        self._block = np.empty((0, 0), dtype=self.dtype)

    def _generator(self, row: int, start: int) -> np.random.Generator:
        """A generator positioned at rank ``row``'s element ``start``."""
        cursor = self._cursors.get(row)
        if cursor is not None and cursor[1] == start:
            return cursor[0]
        bits = np.random.PCG64(0)
        bits.state = self._state
        position = row * self.elements + start
        halves = self._draw_dtype == np.float32 and not self._integer
        bits.advance(position // 2 if halves else position)
        generator = np.random.Generator(bits)
        if halves and position % 2:
            generator.random(1, dtype=np.float32)  # a float32 uses half of a 64-bit draw
        return generator

    def draw(self, row: int, start: int, out: np.ndarray) -> None:
        """Write rank ``row``'s elements ``start .. start + out.size`` into ``out`` (1-D)."""
        generator = self._generator(row, start)
        count = out.size
        for a in range(0, count, _DRAW_BLOCK):
            piece = out[a : a + _DRAW_BLOCK]
            if self._integer:
                raw = generator.bit_generator.random_raw(piece.size)
                np.remainder(raw, _INT_RANGE, out=raw)
                np.subtract(raw.view(np.int64), _INT_RANGE // 2, out=piece, casting="unsafe")
                continue
            if piece.dtype == self._draw_dtype:
                target = piece
            else:  # float16: drawn in float32, rounded
                if self._scratch.size < piece.size:
                    self._scratch = np.empty(_DRAW_BLOCK, dtype=self._draw_dtype)
                target = self._scratch[: piece.size]
            generator.random(out=target, dtype=self._draw_dtype)
            target *= 2
            target -= 1
            if target is not piece:
                piece[...] = target
        self._cursors[row] = (generator, start + count)

    def fill(self, padded: np.ndarray, op: str = "allreduce", root: int = 0) -> np.ndarray:
        """Write each rank's buffer *before* ``op`` into the zeroed ``padded`` (ranks, chunks,
        width), in place, and return it.

        An all-gather starts with each rank's own chunk only, a broadcast with the root's
        buffer only (the others stay zero); every other op starts from the whole inputs.
        Only what a rank holds is drawn.
        """
        for row in range(self.p):
            if op == "broadcast" and row != root:
                continue
            chunks = [row] if op == "allgather" else range(self.lengths.size)
            for c in chunks:
                self.draw(row, int(self.offsets[c]), padded[row, c, : self.lengths[c]])
        return padded

    def block(self, chunk: int, start: int, stop: int, rows: list[int] | None = None) -> np.ndarray:
        """Inputs of ``rows`` (default every rank) at columns ``start:stop`` of ``chunk`` in the
        padded layout, zero beyond the chunk's length: a (rows, stop - start) array, valid until
        the next call."""
        rows = list(range(self.p)) if rows is None else rows
        width = stop - start
        if self._block.shape[0] < len(rows) or self._block.shape[1] < width:
            shape = (max(len(rows), self._block.shape[0]), max(width, self._block.shape[1]))
            self._block = np.empty(shape, dtype=self.dtype)
        out = self._block[: len(rows), :width]
        valid = int(min(max(self.lengths[chunk] - start, 0), width))
        for i, row in enumerate(rows):
            self.draw(row, int(self.offsets[chunk]) + start, out[i, :valid])
        out[:, valid:] = 0
        return out

    def padded(self) -> np.ndarray:
        """Every input in the padded layout, as a new array (for tests and small runs)."""
        out = np.zeros((self.p, self.lengths.size, self.width), dtype=self.dtype)
        return self.fill(out)


class _ArrayInputs:
    """Inputs kept as a padded (ranks, chunks, width) array, read like an :class:`InputStream`."""

    def __init__(self, inputs: np.ndarray) -> None:
        self.array = inputs
        self.p = inputs.shape[0]
        self.dtype = inputs.dtype
        self.width = inputs.shape[2]
        self.chunks = inputs.shape[1]

    def block(self, chunk: int, start: int, stop: int, rows: list[int] | None = None) -> np.ndarray:
        if rows is None:
            return self.array[:, chunk, start:stop]
        return self.array[rows, chunk, start:stop]


def random_inputs(rng: np.random.Generator, p: int, elements: int, dtype: np.dtype) -> np.ndarray:
    """The (p, elements) buffers a verified run starts from, drawn from ``rng``'s stream.

    Integers uniform in [-1000, 1000); floats uniform in [-1, 1): cheap to draw, and signed so
    that sums cancel as gradients do (float16 is drawn in float32 and rounded). The values are
    those of :class:`InputStream` with one chunk.
    """
    stream = InputStream(rng, p, np.array([elements], dtype=np.int64), np.dtype(dtype))
    return stream.padded().reshape(p, elements)


def starting_buffers(op: str, inputs: np.ndarray, root: int) -> np.ndarray:
    """The working buffers: what each rank holds before ``op``, from the padded ``inputs``
    (a copy; :meth:`InputStream.fill` draws them in place instead).

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


# -------------------------------------------------------------------------------- row moves
def add_rows(padded: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Rank ``dst[i]`` adds rank ``src[i]``'s whole buffer to its own (no rank is both)."""
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        padded[d] += padded[s]


def copy_rows(padded: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Rank ``dst[i]`` stores rank ``src[i]``'s whole buffer."""
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        padded[d] = padded[s]


# ------------------------------------------------------------------------------------ checks
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

    def add(self, error: np.ndarray, bound: np.ndarray | float) -> None:
        """Fold in absolute errors (float64, NaN for a NaN result) and their bounds."""
        if not error.size:
            return
        worst = float(error.max())
        if worst != worst or self.max_abs_err != self.max_abs_err:  # NaN sticks
            self.max_abs_err = float("nan")
        else:
            self.max_abs_err = max(self.max_abs_err, worst)
        self.tolerance = max(self.tolerance, float(np.max(bound)))
        self.passed &= bool((error <= bound).all())

    def add_extremes(
        self, results: np.ndarray, reference: np.ndarray, bound: np.ndarray | float
    ) -> None:
        """Compare every row of ``results`` (rows, n) with ``reference`` (n) through the rows'
        elementwise max and min: ``fl(x - ref)`` is monotone in ``x``, so the largest error of
        any row is that of the max or of the min, exactly as if each row were compared."""
        if results.shape[0] == 1:
            self.add(np.abs(np.subtract(results[0], reference, dtype=np.float64)), bound)
            return
        high = np.subtract(results.max(axis=0), reference, dtype=np.float64)
        low = np.subtract(results.min(axis=0), reference, dtype=np.float64)
        np.abs(high, out=high)
        np.abs(low, out=low)
        np.maximum(high, low, out=high)  # max and min propagate a NaN of any row
        self.add(high, bound)

    def record(self) -> dict[str, Any]:
        return check(self.passed, max_abs_err=self.max_abs_err, tolerance=self.tolerance)


def _column_blocks(width: int, rows: int, itemsize: int) -> Iterator[tuple[int, int]]:
    """(start, stop) column ranges of a chunk slot, about :data:`CHECK_BLOCK_BYTES` each."""
    step = max(256, CHECK_BLOCK_BYTES // max(1, rows * itemsize))
    for start in range(0, width, step):
        yield start, min(start + step, width)


def _sum_and_bound(block: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The float64 column sums of ``block`` (rows summed in order, as ``sum(axis=0)`` does) and
    twice Higham's bound for them."""
    reference = block.sum(axis=0, dtype=np.float64)
    magnitude = np.abs(block).sum(axis=0, dtype=np.float64)
    return reference, _tolerance(magnitude, block.shape[0], dtype)


def check_collective(
    op: str, inputs: np.ndarray | InputStream, outputs: np.ndarray, root: int = 0
) -> dict[str, dict[str, Any]]:
    """Check ``outputs`` of ``op`` against ``inputs``, in padded (ranks, chunks, width) layout.

    ``inputs`` is the padded input array or the :class:`InputStream` that drew it (which
    redraws each block as it is compared: no copy of the inputs is kept).

    * allreduce: every rank holds the sum over ranks (check ``allreduce_equals_sum``);
    * reduce: rank ``root`` holds the sum over ranks (``reduce_equals_sum``);
    * reduce_scatter: rank r holds the sum of chunk r (``reduce_scatter_equals_sum``);
    * allgather: every rank holds chunk c of rank c for every c (``allgather_equals_concat``,
      exact: nothing is computed, only copied);
    * broadcast: every rank holds rank ``root``'s buffer (``broadcast_equals_root``, exact);
    * alltoall: rank r's block j is rank j's block r (``alltoall_equals_transpose``, exact).
    """
    names = {
        "allreduce": "allreduce_equals_sum",
        "reduce": "reduce_equals_sum",
        "reduce_scatter": "reduce_scatter_equals_sum",
        "allgather": "allgather_equals_concat",
        "broadcast": "broadcast_equals_root",
        "alltoall": "alltoall_equals_transpose",
    }
    if op not in names:
        raise ValueError(f"no check for collective op {op!r}")
    source = _ArrayInputs(inputs) if isinstance(inputs, np.ndarray) else inputs
    p, chunks, width = outputs.shape
    dtype = outputs.dtype
    tally = _Tally()
    for c in range(chunks):
        for start, stop in _column_blocks(width, p, dtype.itemsize):
            window = outputs[:, c, start:stop]
            if op in ("allreduce", "reduce") or (op == "reduce_scatter" and c < p):
                block = source.block(c, start, stop)
                reference, bound = _sum_and_bound(block, dtype)
                held = {"allreduce": window, "reduce": window[root : root + 1]}.get(op)
                tally.add_extremes(window[c : c + 1] if held is None else held, reference, bound)
            elif op == "allgather":
                tally.add_extremes(window, source.block(c, start, stop, [c])[0], 0.0)
            elif op == "broadcast":
                tally.add_extremes(window, source.block(c, start, stop, [root])[0], 0.0)
            elif op == "alltoall":  # rank c's blocks j hold rank j's block c
                expected = source.block(c, start, stop)
                for j in range(p):
                    tally.add_extremes(outputs[c, j : j + 1, start:stop], expected[j], 0.0)
    return {names[op]: tally.record()}
