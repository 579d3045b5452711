"""Verified runs of the collective kind: the replay buffers and the memory they need.

``verify: true`` replays the algorithm's own kernel on the ranks' whole buffers, drawn in place
from the run's seed (:class:`~clustersim.collectives.kernels.InputStream`), and checks the result
block by block against inputs the check redraws, so the run holds the ranks' buffers, at most
one chunk (or :data:`~clustersim.collectives.kernels.SCRATCH_BYTES`) of kernel scratch and one
check block: :func:`replay_bytes`.

``verify: sampled`` replays the *same* schedule (the steps, their flows and the chunk each flow
moves are those of the full-size run, which is still timed at full size) on buffers that keep
only the first ``sample_elements`` elements of every chunk. Every kernel step moves or adds
whole chunk slots, so a sampled replay exercises every data movement of the schedule and its
check catches a wrong step as surely as the full one; it costs ``p × chunks × sample_elements``
elements whatever the size.

The memory limit: :func:`replay_bytes` is the kind's memory estimate, which the runner holds
against its run limit (``--max-memory``, ``$CLUSTERSIM_MAX_MEMORY``, else half of the memory the
machine has available: :mod:`clustersim.scenario.limits`). A workload that sets
``verify_memory`` sets its own limit instead (:func:`check_replay_memory`), higher or lower.
"""

from __future__ import annotations

import numpy as np

from clustersim.collectives.kernels import CHECK_BLOCK_BYTES, SCRATCH_BYTES, InputStream
from clustersim.errors import InputError
from clustersim.units import format_bytes

__all__ = [
    "DEFAULT_SAMPLE_ELEMENTS",
    "MEMORY_KNOBS",
    "check_replay_memory",
    "replay_buffers",
    "replay_bytes",
    "replay_lengths",
]

DEFAULT_SAMPLE_ELEMENTS = 16
"""Elements per chunk a ``verify: sampled`` run replays, unless ``sample_elements`` says."""

MEMORY_KNOBS = (
    "workload.size, use verify: sampled (the same schedule on a few elements per chunk), set "
    "workload.verify_memory (this run's own limit)"
)
"""What lowers a verified run's memory, or sets its limit, for the refusal messages."""


def replay_lengths(lengths: np.ndarray, verify: bool | str, sample_elements: int) -> np.ndarray:
    """Elements of each chunk the replay holds: all of them, or the first ``sample_elements``."""
    if verify == "sampled":
        return np.minimum(lengths, sample_elements)
    return lengths


def replay_bytes(p: int, lengths: np.ndarray, itemsize: int) -> float:
    """Peak bytes of a replay: the ranks' padded buffers, a kernel's scratch (one chunk, or the
    vectorised-gather bound when that is larger) and the check's block temporaries (inputs
    redrawn for every rank, and three float64 columns)."""
    width = int(lengths.max()) if lengths.size else 0
    buffers = p * lengths.size * width * itemsize
    scratch = max(width * itemsize, SCRATCH_BYTES)
    return float(buffers + scratch + 3 * CHECK_BLOCK_BYTES)


def check_replay_memory(
    p: int, lengths: np.ndarray, itemsize: int, size: float, limit: float
) -> None:
    """Refuse a replay whose :func:`replay_bytes` exceed the workload's ``verify_memory``
    (``limit``), naming the estimate, the limit and the knobs."""
    needed = replay_bytes(p, lengths, itemsize)
    if needed > limit:
        raise InputError(
            f"workload.verify: replaying {p} ranks × {format_bytes(size, 3)} needs "
            f"{format_bytes(needed, 3)} of memory (the ranks' buffers, one chunk of scratch and a "
            f"check block), over the limit of {format_bytes(limit, 3)} (workload.verify_memory); "
            f"lower {MEMORY_KNOBS}, or set verify: false for a timing-only run"
        )


def replay_buffers(
    rng: np.random.Generator,
    op: str,
    p: int,
    lengths: np.ndarray,
    dtype: np.dtype,
    root: int,
) -> tuple[np.ndarray, InputStream]:
    """The working buffers of a replay, each rank's starting buffer drawn in place, and the
    stream that drew them (the check redraws its inputs from it)."""
    stream = InputStream(rng, p, lengths, dtype)
    width = int(lengths.max()) if lengths.size else 0
    padded = np.zeros((p, lengths.size, width), dtype=dtype)
    return stream.fill(padded, op, root), stream
