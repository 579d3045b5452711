"""The parameter server's numerics: sharded push-and-sum, and the check that it equals the sum.

Pure numpy (the kernel view of docs/architecture.md §1). :func:`ps_push` adds one pushed
gradient into the servers' shard accumulators, :func:`ps_aggregate` applies a set of pushes and
returns the joined shards; the ``data_parallel`` kind sums real gradients with it.
:class:`AggregationCheck` draws the gradients a ``verify: true`` run pushes and compares the
sharded sums with a float64 sum (the check ``ps_aggregate_equals_sum``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.kinds.contract import check

__all__ = ["AggregationCheck", "ps_aggregate", "ps_push"]


def ps_push(accumulators: list[np.ndarray], gradient: np.ndarray, lengths: np.ndarray) -> None:
    """Add ``gradient`` into the servers' shard accumulators, shard ``s`` into server ``s``."""
    start = 0
    for acc, length in zip(accumulators, lengths.tolist(), strict=True):
        acc += gradient[start : start + length]
        start += length


def ps_aggregate(
    gradients: np.ndarray, lengths: np.ndarray, accumulators: list[np.ndarray] | None = None
) -> np.ndarray:
    """Push every row of ``gradients`` (in order) to sharded servers; return the joined shards.

    Each server sums its shard in the gradients' dtype, one push after another, as a server
    applying pushes in arrival order would. ``accumulators`` carries sums across calls.
    """
    if accumulators is None:
        accumulators = [np.zeros(int(n), dtype=gradients.dtype) for n in lengths]
    for row in gradients:
        ps_push(accumulators, row, lengths)
    return np.concatenate(accumulators)


class AggregationCheck:
    """Draws gradients, runs the kernel, and tracks the worst error against the float64 sum.

    Float tolerance as in :mod:`clustersim.collectives.kernels`: a sequential sum of ``n`` terms
    errs by at most ``(n-1)·u·Σ|x|`` (Higham, *Accuracy and Stability of Numerical Algorithms*,
    2nd ed., §4.2); the check allows twice that, so a missing or doubled push fails.
    """

    def __init__(self, rng: np.random.Generator, dtype: str, lengths: np.ndarray) -> None:
        self.dtype = np.dtype(dtype)
        self.elements = int(lengths.sum())
        self.lengths = lengths
        self.rng = rng
        self.unit_roundoff = float(np.finfo(self.dtype).eps) / 2
        self.passed = True
        self.max_abs_err = 0.0
        self.tolerance = 0.0
        self.pushes = 0
        # async / ssp: running sums over the whole run
        self.accumulators = [np.zeros(int(n), dtype=self.dtype) for n in lengths]
        self.reference = np.zeros(self.elements)
        self.magnitude = np.zeros(self.elements)
        self.terms = 0

    def gradients(self, count: int) -> np.ndarray:
        """``count`` gradients uniform in [-1, 1): signed, so that sums cancel as gradients do."""
        draw = self.dtype if self.dtype == np.float64 else np.dtype(np.float32)
        values = self.rng.random((count, self.elements), dtype=draw)
        values *= 2
        values -= 1
        return values.astype(self.dtype, copy=False)

    def _compare(
        self, result: np.ndarray, reference: np.ndarray, magnitude: np.ndarray, terms: int
    ) -> None:
        bound = 2.0 * max(terms - 1, 1) * self.unit_roundoff * magnitude
        error = np.abs(result.astype(np.float64) - reference)
        if error.size:
            self.max_abs_err = max(self.max_abs_err, float(error.max()))
            self.tolerance = max(self.tolerance, float(bound.max()))
            self.passed &= bool((error <= bound).all())

    def step(self, gradients: np.ndarray) -> None:
        """A synchronous step: aggregate the accepted gradients and compare at once."""
        self.pushes += len(gradients)
        result = ps_aggregate(gradients, self.lengths)
        wide = gradients.astype(np.float64)
        self._compare(result, wide.sum(axis=0), np.abs(wide).sum(axis=0), len(gradients))

    def push(self, gradient: np.ndarray) -> None:
        """An asynchronous push into the running sums."""
        self.pushes += 1
        self.terms += 1
        ps_push(self.accumulators, gradient, self.lengths)
        wide = gradient.astype(np.float64)
        self.reference += wide
        self.magnitude += np.abs(wide)

    def record(self) -> dict[str, Any]:
        """The ``ps_aggregate_equals_sum`` check record of the run so far."""
        if self.terms:
            self._compare(
                np.concatenate(self.accumulators), self.reference, self.magnitude, self.terms
            )
        return check(
            self.passed, max_abs_err=self.max_abs_err, tolerance=self.tolerance, pushes=self.pushes
        )
