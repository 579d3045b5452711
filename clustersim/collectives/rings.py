"""Concurrent ring phases as schedules: the ring collectives and the hierarchical all-reduce.

:func:`ring_phase` runs the ring reduce-scatter or all-gather of
:mod:`clustersim.collectives.ring` on several disjoint rings at once, one ``transfer_all`` batch
per step for all of them; the flat ring is one ring of every rank, and the hierarchical
all-reduce chains ring phases on rings inside machines and rings across them. The numerics are
the ring kernel's own step functions (looked up at call time, so a test that replaces them sees
its replacement), applied to views of the padded buffers.

Hierarchical all-reduce (on ``two_level``: ``m`` machines of ``g`` GPUs; Horovod's hierarchical
all-reduce, Sergeev & Del Balso, arXiv:1802.05799, 2018: NCCL reduce-scatter inside a machine,
all-reduce across machines, NCCL all-gather inside; the bandwidth-optimal form of the
hierarchical all-reduce of Jia et al., arXiv:1807.11205, 2018):

1. inside every machine, a ring reduce-scatter over its ``g`` GPUs: GPU ``j`` ends with the
   machine's sum of slice ``j`` (``n/g`` bytes);
2. across machines, for every ``j`` at once, a ring all-reduce of slice ``j`` over the ``m``
   GPUs with local rank ``j`` (one per machine, each through its own NIC);
3. inside every machine, a ring all-gather of the slices.

The buffer is cut into ``p = m·g`` chunks; chunk ``j·m + i`` is piece ``i`` of slice ``j``.
Cost (the sum of the three ring phases, Thakur et al. 2005 §4.3/§4.1 and Patarasuk & Yuan 2009):
``2(g-1)(α_intra + (n/g)β_intra) + 2(m-1)(α_inter + (n/p)β_inter) + ((p-1)/p)·nγ``; exact on
``two_level`` (NVLink pairs inside, one NIC per GPU to the switch: no two flows of a step share
a link).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np

from clustersim.collectives import ring
from clustersim.collectives.schedule import Plan, Step

__all__ = [
    "ALL_GATHER",
    "REDUCE_SCATTER",
    "hierarchical_allreduce",
    "hierarchical_allreduce_time",
    "ring_allgather_schedule",
    "ring_allreduce_schedule",
    "ring_phase",
    "ring_reduce_scatter_schedule",
]

REDUCE_SCATTER = "reduce-scatter"
ALL_GATHER = "all-gather"


def _ring_kernel(phase: str, padded: np.ndarray, step: int) -> None:
    """The ring module's step function for ``phase``, looked up now (tests may patch it)."""
    if phase == REDUCE_SCATTER:
        ring.ring_reduce_scatter_step(padded, step)
    else:
        ring.ring_allgather_step(padded, step)


def ring_phase(
    rings: np.ndarray,
    block_bytes: np.ndarray,
    phase: str,
    label: str,
    kernel: Callable[..., None] | None,
) -> Iterator[Step]:
    """Reduce-scatter or all-gather on ``R`` disjoint rings of ``L`` members at once.

    ``rings[q, a]`` is the rank position of member ``a`` of ring ``q``; ``block_bytes[q, u]`` the
    size of ring ``q``'s block ``u``. In step ``s`` member ``a`` sends block ``(a-1-s) mod L``
    (reduce-scatter) or ``(a-s) mod L`` (all-gather) to member ``a+1`` (the schedule of
    :mod:`clustersim.collectives.ring`). ``kernel(padded, step=s)`` replays the step.
    """
    members = rings.shape[1]
    src = rings.ravel()
    dst = np.roll(rings, -1, axis=1).ravel()
    lag = 1 if phase == REDUCE_SCATTER else 0
    position = np.arange(members)
    for step in range(members - 1):
        block = (position - lag - step) % members
        yield Step(
            src,
            dst,
            block_bytes[:, block].ravel(),
            f"{label} {phase}",
            partial(kernel, step=step) if kernel else None,
            phase == REDUCE_SCATTER,
        )


def _flat(plan: Plan, phases: tuple[str, ...]) -> Iterator[Step]:
    rings = np.arange(plan.p)[np.newaxis]
    for phase in phases:
        yield from ring_phase(
            rings, plan.chunk_bytes[np.newaxis], phase, "ring", partial(_ring_kernel, phase)
        )


def ring_allreduce_schedule(plan: Plan) -> Iterator[Step]:
    """The ring all-reduce of :mod:`clustersim.collectives.ring` as a schedule (p chunks)."""
    yield from _flat(plan, (REDUCE_SCATTER, ALL_GATHER))


def ring_reduce_scatter_schedule(plan: Plan) -> Iterator[Step]:
    """The ring reduce-scatter as a schedule (p chunks)."""
    yield from _flat(plan, (REDUCE_SCATTER,))


def ring_allgather_schedule(plan: Plan) -> Iterator[Step]:
    """The ring all-gather as a schedule (p chunks)."""
    yield from _flat(plan, (ALL_GATHER,))


# ----------------------------------------------------------------------------- hierarchical
def _contiguous(padded: np.ndarray) -> np.ndarray:
    if not padded.flags.c_contiguous:
        raise ValueError("the hierarchical kernel works on views: padded must be C-contiguous")
    return padded


def _intra_step(padded: np.ndarray, machines: int, gpus: int, phase: str, step: int) -> None:
    """Ring step inside every machine: members are its GPUs, blocks its ``g`` slices."""
    for machine in _contiguous(padded).reshape(machines, gpus, gpus, -1):
        _ring_kernel(phase, machine, step)


def _inter_step(padded: np.ndarray, machines: int, gpus: int, phase: str, step: int) -> None:
    """Ring step across machines for every local rank ``j``: members are the GPUs ``(i, j)``,
    blocks the ``m`` pieces of slice ``j``."""
    width = padded.shape[2]
    grid = _contiguous(padded).reshape(machines, gpus, gpus, machines, width)
    for j in range(gpus):
        _ring_kernel(phase, grid[:, j, j], step)


def hierarchical_allreduce(plan: Plan) -> Iterator[Step]:
    """Intra-machine reduce-scatter, inter-machine all-reduce, intra-machine all-gather.

    ``plan.grid`` is the (machines, gpus) array of rank positions, machine-major
    (``grid[i, j] = i·g + j``); layout: ``p`` chunks.
    """
    if plan.grid is None:
        raise ValueError("hierarchical_allreduce needs plan.grid (machines × gpus)")
    grid = plan.grid
    machines, gpus = grid.shape
    pieces = plan.chunk_bytes.reshape(gpus, machines)  # pieces[j, i]: chunk j·m + i
    slices = np.broadcast_to(pieces.sum(axis=1), (machines, gpus))
    label = "hierarchical"
    shape = {"machines": machines, "gpus": gpus}
    yield from ring_phase(
        grid,
        slices,
        REDUCE_SCATTER,
        f"{label} intra",
        partial(_intra_step, phase=REDUCE_SCATTER, **shape),
    )
    for phase in (REDUCE_SCATTER, ALL_GATHER):
        yield from ring_phase(
            grid.T, pieces, phase, f"{label} inter", partial(_inter_step, phase=phase, **shape)
        )
    yield from ring_phase(
        grid, slices, ALL_GATHER, f"{label} intra", partial(_intra_step, phase=ALL_GATHER, **shape)
    )


def hierarchical_allreduce_time(
    size: float,
    machines: int,
    gpus: int,
    alpha_intra: float,
    beta_intra: float,
    alpha_inter: float,
    beta_inter: float,
    gamma: float = 0.0,
) -> float:
    """``2(g-1)(α_intra + (n/g)β_intra) + 2(m-1)(α_inter + (n/p)β_inter) + ((p-1)/p)·nγ``."""
    p = machines * gpus
    return (
        2 * (gpus - 1) * (alpha_intra + size / gpus * beta_intra)
        + 2 * (machines - 1) * (alpha_inter + size / p * beta_inter)
        + (p - 1) / p * size * gamma
    )
