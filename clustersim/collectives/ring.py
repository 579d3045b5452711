"""Ring collectives: all-reduce, reduce-scatter and all-gather on a logical ring of ranks.

Three views of one algorithm (DESIGN.md §1):

* **kernel**: :func:`ring_reduce_scatter_step` and :func:`ring_allgather_step` move real numpy
  data exactly as the ring does, one step at a time; :func:`ring_allreduce` chains them.
* **process**: :func:`ring_process` spends the time: each of the ``p-1`` (or ``2(p-1)``) steps
  hands the network one batch of ``p`` flows, rank ``i`` to rank ``i+1``.
* **cost**: :func:`ring_allreduce_time` and friends, the alpha-beta(-gamma) model.

Schedule (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
workstations", JPDC 69(2), 2009, §3; Thakur, Rabenseifner & Gropp, "Optimization of collective
communication operations in MPICH", IJHPCA 19(1), 2005, §4): the buffer is cut into ``p``
chunks. In reduce-scatter step ``s`` (0 <= s < p-1) rank ``i`` sends chunk ``(i-1-s) mod p`` to
rank ``i+1``, which adds it to its own copy; after ``p-1`` steps rank ``i`` holds the full sum
of chunk ``i``. In all-gather step ``s`` rank ``i`` sends chunk ``(i-s) mod p`` to rank ``i+1``,
which stores it. Every rank sends ``(p-1)/p`` of the buffer per phase, so all-reduce puts
``2(p-1) * S`` bytes on the wire in total: the lecture notes' ``2(N-1)G``.

Steps are synchronous across ranks: step ``s+1`` starts when every flow of step ``s`` has
arrived. On a ring each link carries one flow per step, so the slowest link paces every rank in
either model; the step barrier is what lets a 1024-rank ring cost thousands of events.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from clustersim.hardware.cluster import Cluster

__all__ = [
    "ring_allgather_step",
    "ring_allgather_time",
    "ring_allreduce",
    "ring_allreduce_time",
    "ring_process",
    "ring_reduce_scatter_step",
    "ring_reduce_scatter_time",
]


# ---------------------------------------------------------------------------------- kernel
_WIDE_CHUNK = 4096
"""Chunks at least this wide are moved rank by rank in place (no gathered temporaries)."""


def ring_reduce_scatter_step(padded: np.ndarray, step: int) -> None:
    """One reduce-scatter step in place on ``padded`` (ranks, chunks, width).

    Rank ``j`` adds rank ``j-1``'s chunk ``(j-2-step) mod p`` into its own. No rank reads a
    chunk that another rank writes in the same step, so updating ranks one after another
    equals the simultaneous exchange.
    """
    p = padded.shape[0]
    if padded.shape[2] >= _WIDE_CHUNK:
        for receiver in range(p):
            chunk = (receiver - 2 - step) % p
            padded[receiver, chunk] += padded[receiver - 1, chunk]
        return
    receiver = np.arange(p)
    chunk = (receiver - 2 - step) % p
    padded[receiver, chunk] += padded[(receiver - 1) % p, chunk]


def ring_allgather_step(padded: np.ndarray, step: int) -> None:
    """One all-gather step in place: rank ``j`` copies rank ``j-1``'s chunk ``(j-1-step) mod p``."""
    p = padded.shape[0]
    if padded.shape[2] >= _WIDE_CHUNK:
        for receiver in range(p):
            chunk = (receiver - 1 - step) % p
            padded[receiver, chunk] = padded[receiver - 1, chunk]
        return
    receiver = np.arange(p)
    chunk = (receiver - 1 - step) % p
    padded[receiver, chunk] = padded[(receiver - 1) % p, chunk]


def ring_allreduce(padded: np.ndarray) -> np.ndarray:
    """Ring all-reduce of ``padded`` (ranks, chunks, width) in place; returns it.

    Use :func:`clustersim.collectives.kernels.to_padded` to lay out a (ranks, elements) buffer.
    """
    p = padded.shape[0]
    for step in range(p - 1):
        ring_reduce_scatter_step(padded, step)
    for step in range(p - 1):
        ring_allgather_step(padded, step)
    return padded


# --------------------------------------------------------------------------------- process
def ring_process(
    cluster: Cluster,
    ranks: list[str],
    op: str,
    chunk_bytes: np.ndarray,
    padded: np.ndarray | None = None,
    label: str = "ring",
) -> Generator[Any, Any, None]:
    """Time a ring ``op`` ("allreduce", "reduce_scatter" or "allgather") over ``ranks``.

    ``chunk_bytes[c]`` is the size of chunk ``c``. When ``padded`` is given the kernel replays
    each step on it, in step with the simulated transfers.
    """
    net = cluster.network
    nodes = cluster.rank_indices(ranks)
    p = nodes.size
    pattern = net.pattern(nodes, np.roll(nodes, -1))
    sender = np.arange(p)
    if op in ("allreduce", "reduce_scatter"):
        for step in range(p - 1):
            yield net.transfer_all(
                pattern, chunk_bytes[(sender - 1 - step) % p], f"{label} reduce-scatter"
            )
            if padded is not None:
                ring_reduce_scatter_step(padded, step)
    if op in ("allreduce", "allgather"):
        for step in range(p - 1):
            yield net.transfer_all(pattern, chunk_bytes[(sender - step) % p], f"{label} all-gather")
            if padded is not None:
                ring_allgather_step(padded, step)


# ------------------------------------------------------------------------------------ cost
def ring_allreduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """Ring all-reduce time: ``2(p-1)α + 2((p-1)/p)·n·β + ((p-1)/p)·n·γ``.

    ``size`` n in bytes, ``alpha`` per-message latency (s), ``beta`` seconds per byte (1/bw),
    ``gamma`` seconds per byte reduced. Thakur, Rabenseifner & Gropp 2005, §4.4 (the
    reduce-scatter + all-gather formulation); Patarasuk & Yuan 2009, §3.
    """
    frac = (p - 1) / p
    return 2 * (p - 1) * alpha + 2 * frac * size * beta + frac * size * gamma


def ring_reduce_scatter_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """Ring reduce-scatter time: ``(p-1)α + ((p-1)/p)·n·(β+γ)`` (Thakur et al. 2005, §4.3)."""
    frac = (p - 1) / p
    return (p - 1) * alpha + frac * size * (beta + gamma)


def ring_allgather_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """Ring all-gather time: ``(p-1)α + ((p-1)/p)·n·β`` (Thakur et al. 2005, §4.1).

    ``size`` is the gathered output per rank; ``gamma`` is unused (no reduction) and accepted
    for a uniform signature.
    """
    return (p - 1) * alpha + (p - 1) / p * size * beta
