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

from collections.abc import Iterator
from functools import partial

import numpy as np

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
    """Rank ``j`` adds every other rank's chunk ``j`` to its own."""
    owners = np.arange(padded.shape[0])
    padded[owners, owners] = padded.sum(axis=0)


def owners_to_all(padded: np.ndarray) -> None:
    """Every rank stores chunk ``j`` of rank ``j``, for every ``j``."""
    owners = np.arange(padded.shape[0])
    padded[:] = padded[owners, owners][np.newaxis]


def transpose_blocks(padded: np.ndarray) -> None:
    """All-to-all: rank ``r``'s block ``j`` becomes rank ``j``'s block ``r``."""
    padded[:] = padded.swapaxes(0, 1).copy()


def pairwise_exchange(
    padded: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    step: int,
    stash: dict[int, np.ndarray],
    xor: bool,
) -> None:
    """Step ``step`` of the pairwise all-to-all: rank ``r`` stores rank ``src``'s block for it.

    The slot a block lands in (``dst``, ``src``) still holds the block ``dst`` sends to ``src``
    in step ``p - step`` (with ``r ± step`` pairing); that block is kept in ``stash`` until then.
    With XOR pairing both blocks move in the same step.
    """
    p = padded.shape[0]
    outgoing = stash.pop(step) if step in stash else padded[src, dst].copy()
    if not xor and p - step > step:
        held = np.empty_like(outgoing)
        held[dst] = padded[dst, src]  # indexed by the rank that will send it
        stash[p - step] = held
    padded[dst, src] = outgoing


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
    stash: dict[int, np.ndarray] = {}
    for step in range(1, p):
        dst = ranks ^ step if xor else (ranks + step) % p
        yield Step(
            ranks,
            dst,
            plan.chunk_bytes[dst],
            "pairwise all-to-all",
            partial(pairwise_exchange, src=ranks, dst=dst, step=step, stash=stash, xor=xor),
        )


# ------------------------------------------------------------------------------------ costs
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
