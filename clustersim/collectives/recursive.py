"""Recursive doubling and halving: all-reduce, Rabenseifner's all-reduce, all-gather and
reduce-scatter.

Schedules (see :mod:`clustersim.collectives.schedule`) and their alpha-beta-gamma costs, after
Thakur, Rabenseifner & Gropp, "Optimization of collective communication operations in MPICH",
IJHPCA 19(1) 2005, and the MPICH sources that implement them (``allreduce_intra_recursive_
doubling.c``, ``allreduce_intra_reduce_scatter_allgather.c``, ``allgather.c``,
``reduce_scatter_intra_recursive_halving.c``; each states its cost in a comment that the
formulas below reproduce).

Non-power-of-two rank counts are handled as MPICH does (:func:`~clustersim.collectives.
schedule.fold_ranks`): with ``p' = 2^⌊lg p⌋`` and ``r = p - p'``, each even rank ``2i < 2r``
first sends its data to ``2i+1`` (*fold*), the ``p'`` remaining ranks run the power-of-two
algorithm, and each odd rank ``2i+1`` finally sends the result to ``2i`` (*unfold*). The fold
and unfold are whole extra steps, so the cost gains ``2α`` and extra β/γ terms; the formulas
below are exact for this schedule with even chunks. (The paper's §5.1 describes a cheaper
elimination in which the pair exchanges half vectors; MPICH's code, which we follow, sends the
whole vector.)

Sizes: ``n`` is the buffer (all-reduce), the gathered output (all-gather) or the input before
scattering (reduce-scatter), in bytes (docs/architecture.md §4).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial

import numpy as np

from clustersim.collectives.kernels import add_rows, copy_rows
from clustersim.collectives.schedule import Plan, Step, fold_ranks

__all__ = [
    "halving_doubling_allreduce",
    "halving_doubling_allreduce_bytes",
    "halving_doubling_allreduce_time",
    "recursive_doubling_allgather",
    "recursive_doubling_allgather_bytes",
    "recursive_doubling_allgather_time",
    "recursive_doubling_allreduce",
    "recursive_doubling_allreduce_bytes",
    "recursive_doubling_allreduce_time",
    "recursive_halving_reduce_scatter",
    "recursive_halving_reduce_scatter_bytes",
    "recursive_halving_reduce_scatter_time",
    "recursive_reductions",
]


# ---------------------------------------------------------------------------------- kernels
def pair_sum(padded: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Ranks ``lo[i]`` and ``hi[i]`` exchange whole buffers and both keep the sum."""
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        padded[a] += padded[b]
        padded[b] = padded[a]  # a + b == b + a exactly: both hold the same bits


def move_ranges(
    padded: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    add: bool,
) -> None:
    """Rank ``dst[i]`` adds (or stores) chunks ``start[i]:stop[i]`` of rank ``src[i]``.

    Callers guarantee that no rank writes a range another flow of the same step reads.
    """
    flows = zip(src.tolist(), dst.tolist(), start.tolist(), stop.tolist(), strict=True)
    for s, d, a, b in flows:
        if add:
            padded[d, a:b] += padded[s, a:b]
        else:
            padded[d, a:b] = padded[s, a:b]


# ------------------------------------------------------------------------------- schedules
def _fold(plan: Plan, label: str, reduce: bool) -> Iterator[Step]:
    """Even ranks ``2i < 2r`` hand their whole buffer to ``2i+1`` (add or store)."""
    _, rem, _ = fold_ranks(plan.p)
    if rem:
        even = 2 * np.arange(rem)
        kernel = add_rows if reduce else copy_rows
        yield Step(
            even,
            even + 1,
            plan.size,
            f"{label} fold",
            partial(kernel, src=even, dst=even + 1),
            reduce,
        )


def _unfold(plan: Plan, label: str, sizes: np.ndarray | float) -> Iterator[Step]:
    """Odd ranks ``2i+1 < 2r`` send the result back to ``2i``."""
    _, rem, _ = fold_ranks(plan.p)
    if rem:
        odd = 2 * np.arange(rem) + 1
        yield Step(odd, odd - 1, sizes, f"{label} unfold", partial(copy_rows, src=odd, dst=odd - 1))


def recursive_doubling_allreduce(plan: Plan) -> Iterator[Step]:
    """Recursive doubling all-reduce: in step ``k`` new ranks ``i`` and ``i XOR 2^k`` exchange
    their whole buffers and both add (Thakur et al. 2005, §4.4; MPICH
    ``allreduce_intra_recursive_doubling.c``). Layout: any (whole rows move)."""
    label = "recursive_doubling"
    yield from _fold(plan, label, reduce=True)
    pof2, _, real = fold_ranks(plan.p)
    new = np.arange(pof2)
    mask = 1
    while mask < pof2:
        partner = new ^ mask
        lower = new < partner
        yield Step(
            real,
            real[partner],
            plan.size,
            f"{label} exchange",
            partial(pair_sum, lo=real[lower], hi=real[partner[lower]]),
            True,
        )
        mask <<= 1
    yield from _unfold(plan, label, plan.size)


def halving_doubling_allreduce(plan: Plan) -> Iterator[Step]:
    """Rabenseifner's all-reduce: reduce-scatter by recursive vector halving and distance
    doubling, then all-gather by recursive vector doubling and distance halving (Thakur et al.
    2005, §5.1; MPICH ``allreduce_intra_reduce_scatter_allgather.c``).

    Layout: ``p'`` chunks. New rank ``i`` holds chunk range ``[lo_i, hi_i)``; in the
    reduce-scatter step with distance ``mask`` the lower of each pair keeps the lower half of
    its range and sends the upper half, the upper keeps the upper half.
    """
    label = "halving_doubling"
    yield from _fold(plan, label, reduce=True)
    pof2, _, real = fold_ranks(plan.p)
    new = np.arange(pof2)
    lo = np.zeros(pof2, dtype=np.int64)
    hi = np.full(pof2, pof2, dtype=np.int64)
    mask = 1
    while mask < pof2:
        partner = new ^ mask
        lower = new < partner
        mid = (lo + hi) // 2
        start, stop = np.where(lower, mid, lo), np.where(lower, hi, mid)
        yield Step(
            real,
            real[partner],
            plan.range_bytes(start, stop),
            f"{label} reduce-scatter",
            partial(move_ranges, src=real, dst=real[partner], start=start, stop=stop, add=True),
            True,
        )
        lo, hi = np.where(lower, lo, mid), np.where(lower, mid, hi)
        mask <<= 1
    mask = pof2 >> 1
    while mask:
        partner = new ^ mask
        yield Step(
            real,
            real[partner],
            plan.range_bytes(lo, hi),
            f"{label} all-gather",
            partial(move_ranges, src=real, dst=real[partner], start=lo, stop=hi, add=False),
        )
        lo, hi = np.minimum(lo, lo[partner]), np.maximum(hi, hi[partner])
        mask >>= 1
    yield from _unfold(plan, label, plan.size)


def _new_rank_chunks(p: int) -> np.ndarray:
    """First chunk of each new rank's block (length p'+1): new rank ``i < r`` owns the chunks of
    ranks ``2i`` and ``2i+1``, later ones the chunk of rank ``i + r``."""
    pof2, rem, _ = fold_ranks(p)
    counts = np.where(np.arange(pof2) < rem, 2, 1)
    return np.concatenate(([0], np.cumsum(counts)))


def recursive_doubling_allgather(plan: Plan) -> Iterator[Step]:
    """Recursive doubling all-gather: in step ``k`` new ranks ``i`` and ``i XOR 2^k`` exchange
    everything they have gathered so far (Thakur et al. 2005, §4.1; MPICH ``allgather.c``).
    Layout: one chunk per rank. Non-power-of-two: even rank ``2i < 2r`` first hands its chunk
    to ``2i+1`` and finally receives everything but its own chunk from it."""
    label = "recursive_doubling"
    p = plan.p
    pof2, rem, real = fold_ranks(p)
    if rem:
        even = 2 * np.arange(rem)
        yield Step(
            even,
            even + 1,
            plan.chunk_bytes[even],
            f"{label} fold",
            partial(move_ranges, src=even, dst=even + 1, start=even, stop=even + 1, add=False),
        )
    first = _new_rank_chunks(p)
    new = np.arange(pof2)
    glo, ghi = new.copy(), new + 1  # the new ranks whose chunks each new rank holds
    mask = 1
    while mask < pof2:
        partner = new ^ mask
        start, stop = first[glo], first[ghi]
        yield Step(
            real,
            real[partner],
            plan.range_bytes(start, stop),
            f"{label} exchange",
            partial(move_ranges, src=real, dst=real[partner], start=start, stop=stop, add=False),
        )
        glo, ghi = np.minimum(glo, glo[partner]), np.maximum(ghi, ghi[partner])
        mask <<= 1
    if rem:
        even = 2 * np.arange(rem)
        yield from _unfold(plan, label, plan.size - plan.chunk_bytes[even])


def recursive_halving_reduce_scatter(plan: Plan) -> Iterator[Step]:
    """Recursive halving reduce-scatter: in the step with distance ``mask`` (p'/2, p'/4, ...,
    1) each new rank sends the half of its block that its partner's half of the ranks needs and
    adds the half it receives (Thakur et al. 2005, §4.3; MPICH
    ``reduce_scatter_intra_recursive_halving.c``). Layout: one chunk per rank."""
    label = "recursive_halving"
    p = plan.p
    yield from _fold(plan, label, reduce=True)
    pof2, rem, real = fold_ranks(p)
    first = _new_rank_chunks(p)
    new = np.arange(pof2)
    glo, ghi = np.zeros(pof2, dtype=np.int64), np.full(pof2, pof2, dtype=np.int64)
    mask = pof2 >> 1
    while mask:
        partner = new ^ mask
        lower = new < partner
        mid = glo + mask
        start = first[np.where(lower, mid, glo)]
        stop = first[np.where(lower, ghi, mid)]
        yield Step(
            real,
            real[partner],
            plan.range_bytes(start, stop),
            f"{label} exchange",
            partial(move_ranges, src=real, dst=real[partner], start=start, stop=stop, add=True),
            True,
        )
        glo, ghi = np.where(lower, glo, mid), np.where(lower, mid, ghi)
        mask >>= 1
    if rem:
        odd = 2 * np.arange(rem) + 1
        yield Step(
            odd,
            odd - 1,
            plan.chunk_bytes[odd - 1],
            f"{label} unfold",
            partial(move_ranges, src=odd, dst=odd - 1, start=odd - 1, stop=odd, add=False),
        )


# ------------------------------------------------------------------------------------ costs
def _shape(p: int) -> tuple[int, int, int]:
    """(p', lg p', 1 if p is not a power of two else 0)."""
    pof2, rem, _ = fold_ranks(p)
    return pof2, int(math.log2(pof2)), int(rem > 0)


def _uneven_blocks(p: int) -> int:
    """Σ_k min(2^k, r) over the lg p' steps: the extra chunks the fattest block carries because
    its first new ranks hold two chunks each (zero for a power of two)."""
    pof2, rem, _ = fold_ranks(p)
    return sum(min(1 << k, rem) for k in range(int(math.log2(pof2))))


def recursive_reductions(p: int, chunks: int = 1) -> int:
    """Reducing steps of recursive doubling, halving-doubling and recursive halving:
    ``⌈lg p⌉``. A power of two reduces in each of its ``lg p`` exchange (or halving) steps; any
    other ``p`` first folds its ``p - p'`` extra ranks into their neighbours (one reducing step,
    MPICH's ``rem`` ranks) and then runs the ``lg p'`` steps of ``p' = 2^⌊lg p⌋``:
    ``⌊lg p⌋ + 1 = ⌈lg p⌉``. ``chunks`` is unused.

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return (p - 1).bit_length()


def recursive_doubling_allreduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``lg p·(α + nβ + nγ)`` for ``p = 2^k`` (Thakur et al. 2005, §4.4; MPICH's comment).

    Otherwise ``(lg p' + 2)(α + nβ) + (lg p' + 1)·nγ``: the fold adds a step with a reduction,
    the unfold a step without.
    """
    _, lg, extra = _shape(p)
    return (lg + 2 * extra) * (alpha + size * beta) + (lg + extra) * size * gamma


def recursive_doubling_allreduce_bytes(size: float, p: int) -> float:
    """Every new rank sends ``n`` per step, plus ``n`` per folded pair each way: ``(p'·lg p' +
    2r)·n``."""
    pof2, lg, _ = _shape(p)
    return (pof2 * lg + 2 * (p - pof2)) * size


def halving_doubling_allreduce_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``2 lg p·α + 2((p-1)/p)·nβ + ((p-1)/p)·nγ`` for ``p = 2^k`` (Thakur et al. 2005, §5.1;
    MPICH's comment). Otherwise, with the fold and unfold of whole vectors (MPICH):
    ``(2 lg p' + 2)α + (2(p'-1)/p' + 2)·nβ + ((p'-1)/p' + 1)·nγ``.
    """
    pof2, lg, extra = _shape(p)
    frac = (pof2 - 1) / pof2
    return (
        (2 * lg + 2 * extra) * alpha
        + (2 * frac + 2 * extra) * size * beta
        + (frac + extra) * size * gamma
    )


def halving_doubling_allreduce_bytes(size: float, p: int) -> float:
    """Each phase sends ``(p'-1)·n`` over all ranks, the fold and unfold ``r·n`` each:
    ``2(p' - 1 + r)·n = 2(p-1)·n``, the same as the ring."""
    return 2 * (p - 1) * size


def recursive_doubling_allgather_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``lg p·α + ((p-1)/p)·nβ`` for ``p = 2^k`` (Thakur et al. 2005, §4.1; MPICH
    ``allgather.c``). Otherwise the fold (one chunk), ``lg p'`` exchanges whose fattest block
    has ``2^k + min(2^k, r)`` chunks, and the unfold (all but one chunk):
    ``(lg p' + 2)α + (p' + p - 1 + Σ_k min(2^k, r))·(n/p)β``. ``gamma`` is unused.
    """
    pof2, lg, extra = _shape(p)
    chunks = pof2 - 1 + _uneven_blocks(p) + extra * p
    return (lg + 2 * extra) * alpha + chunks * size / p * beta


def recursive_doubling_allgather_bytes(size: float, p: int) -> float:
    """Every rank receives every chunk but its own exactly once: ``(p-1)·n``."""
    return (p - 1) * size


def recursive_halving_reduce_scatter_time(
    size: float, p: int, alpha: float, beta: float, gamma: float = 0.0
) -> float:
    """``lg p·α + ((p-1)/p)·n·(β+γ)`` for ``p = 2^k`` (Thakur et al. 2005, §4.3; MPICH
    ``reduce_scatter_intra_recursive_halving.c``). Otherwise the fold of whole vectors
    (``α + n(β+γ)``), ``lg p'`` halving steps whose fattest half has ``2^k + min(2^k, r)``
    chunks, and the unfold of one chunk: ``(lg p' + 2)α + n(β+γ) + (p' - 1 + Σ_k min(2^k,
    r))·(n/p)(β+γ) + (n/p)β``. (MPICH's comment gives an approximation of the same schedule.)
    """
    pof2, lg, extra = _shape(p)
    chunks = pof2 - 1 + _uneven_blocks(p)
    return (
        (lg + 2 * extra) * alpha
        + extra * size * (beta + gamma)
        + chunks * size / p * (beta + gamma)
        + extra * size / p * beta
    )


def recursive_halving_reduce_scatter_bytes(size: float, p: int) -> float:
    """Halving sends ``(p'-1)·n``; the fold ``r·n``, the unfold ``r·n/p``."""
    pof2, _, _ = _shape(p)
    rem = p - pof2
    return (pof2 - 1 + rem) * size + rem * size / p
