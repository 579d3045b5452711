"""Collective schedules: the one description that drives the kernel, the timed process and the
analytic model.

A collective algorithm here is a *schedule*: an iterator of :class:`Step` records, each a batch
of flows that start together (rank positions ``src[i] -> dst[i]`` carrying ``sizes[i]`` bytes),
the numpy update that batch performs on the padded (ranks, chunks, width) buffers, and which
flows the receiver reduces (adds) rather than stores. The three views of
docs/architecture.md §1 read the same schedule:

* **kernel**: :func:`replay` applies every step's numpy update, with no clock: the real numerics;
* **process**: :func:`clustersim.collectives.process.schedule_process` hands the network one
  ``transfer_all`` per step, replays the kernel step when verifying, and with
  ``reduction: device`` spends the reduction time;
* **cost**: each algorithm's closed form lives beside its schedule (``ring.py``, ``recursive.py``,
  ``trees.py``, ``direct.py``) and is checked against the simulated time by the tests;
  :func:`schedule_pairs` gives the analytic model the pairs of ranks an algorithm talks between,
  so alpha and beta come from the routes it really uses, and :func:`bytes_total` the bytes its
  flows put on the wire.

Steps are synchronous, as in the alpha-beta analyses (Thakur, Rabenseifner & Gropp 2005): step
``s+1`` starts when every flow of step ``s`` has arrived and every rank has finished reducing
what it received. A step therefore costs ``max latency + max size / bandwidth`` on a
contention-free network, plus ``max reduced bytes × γ``. The closed forms assume chunks of
equal size; when the elements do not divide evenly the largest chunk paces each step and the
simulation is slower by at most one element per chunk (a relative ``chunks/elements``).

This module is numpy only: the algorithm modules build on it without loading SimPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Plan",
    "Schedule",
    "Step",
    "bytes_total",
    "fold_ranks",
    "replay",
    "schedule_pairs",
]


@dataclass(frozen=True)
class Plan:
    """What a schedule needs to know about one run.

    Attributes:
        p: number of ranks; schedules speak of rank *positions* 0..p-1.
        chunk_bytes: bytes of each chunk of the algorithm's buffer layout (its length is the
            number of chunks the algorithm cuts the buffer into).
        root: root position for rooted collectives (broadcast, reduce).
        grid: (machines, gpus per machine) rank positions, for hierarchical algorithms.
    """

    p: int
    chunk_bytes: np.ndarray
    root: int = 0
    grid: np.ndarray | None = None
    _edges: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_edges", np.concatenate(([0.0], np.cumsum(self.chunk_bytes))))

    @property
    def size(self) -> float:
        """Bytes of the whole buffer."""
        return float(self._edges[-1])

    def range_bytes(self, start: np.ndarray | int, stop: np.ndarray | int) -> np.ndarray:
        """Bytes of chunks ``start:stop`` (vectorised over arrays of ranges)."""
        return self._edges[np.asarray(stop)] - self._edges[np.asarray(start)]


@dataclass(frozen=True, eq=False)
class Step:
    """One synchronous step of a schedule.

    Attributes:
        src, dst: rank positions of each flow (1-D int arrays of equal length).
        sizes: bytes of each flow (an array, or one number for all).
        label: span label for traces (e.g. ``"halving_doubling reduce-scatter"``).
        apply: the kernel update of this step on the padded buffers, or None if it moves
            nothing a check could see.
        reduce: True if every receiver adds what it gets (charged γ per byte), False if it
            stores it, or a boolean array marking the reducing flows.
    """

    src: np.ndarray
    dst: np.ndarray
    sizes: np.ndarray | float
    label: str
    apply: Callable[[np.ndarray], None] | None = None
    reduce: bool | np.ndarray = False

    def reduced_bytes(self, p: int) -> np.ndarray:
        """Bytes each rank position reduces after this step's transfers."""
        sizes = np.broadcast_to(np.asarray(self.sizes, dtype=float), self.src.shape)
        if self.reduce is False:
            return np.zeros(p)
        weights = sizes if self.reduce is True else np.where(self.reduce, sizes, 0.0)
        return np.bincount(self.dst, weights=weights, minlength=p)


Schedule = Iterable[Step]


def fold_ranks(p: int) -> tuple[int, int, np.ndarray]:
    """MPICH's reduction of ``p`` ranks to a power of two.

    Returns ``(pof2, rem, real)``: the largest power of two ``pof2 <= p``, ``rem = p - pof2``,
    and ``real[i]``, the rank position playing new rank ``i``: the odd rank ``2i+1`` for
    ``i < rem`` (it absorbs its even neighbour ``2i``), else ``i + rem``
    (MPICH ``allreduce_intra_recursive_doubling.c``: ``dst = (newdst < rem) ? newdst*2 + 1 :
    newdst + rem``).
    """
    pof2 = 1 << (p.bit_length() - 1)
    rem = p - pof2
    new = np.arange(pof2)
    return pof2, rem, np.where(new < rem, 2 * new + 1, new + rem)


# ----------------------------------------------------------------------------------- kernel
def replay(schedule: Schedule, padded: np.ndarray) -> np.ndarray:
    """Run a schedule's numerics on ``padded`` (ranks, chunks, width) in place; return it."""
    for step in schedule:
        if step.apply is not None:
            step.apply(padded)
    return padded


# ---------------------------------------------------------------------------------- traffic
def schedule_pairs(schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (src, dst) rank-position pairs a schedule sends between."""
    # the same arrays step after step (a ring's) are read once; the dict keeps them alive, so
    # an id is never reused while it is a key
    arrays = {(id(s.src), id(s.dst)): (s.src, s.dst) for s in schedule}
    pairs = {(a.tobytes(), b.tobytes()): (a, b) for a, b in arrays.values()}
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    src = np.concatenate([a for a, _ in pairs.values()])
    dst = np.concatenate([b for _, b in pairs.values()])
    unique = np.unique(np.stack([src, dst]), axis=1)
    return unique[0], unique[1]


def bytes_total(schedule: Schedule) -> float:
    """Bytes all flows of a schedule put on the wire (each flow counted once)."""
    return float(sum(_step_bytes(s) for s in schedule))


def _step_bytes(step: Step) -> float:
    """Bytes of one step's flows: one size times the flows when it is a whole number of bytes
    (exactly the sum then), else the sum."""
    if np.ndim(step.sizes) == 0 and float(step.sizes).is_integer():
        return float(step.sizes) * step.src.size
    return float(np.broadcast_to(np.asarray(step.sizes, dtype=float), step.src.shape).sum())
