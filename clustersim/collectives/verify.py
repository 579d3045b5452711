"""Numerical checks of a collective's result against the direct computation.

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

from clustersim.scenario.registry import check

__all__ = ["check_collective"]


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
