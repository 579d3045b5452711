"""Tree collectives: binomial broadcast, reduce and all-reduce; NCCL's double binary tree.

Binomial trees (Thakur, Rabenseifner & Gropp, IJHPCA 19(1) 2005, §4.2 broadcast and §4.4
reduce; MPICH ``bcast`` and ``reduce`` binomial algorithms): ranks are renumbered relative to
the root, ``rel = (rank - root) mod p``. Reduce: in the step with distance ``mask`` (1, 2, 4,
...) every rank whose ``rel`` has ``mask`` as its lowest set bit sends its partial sum to
``rel - mask``, which adds it. Broadcast is the mirror image: in the step with distance
``mask`` (from the largest power of two below p down to 1) every rank with ``rel ≡ 0 (mod
2·mask)`` sends the buffer to ``rel + mask``. Each takes ``⌈lg p⌉`` steps of the whole buffer.
The tree all-reduce is a reduce to rank 0 followed by a broadcast from it (the "old MPICH"
all-reduce of Thakur et al. §4.4).

Double binary tree (NCCL ≥ 2.4; Sanders, Speck & Träff, "Two-tree algorithms for full
bandwidth broadcast, reduction and scan", Parallel Computing 35(12) 2009): two binary trees
over all ranks, built as NCCL's ``ncclGetDtree`` does (``src/graph/trees.cc``): tree A is the
in-order "btree" rooted at 0, tree B its mirror (``rank -> p-1-rank``) when p is even or its
shift by one when p is odd, so that most ranks that are inner nodes in one tree are leaves in
the other. Each tree carries half of the buffer, cut into ``k`` pipeline chunks (NVIDIA,
"Massively scale your deep learning training with NCCL 2.4", 2019). The schedule is
synchronous and pipelined: in the reduce phase a rank at depth ``d`` (the root is 0, the
deepest rank ``D = ⌈lg p⌉``) sends chunk ``c`` to its parent in step ``c + D - d``, so that
siblings arrive together; in the broadcast phase it forwards chunk ``c`` to its children in
step ``c + d``. Every flow carries one chunk of ``n/2k`` bytes; each phase takes ``k + D - 1``
steps.

Unlike NCCL's kernel, the broadcast phase starts after the reduce phase: overlapping them makes
tree A's reduce and tree B's broadcast use the same link direction in the same step (with
p = 8, rank 1 sends up tree A to 2 while 1 is 2's parent in tree B). Within a phase no link
direction carries two flows on ``fully_connected`` (for p ≠ 3), but a device with one port (a
NIC to a switch) receives both children's chunks through it: the analytic model counts, per
step, the flows on the busiest port (:func:`double_binary_tree_allreduce_time`'s ``m``, from
the routes the schedule uses), so the simulation equals the formula on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np

from clustersim.collectives.kernels import add_rows, copy_rows, gather_fits
from clustersim.collectives.schedule import Plan, Step

__all__ = [
    "binomial_broadcast",
    "binomial_broadcast_time",
    "binomial_reduce",
    "binomial_reduce_time",
    "binomial_reductions",
    "double_binary_tree_allreduce",
    "double_binary_tree_allreduce_time",
    "double_binary_tree_reductions",
    "double_trees",
    "nccl_btree",
    "tree_allreduce",
    "tree_allreduce_time",
    "tree_bytes",
    "tree_depth",
    "two_tree_bytes",
]


# ----------------------------------------------------------------------------- binomial
def binomial_reduce(plan: Plan, label: str = "binomial") -> Iterator[Step]:
    """Binomial-tree reduce to ``plan.root``; layout: any (whole rows move)."""
    p, root = plan.p, plan.root
    rel = np.arange(p)
    mask = 1
    while mask < p:
        senders = rel[rel % (2 * mask) == mask]
        src, dst = (senders + root) % p, (senders - mask + root) % p
        yield Step(
            src, dst, plan.size, f"{label} reduce", partial(add_rows, src=src, dst=dst), True
        )
        mask <<= 1


def binomial_broadcast(plan: Plan, label: str = "binomial") -> Iterator[Step]:
    """Binomial-tree broadcast from ``plan.root``; layout: any."""
    p, root = plan.p, plan.root
    rel = np.arange(p)
    mask = 1 << ((p - 1).bit_length() - 1) if p > 1 else 0
    while mask:
        senders = rel[(rel % (2 * mask) == 0) & (rel + mask < p)]
        src, dst = (senders + root) % p, (senders + mask + root) % p
        yield Step(src, dst, plan.size, f"{label} broadcast", partial(copy_rows, src=src, dst=dst))
        mask >>= 1


def tree_allreduce(plan: Plan) -> Iterator[Step]:
    """Binomial reduce to ``plan.root`` (rank 0) then binomial broadcast from it."""
    yield from binomial_reduce(plan, "tree")
    yield from binomial_broadcast(plan, "tree")


def _lg(p: int) -> int:
    return (p - 1).bit_length()  # ⌈lg p⌉


def binomial_reductions(p: int, chunks: int = 1) -> int:
    """Reducing steps of a binomial reduce (and of the tree all-reduce, whose broadcast only
    copies): ``⌈lg p⌉``, one per distance ``mask`` (Thakur et al. 2005, §4.4). ``chunks`` is
    unused.

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return _lg(p)


def double_binary_tree_reductions(p: int, chunks: int = 1) -> int:
    """Reducing steps of the pipelined double binary tree: every one of its ``k + D - 1``
    reduce-phase steps (``k`` = ``chunks`` per tree, ``D = ⌈lg p⌉``) has some parent adding a
    child's chunk; the broadcast phase only copies.

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return chunks + _lg(p) - 1


def binomial_broadcast_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``⌈lg p⌉·(α + nβ)`` (Thakur et al. 2005, §4.2). ``gamma`` is unused."""
    return _lg(p) * (alpha + size * beta)


def binomial_reduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``⌈lg p⌉·(α + nβ + nγ)`` (Thakur et al. 2005, §4.4)."""
    return _lg(p) * (alpha + size * (beta + gamma))


def tree_allreduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``2⌈lg p⌉·(α + nβ) + ⌈lg p⌉·nγ``: reduce then broadcast (Thakur et al. 2005, §4.4)."""
    return binomial_reduce_time(size, p, alpha, beta, gamma) + binomial_broadcast_time(
        size, p, alpha, beta
    )


# ------------------------------------------------------------------------ double binary
def nccl_btree(p: int) -> np.ndarray:
    """Parent of every rank in NCCL's binary tree rooted at 0 (``-1`` for the root).

    ``ncclGetBtree``: with ``bit`` the lowest set bit of a rank, its parent is
    ``(rank ^ bit) | (bit << 1)``, or ``rank ^ bit`` when that is out of range; the root's only
    child is the largest power of two below p.
    """
    parent = np.full(p, -1, dtype=np.int64)
    for rank in range(1, p):
        bit = rank & -rank
        up = (rank ^ bit) | (bit << 1)
        parent[rank] = up if up < p else rank ^ bit
    return parent


def double_trees(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Parents in NCCL's two trees (``ncclGetDtree``): the btree, and its mirror (p even) or
    its shift by one rank (p odd)."""
    a = nccl_btree(p)
    ranks = np.arange(p)
    if p % 2:
        image = (ranks - 1) % p  # tree B's rank r plays the btree's rank r-1
        up = a[image]
        b = np.where(up < 0, -1, (up + 1) % p)
    else:
        up = a[p - 1 - ranks]
        b = np.where(up < 0, -1, p - 1 - up)
    return a, b


def tree_depth(parent: np.ndarray) -> np.ndarray:
    """Depth of every node (root 0) of the tree given by ``parent``."""
    depth = np.zeros(parent.size, dtype=np.int64)
    node = parent.copy()
    while (node >= 0).any():
        live = node >= 0
        depth[live] += 1
        node[live] = parent[node[live]]
    return depth


def _tree_reduce(padded: np.ndarray, src: np.ndarray, dst: np.ndarray, chunk: np.ndarray) -> None:
    """Each parent ``dst[i]`` adds child ``src[i]``'s chunk ``chunk[i]``, in flow order.

    Siblings arrive together, hence the unbuffered ``add.at`` for narrow chunks; wide ones are
    added flow by flow in place, which is the same: a rank that receives chunk ``c`` in a step
    sends chunk ``c - 1``, so no flow reads what another writes.
    """
    if gather_fits(src.size, padded.shape[2], padded.itemsize):
        np.add.at(padded, (dst, chunk), padded[src, chunk])
        return
    for s, d, c in zip(src.tolist(), dst.tolist(), chunk.tolist(), strict=True):
        padded[d, c] += padded[s, c]


def _tree_copy(padded: np.ndarray, src: np.ndarray, dst: np.ndarray, chunk: np.ndarray) -> None:
    """Each child ``dst[i]`` stores its parent's chunk ``chunk[i]`` (a rank that receives
    chunk ``c`` forwards chunk ``c - 1``, so flow by flow in place equals all at once)."""
    if gather_fits(src.size, padded.shape[2], padded.itemsize):
        padded[dst, chunk] = padded[src, chunk]
        return
    for s, d, c in zip(src.tolist(), dst.tolist(), chunk.tolist(), strict=True):
        padded[d, c] = padded[s, c]


def double_binary_tree_allreduce(plan: Plan) -> Iterator[Step]:
    """The pipelined double-binary-tree all-reduce. Layout: ``2k`` chunks; tree A reduces and
    broadcasts chunks ``0..k-1``, tree B chunks ``k..2k-1``."""
    k = plan.chunk_bytes.size // 2
    trees = double_trees(plan.p)
    depths = [tree_depth(t) for t in trees]
    inner = [t >= 0 for t in trees]
    child = np.concatenate([np.flatnonzero(has) for has in inner])
    parent = np.concatenate([t[has] for t, has in zip(trees, inner, strict=True)])
    d_child = np.concatenate([d[has] for d, has in zip(depths, inner, strict=True)])
    offset = np.concatenate([np.full(int(has.sum()), i * k) for i, has in enumerate(inner)])
    deepest = int(max(d.max() for d in depths))
    label = "double_binary_tree"
    for step in range(k + deepest - 1):
        c = step - (deepest - d_child)  # siblings send the same chunk in the same step
        live = (c >= 0) & (c < k)
        src, dst, chunk = child[live], parent[live], offset[live] + c[live]
        yield Step(
            src,
            dst,
            plan.chunk_bytes[chunk],
            f"{label} reduce",
            partial(_tree_reduce, src=src, dst=dst, chunk=chunk),
            True,
        )
    for step in range(k + deepest - 1):
        c = step - (d_child - 1)  # a parent at depth d forwards chunk c in step c + d
        live = (c >= 0) & (c < k)
        src, dst, chunk = parent[live], child[live], offset[live] + c[live]
        yield Step(
            src,
            dst,
            plan.chunk_bytes[chunk],
            f"{label} broadcast",
            partial(_tree_copy, src=src, dst=dst, chunk=chunk),
        )


def double_binary_tree_allreduce_time(
    size: float,
    p: int,
    alpha: float,
    beta: float,
    gamma: float = 0.0,
    chunks: int = 1,
    shared_port_steps: int = 0,
) -> float:
    """``2(k + D - 1)·(α + (n/2k)·β) + m·(n/2k)·β + g·(n/2k)·γ`` with ``k`` = ``chunks`` per
    tree, ``D = ⌈lg p⌉`` the depth of NCCL's trees and ``m`` = ``shared_port_steps``.

    Derived here for the synchronous pipelined schedule of this module: ``k + D - 1`` reduce
    steps, then as many broadcast steps, each moving one chunk of ``n/2k`` per flow (the shape
    of Sanders et al.'s two-tree bound: bandwidth term ``≈ nβ``, latency ``O(α lg p)``). ``g``
    counts chunks on the critical reduction path: some parent adds two children's chunks in
    every reduce step but the last (``g = 2(k + D) - 3``); with two ranks each tree has one child
    (``g = k``), with three no parent receives two chunks in the first step either (``g = 2k``).

    ``m`` is the port model's term: a step whose busiest port (a device's link, which the
    step's flows to or from that device share) carries ``c`` flows streams for ``c`` chunk
    times, ``c - 1`` more than the formula's one; ``m`` sums them over the steps. With a port
    per peer (``fully_connected``) ``m = 0`` but for three ranks, where both trees use the link
    2→0 (and 0→2) in the same steps; with one port per device (``switch``) a parent receives
    both children's chunks through it and ``m ≈ 2k``: the bandwidth term doubles to ``≈ 2nβ``,
    NCCL's own model of its tree (``tuning.cc``: algorithm bandwidth = bus bandwidth / 2).
    """
    depth = _lg(p)
    piece = size / (2 * chunks)
    reduced = {2: chunks, 3: 2 * chunks}.get(p, 2 * (chunks + depth) - 3)
    steps = 2 * (chunks + depth - 1)
    return (
        steps * (alpha + piece * beta) + shared_port_steps * piece * beta + reduced * piece * gamma
    )


def tree_bytes(size: float, p: int) -> float:
    """Bytes on the wire of a binomial reduce or broadcast: ``p - 1`` sends of ``n``."""
    return (p - 1) * size


def two_tree_bytes(size: float, p: int) -> float:
    """Reduce and broadcast over trees that span every rank: ``2(p-1)·n`` (as the ring)."""
    return 2 * (p - 1) * size
