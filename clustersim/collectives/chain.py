"""Pipelined ring broadcast and reduce: NCCL's ring algorithm for the rooted collectives.

NCCL has one algorithm for broadcast and reduce, the ring (NCCL 2.7.5
``src/collectives/device/broadcast.h`` and ``reduce.h``, ``ncclBroadcastRingKernel`` and
``ncclReduceRingKernel``; its tuner, ``src/graph/tuning.cc``, considers no other for them). The
ring is used as a chain that starts at the root and stops one hop short of closing:

* **broadcast**: the root sends, every rank after it receives, stores and forwards
  (``recvCopySend``), the rank before the root only receives;
* **reduce**: the rank after the root sends its own buffer, every following rank adds what it
  receives to its own and forwards the partial sum (``recvReduceSend``), the root adds the last
  partial sum (``recvReduceCopy``).

The buffer moves in ``k`` chunks of at most ``pipeline_chunk`` bytes (NCCL: one step of its
buffer, ``NCCL_BUFFSIZE / NCCL_STEPS`` = 4 MiB / 8 = 512 KiB with ``BROADCAST_CHUNKSTEPS =
REDUCE_CHUNKSTEPS = 1``), so all ``p - 1`` hops work at once. Rank positions are relative to the
root, ``rel = (rank - root) mod p``.

Schedule (synchronous, like every schedule here): in step ``s`` the hop ``h`` of the chain
(``h = 0 .. p-2``) carries chunk ``s - h`` when that is a chunk. A rank that receives chunk
``c`` in a step forwards chunk ``c - 1``, so the in-place updates of one step never read what
another flow of the step writes. The chain takes ``k + p - 2`` steps of one chunk each:

    T = (k + p - 2)·(α + (n/k)·β)               broadcast
    T = (k + p - 2)·(α + (n/k)·(β + γ))         reduce (every step ends with a one-chunk add)

derived here for this schedule (the first chunk needs ``p - 1`` steps to reach the end of the
chain, the last one leaves the root ``k - 1`` steps after the first: the segmented "pipeline"
broadcast that MPI libraries also implement, e.g. Open MPI's ``coll/tuned``). As ``k`` grows its
bus bandwidth ``n / T`` tends to the link bandwidth, which is NCCL's own model of the ring
broadcast and reduce (``tuning.cc``: for them ``nsteps = nRanks``, so the algorithm bandwidth
equals the bus bandwidth). The binomial tree moves the whole buffer ``⌈lg p⌉`` times
(bus bandwidth ``B / ⌈lg p⌉``: 0.33 B at 8 ranks); the chain is slower only for small messages,
where its ``k + p - 2`` latencies outweigh the tree's ``⌈lg p⌉``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np

from clustersim.collectives.kernels import gather_fits
from clustersim.collectives.schedule import Plan, Step

__all__ = [
    "chain_bytes",
    "chain_steps",
    "ring_broadcast",
    "ring_broadcast_time",
    "ring_reduce",
    "ring_reduce_reductions",
    "ring_reduce_time",
]


# ---------------------------------------------------------------------------------- kernels
def _move_chunks(
    padded: np.ndarray, src: np.ndarray, dst: np.ndarray, chunk: np.ndarray, add: bool
) -> None:
    """Rank ``dst[i]`` adds (or stores) rank ``src[i]``'s chunk ``chunk[i]``; no rank receives
    the chunk it sends, so in place flow by flow equals all at once."""
    if gather_fits(src.size, padded.shape[2], padded.itemsize):
        if add:
            padded[dst, chunk] += padded[src, chunk]
        else:
            padded[dst, chunk] = padded[src, chunk]
        return
    for s, d, c in zip(src.tolist(), dst.tolist(), chunk.tolist(), strict=True):
        if add:
            padded[d, c] += padded[s, c]
        else:
            padded[d, c] = padded[s, c]


# ------------------------------------------------------------------------------- schedules
def _chain(plan: Plan, senders: np.ndarray, label: str, add: bool) -> Iterator[Step]:
    """Chunks down the chain ``senders[h] -> senders[h] + 1`` (relative positions), pipelined."""
    p, root = plan.p, plan.root
    k = plan.chunk_bytes.size
    hop = np.arange(p - 1)
    for step in range(k + p - 2):
        chunk = step - hop
        live = (chunk >= 0) & (chunk < k)
        src = (senders[live] + root) % p
        dst = (senders[live] + 1 + root) % p
        c = chunk[live]
        yield Step(
            src,
            dst,
            plan.chunk_bytes[c],
            label,
            partial(_move_chunks, src=src, dst=dst, chunk=c, add=add),
            add,
        )


def ring_broadcast(plan: Plan) -> Iterator[Step]:
    """Pipelined ring broadcast from ``plan.root``: hop ``h`` goes from ``rel h`` to ``rel
    h + 1``. Layout: ``k`` pipeline chunks."""
    yield from _chain(plan, np.arange(plan.p - 1), "ring broadcast", add=False)


def ring_reduce(plan: Plan) -> Iterator[Step]:
    """Pipelined ring reduce to ``plan.root``: hop ``h`` goes from ``rel h + 1`` to ``rel h + 2``
    (the last hop ends at the root). Layout: ``k`` pipeline chunks."""
    yield from _chain(plan, np.arange(1, plan.p), "ring reduce", add=True)


# ------------------------------------------------------------------------------------ costs
def chain_steps(p: int, chunks: int) -> int:
    """Steps of the pipelined chain: ``k + p - 2``."""
    return chunks + p - 2


def ring_reduce_reductions(p: int, chunks: int = 1) -> int:
    """Reducing steps of the pipelined chain reduce: all its ``k + p - 2`` steps (``k`` =
    ``chunks``), each with some rank adding the chunk it received.

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return chain_steps(p, chunks)


def ring_broadcast_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0, chunks: int = 1
) -> float:
    """``(k + p - 2)·(α + (n/k)·β)`` with ``k`` = ``chunks``; ``gamma`` is unused."""
    return chain_steps(p, chunks) * (alpha + size / chunks * beta)


def ring_reduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0, chunks: int = 1
) -> float:
    """``(k + p - 2)·(α + (n/k)·(β + γ))``: every step adds one received chunk."""
    return chain_steps(p, chunks) * (alpha + size / chunks * (beta + gamma))


def chain_bytes(size: float, p: int) -> float:
    """Bytes on the wire: every chunk crosses the ``p - 1`` hops once, ``(p - 1)·n``."""
    return (p - 1) * size
