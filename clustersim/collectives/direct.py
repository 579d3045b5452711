"""Direct collectives (every rank talks to every other at once) and pairwise all-to-all.

* ``direct`` reduce-scatter: every rank sends chunk ``j`` of its buffer straight to rank ``j``,
  which adds the ``p-1`` chunks it receives: one step of ``p(p-1)`` flows.
* ``direct`` all-gather: every rank sends its chunk straight to every other rank: one step.
* ``direct`` all-reduce: the two in sequence (reduce-scatter then all-gather, each an
  all-to-all; the "two-shot" all-reduce).
* ``direct`` all-to-all: every rank sends block ``j`` of its send buffer to rank ``j`` in one
  step, as MPICH's medium-message all-to-all posts every isend and irecv at once.
* ``pairwise`` all-to-all (Thakur, Rabenseifner & Gropp, IJHPCA 19(1) 2005, the long-message
  all-to-all; MPICH ``alltoall_intra_pairwise.c``): ``p-1`` steps; in step ``i`` rank ``r``
  exchanges with ``r XOR i`` when p is a power of two, else sends to ``r+i`` and receives from
  ``r-i``.

Costs: a direct step moves one chunk of ``n/p`` over every pair at once, so on a network where
every pair has its own link (``fully_connected``: a multi-port model, each rank drives ``p-1``
links in parallel) it costs ``α + (n/p)β``. Thakur et al.'s model is single-ported, under which
the same traffic takes ``p-1`` steps; on a switch, a ring or any topology where the flows share
links the simulation shows the contention the formula ignores (a 64-rank direct all-reduce on a
ring is several times slower than the ring algorithm). The pairwise all-to-all costs
``(p-1)(α + (n/p)β)``: Thakur et al.'s ``(p-1)α + nβ`` with their ``n`` the data a process sends
to others, ``(p-1)/p`` of our ``size`` (the whole send buffer, docs/architecture.md §4).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial

import numpy as np

from clustersim.collectives.kernels import gather_fits
from clustersim.collectives.schedule import Plan, Step

__all__ = [
    "alltoall_bytes",
    "direct_allgather",
    "direct_allgather_time",
    "direct_allreduce",
    "direct_allreduce_bytes",
    "direct_allreduce_time",
    "direct_alltoall",
    "direct_alltoall_time",
    "direct_reduce_scatter",
    "direct_reduce_scatter_time",
    "direct_reductions",
    "pairwise_alltoall",
    "pairwise_alltoall_time",
]


def _all_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair ``(r, j)``, ``r != j``, sender-major."""
    r = np.repeat(np.arange(p), p)
    j = np.tile(np.arange(p), p)
    keep = r != j
    return r[keep], j[keep]


# ---------------------------------------------------------------------------------- kernels
def sum_to_owners(padded: np.ndarray) -> None:
    """Rank ``j`` adds every other rank's chunk ``j`` to its own (ranks summed in order)."""
    p, _, width = padded.shape
    owners = np.arange(p)
    if gather_fits(p, width, padded.itemsize):
        padded[owners, owners] = padded.sum(axis=0)
        return
    for j in range(p):  # one chunk of scratch: the sum of chunk j
        padded[j, j] = padded[:, j].sum(axis=0)


def owners_to_all(padded: np.ndarray) -> None:
    """Every rank stores chunk ``j`` of rank ``j``, for every ``j``."""
    p, _, width = padded.shape
    owners = np.arange(p)
    if gather_fits(p, width, padded.itemsize):
        padded[:] = padded[owners, owners][np.newaxis]
        return
    for j in range(p):
        padded[:, j] = padded[j, j].copy()  # one chunk (numpy would copy the broadcast source)


def _swap(padded: np.ndarray, a: tuple[int, int], b: tuple[int, int], scratch: np.ndarray) -> None:
    """Exchange slots ``a`` and ``b`` (rank, chunk) through one chunk of ``scratch``."""
    scratch[...] = padded[a]
    padded[a] = padded[b]
    padded[b] = scratch


def transpose_blocks(padded: np.ndarray) -> None:
    """All-to-all: rank ``r``'s block ``j`` becomes rank ``j``'s block ``r``."""
    p, _, width = padded.shape
    if gather_fits(p * p, width, padded.itemsize):
        padded[:] = padded.swapaxes(0, 1).copy()
        return
    scratch = np.empty(width, dtype=padded.dtype)
    for r in range(p):
        for j in range(r + 1, p):
            _swap(padded, (r, j), (j, r), scratch)


def _rotate_diagonal(padded: np.ndarray, step: int) -> None:
    """Slot ``(r, r + step)`` moves to slot ``(r + step, r + 2·step)`` for every ``r`` (mod p):
    the block rank ``r`` sends to ``r + step`` lands in the slot its receiver has just sent."""
    p, _, width = padded.shape
    ranks = np.arange(p)
    if gather_fits(p, width, padded.itemsize):
        moved = padded[ranks, (ranks + step) % p]
        padded[(ranks + step) % p, (ranks + 2 * step) % p] = moved
        return
    scratch = np.empty(width, dtype=padded.dtype)
    cycles = math.gcd(p, step)
    for first in range(cycles):  # walk each cycle of r -> r + step backwards
        scratch[...] = padded[first, (first + step) % p]
        at = first
        for _ in range(p // cycles - 1):
            before = (at - step) % p
            padded[at, (at + step) % p] = padded[before, (before + step) % p]
            at = before
        padded[(first + step) % p, (first + 2 * step) % p] = scratch


def _unfold_received(padded: np.ndarray) -> None:
    """After the last step rank ``d``'s slot ``d + s`` holds the block from ``d - s``: swap
    slots ``d + s`` and ``d - s`` so that block ``j`` comes from rank ``j``."""
    p, _, width = padded.shape
    ranks = np.arange(p)
    if gather_fits(p * p, width, padded.itemsize):
        mirror = (2 * ranks[:, np.newaxis] - ranks[np.newaxis, :]) % p
        padded[:] = padded[ranks[:, np.newaxis], mirror]
        return
    scratch = np.empty(width, dtype=padded.dtype)
    for d in range(p):
        for s in range(1, (p - 1) // 2 + 1):
            _swap(padded, (d, (d + s) % p), (d, (d - s) % p), scratch)


def pairwise_exchange(padded: np.ndarray, step: int, xor: bool) -> None:
    """Step ``step`` of the pairwise all-to-all, in place (one chunk of scratch).

    XOR pairing (p a power of two): ranks ``r`` and ``r XOR step`` swap the blocks they hold
    for each other. Otherwise rank ``r`` sends its block for ``r + step`` and receives rank
    ``r - step``'s block for it; the receiver keeps it in the slot of the block it has just sent
    (slot ``r + step``: that diagonal of slots is read only in this step), and after the last
    step every rank puts its received blocks in place (:func:`_unfold_received`).
    """
    p, _, width = padded.shape
    if xor:
        ranks = np.arange(p)
        if gather_fits(p, width, padded.itemsize):
            padded[ranks ^ step, ranks] = padded[ranks, ranks ^ step]
            return
        scratch = np.empty(width, dtype=padded.dtype)
        for r in range(p):
            if r < r ^ step:
                _swap(padded, (r, r ^ step), (r ^ step, r), scratch)
        return
    _rotate_diagonal(padded, step)
    if step == p - 1:
        _unfold_received(padded)


# ------------------------------------------------------------------------------- schedules
def direct_reduce_scatter(plan: Plan) -> Iterator[Step]:
    """One step: rank ``r`` sends chunk ``j`` to rank ``j``, which adds. Layout: p chunks."""
    src, dst = _all_pairs(plan.p)
    yield Step(src, dst, plan.chunk_bytes[dst], "direct reduce-scatter", sum_to_owners, True)


def direct_allgather(plan: Plan) -> Iterator[Step]:
    """One step: rank ``j`` sends its chunk ``j`` to every rank. Layout: p chunks."""
    src, dst = _all_pairs(plan.p)
    yield Step(src, dst, plan.chunk_bytes[src], "direct all-gather", owners_to_all)


def direct_allreduce(plan: Plan) -> Iterator[Step]:
    """Direct reduce-scatter then direct all-gather. Layout: p chunks."""
    yield from direct_reduce_scatter(plan)
    yield from direct_allgather(plan)


def direct_alltoall(plan: Plan) -> Iterator[Step]:
    """One step: rank ``r`` sends block ``j`` to rank ``j``. Layout: p blocks."""
    src, dst = _all_pairs(plan.p)
    yield Step(src, dst, plan.chunk_bytes[dst], "direct all-to-all", transpose_blocks)


def pairwise_alltoall(plan: Plan) -> Iterator[Step]:
    """``p-1`` steps of one block per rank (XOR pairing for a power of two, else ``r+i``)."""
    p = plan.p
    ranks = np.arange(p)
    xor = p & (p - 1) == 0
    for step in range(1, p):
        dst = ranks ^ step if xor else (ranks + step) % p
        yield Step(
            ranks,
            dst,
            plan.chunk_bytes[dst],
            "pairwise all-to-all",
            partial(pairwise_exchange, step=step, xor=xor),
        )


# ------------------------------------------------------------------------------------ costs
def direct_reductions(p: int, chunks: int = 1) -> int:
    """Reducing steps of the direct reduce-scatter (and all-reduce): one, in which every rank
    adds the ``p - 1`` chunks it received in a single kernel. ``chunks`` is unused.

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return 1


def direct_reduce_scatter_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``α + (n/p)β + ((p-1)/p)·nγ`` on a multi-port fully connected network."""
    return alpha + size / p * beta + (p - 1) / p * size * gamma


def direct_allgather_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``α + (n/p)β`` on a multi-port fully connected network. ``gamma`` is unused."""
    return alpha + size / p * beta


def direct_allreduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``2α + 2(n/p)β + ((p-1)/p)·nγ`` on a multi-port fully connected network."""
    return direct_reduce_scatter_time(size, p, alpha, beta, gamma) + direct_allgather_time(
        size, p, alpha, beta
    )


def direct_alltoall_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``α + (n/p)β`` on a multi-port fully connected network. ``gamma`` is unused."""
    return alpha + size / p * beta


def pairwise_alltoall_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``(p-1)(α + (n/p)β)`` (Thakur et al. 2005: ``(p-1)α + nβ``, their n = our (p-1)n/p).
    ``gamma`` is unused."""
    return (p - 1) * (alpha + size / p * beta)


def alltoall_bytes(size: float, p: int) -> float:
    """Every rank sends all but one of its ``p`` blocks (or chunks): ``(p-1)·n``. Also the
    traffic of a direct reduce-scatter or all-gather."""
    return (p - 1) * size


def direct_allreduce_bytes(size: float, p: int) -> float:
    """Reduce-scatter and all-gather, ``(p-1)·n`` each."""
    return 2 * (p - 1) * size
