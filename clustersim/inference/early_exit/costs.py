"""Closed forms of early-exit inference: what a sample costs for the exit it takes.

A BranchyNet of ``E`` exits is timed as ``2E - 1`` stages in the order a sample meets them:
main segment 0 (the main layers up to exit 0's attachment), branch 0, main segment 1, branch
1, ..., the last main segment (ending in the main classifier). A sample leaving at exit ``n``
runs segments ``0..n`` and branches ``0..n`` (the last exit has no branch of its own).
Teerapittayanon, McDanel & Kung, ICPR 2016, §III-C: the runtime of a sample is that of the
layers up to its exit, which is where the speed-up over the main network comes from.

A stage's time for ``b`` samples is the sum of its layers' kernel times (Williams, Waterman &
Patterson, CACM 2009: ``max(b·FLOP/peak, bytes_moved(b)/bandwidth) / efficiency`` per layer,
plus the device's launch overhead per layer, as
:meth:`clustersim.hardware.spec.DeviceSpec.kernel_time`), so the kind hands these functions
tables ``segment[m, b]`` and ``branch[m, b]`` of stage times for ``b = 0..B``. In a batch, every
stage runs once on the samples still present, and a sample's latency is the time from the start
of its batch to the end of its exit's branch (or of the last segment).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "batch_latencies",
    "exit_path_latencies",
    "expected_latency",
    "main_latencies",
    "speedup",
]


def exit_path_latencies(segment: np.ndarray, branch: np.ndarray) -> np.ndarray:
    """Latency of one sample alone (batch 1) leaving at each exit: ``T_n = Σ_{m<=n} (S_m +
    B_m)`` with ``B_{E-1} = 0``; ``segment`` and ``branch`` are per-stage times for one
    sample."""
    seg = np.asarray(segment, dtype=float)
    br = np.append(np.asarray(branch, dtype=float), 0.0)
    return np.cumsum(seg + br)


def expected_latency(fractions: np.ndarray, path: np.ndarray) -> float:
    """``E[T] = Σ_n f_n · T_n`` for exit fractions ``f_n`` and per-exit latencies ``T_n``."""
    return float(np.dot(fractions, path))


def speedup(main: float, early: float) -> float:
    """Mean latency of the main network alone over that with early exits."""
    return main / early


def batch_latencies(
    exit_of: np.ndarray, batch: int, segment: np.ndarray, branch: np.ndarray
) -> np.ndarray:
    """Every sample's latency when samples run in consecutive batches of ``batch``.

    ``segment[m, b]`` and ``branch[m, b]`` are the stage times with ``b`` samples (``b =
    0..batch``). Within a batch, stage ``m`` runs on the ``b_m`` samples whose exit is ``>= m``;
    a sample leaving at exit ``n`` waits for stages ``0..n`` on its batch mates.
    """
    exits = segment.shape[0]
    out = np.empty(len(exit_of))
    for start in range(0, len(exit_of), batch):
        e = exit_of[start : start + batch]
        present = np.array([(e >= m).sum() for m in range(exits)])
        steps = segment[np.arange(exits), present] + np.append(
            branch[np.arange(exits - 1), present[:-1]], 0.0
        )
        out[start : start + batch] = np.cumsum(steps)[e]
    return out


def main_latencies(samples: int, batch: int, segment: np.ndarray) -> np.ndarray:
    """Every sample's latency for the main network alone (no branch runs, nobody leaves)."""
    out = np.empty(samples)
    for start in range(0, samples, batch):
        b = min(batch, samples - start)
        out[start : start + b] = segment[:, b].sum()
    return out
