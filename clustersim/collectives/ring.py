"""Ring collectives: all-reduce, reduce-scatter and all-gather on a logical ring of ranks, and
the hierarchical all-reduce built from rings inside and across machines.

Three views of one algorithm (docs/architecture.md §1), all in this module:

* **kernel**: :func:`ring_reduce_scatter_step` and :func:`ring_allgather_step` move real numpy
  data exactly as the ring does, one step at a time; :func:`ring_allreduce` chains them.
* **schedule**: :func:`ring_phase` turns the steps into :class:`~clustersim.collectives.
  schedule.Step` records (the flows of each step and the kernel update they carry) on several
  disjoint rings at once; :func:`ring_allreduce_schedule` and friends are the flat ring,
  :func:`hierarchical_allreduce` the rings inside and across machines. The timed process is the
  generic :func:`~clustersim.collectives.process.schedule_process` run on these schedules.
* **cost**: :func:`ring_allreduce_time` and friends, the alpha-beta(-gamma) model, and the
  bytes each schedule puts on the wire.

Ring schedule (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
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

The schedules call the step functions through :func:`_ring_kernel`, which looks them up in this
module at call time, so a test that replaces one (a broken kernel as a negative control) sees its
replacement in every ring schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from clustersim.collectives.kernels import gather_fits
from clustersim.collectives.schedule import Plan, Step
from clustersim.errors import InputError

if TYPE_CHECKING:
    from clustersim.hardware.cluster import Cluster

__all__ = [
    "ALL_GATHER",
    "REDUCE_SCATTER",
    "hierarchical_allreduce",
    "hierarchical_allreduce_reductions",
    "hierarchical_allreduce_time",
    "hierarchical_grid",
    "ring_allgather_schedule",
    "ring_allgather_step",
    "ring_allgather_time",
    "ring_allreduce",
    "ring_allreduce_bytes",
    "ring_allreduce_schedule",
    "ring_allreduce_time",
    "ring_phase",
    "ring_phase_bytes",
    "ring_reduce_scatter_schedule",
    "ring_reduce_scatter_step",
    "ring_reduce_scatter_time",
    "ring_reductions",
]

REDUCE_SCATTER = "reduce-scatter"
ALL_GATHER = "all-gather"


# ---------------------------------------------------------------------------------- kernel
def ring_reduce_scatter_step(padded: np.ndarray, step: int) -> None:
    """One reduce-scatter step in place on ``padded`` (ranks, chunks, width).

    Rank ``j`` adds rank ``j-1``'s chunk ``(j-2-step) mod p`` into its own. No rank reads a
    chunk that another rank writes in the same step, so updating ranks one after another
    equals the simultaneous exchange; wide chunks are moved that way, in place (no gathered
    temporary, :func:`~clustersim.collectives.kernels.gather_fits`).
    """
    p = padded.shape[0]
    if not gather_fits(p, padded.shape[2], padded.itemsize):
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
    if not gather_fits(p, padded.shape[2], padded.itemsize):
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


def _ring_kernel(phase: str, padded: np.ndarray, step: int) -> None:
    """This module's step function for ``phase``, looked up now (tests may replace it)."""
    if phase == REDUCE_SCATTER:
        ring_reduce_scatter_step(padded, step)
    else:
        ring_allgather_step(padded, step)


# -------------------------------------------------------------------------------- schedule
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
    (reduce-scatter) or ``(a-s) mod L`` (all-gather) to member ``a+1``: the ring schedule above,
    one ``transfer_all`` batch per step for all the rings. ``kernel(padded, step=s)`` replays the
    step.
    """
    members = rings.shape[1]
    src = rings.ravel()
    dst = np.roll(rings, -1, axis=1).ravel()
    lag = 1 if phase == REDUCE_SCATTER else 0
    position = np.arange(members)
    even = block_bytes.size and (block_bytes == block_bytes.flat[0]).all()
    for step in range(members - 1):
        if even:
            sizes: np.ndarray | float = float(block_bytes.flat[0])
        else:
            sizes = block_bytes[:, (position - lag - step) % members].ravel()
        yield Step(
            src,
            dst,
            sizes,
            f"{label} {phase}",
            partial(kernel, step=step) if kernel else None,
            phase == REDUCE_SCATTER,
        )


def _flat(plan: Plan, phases: tuple[str, ...]) -> Iterator[Step]:
    """The phases on one ring of every rank, blocks = the plan's chunks."""
    rings = np.arange(plan.p)[np.newaxis]
    for phase in phases:
        yield from ring_phase(
            rings, plan.chunk_bytes[np.newaxis], phase, "ring", partial(_ring_kernel, phase)
        )


def ring_allreduce_schedule(plan: Plan) -> Iterator[Step]:
    """The ring all-reduce as a schedule: reduce-scatter then all-gather (p chunks)."""
    yield from _flat(plan, (REDUCE_SCATTER, ALL_GATHER))


def ring_reduce_scatter_schedule(plan: Plan) -> Iterator[Step]:
    """The ring reduce-scatter as a schedule (p chunks)."""
    yield from _flat(plan, (REDUCE_SCATTER,))


def ring_allgather_schedule(plan: Plan) -> Iterator[Step]:
    """The ring all-gather as a schedule (p chunks)."""
    yield from _flat(plan, (ALL_GATHER,))


# ----------------------------------------------------------------------------- hierarchical
def hierarchical_grid(cluster: Cluster, ranks: list[str]) -> np.ndarray:
    """(machines, gpus) rank positions of a two-level cluster, machine-major.

    Needs a topology with ``G.graph["gpus_per_node"]`` (``two_level``) and the ranks listed
    machine by machine, the same number on every machine; else an InputError saying which.
    """
    graph = cluster.graph
    if graph.graph.get("gpus_per_node") is None:
        kind = graph.graph.get("kind", "custom")
        raise InputError(
            f"algorithm 'hierarchical' needs GPUs grouped into machines (a two_level topology, "
            f"which records gpus_per_node); this cluster is a {kind} topology. Use "
            "cluster.topology.kind: two_level, or another algorithm such as ring"
        )
    groups = [graph.nodes[name].get("group") for name in ranks]
    runs: list[tuple[Any, int]] = []
    for group in groups:
        if runs and runs[-1][0] == group:
            runs[-1] = (group, runs[-1][1] + 1)
        else:
            runs.append((group, 1))
    seen = [group for group, _ in runs]
    sizes = {count for _, count in runs}
    if len(set(seen)) != len(seen) or len(sizes) != 1:
        raise InputError(
            "algorithm 'hierarchical' needs workload.ranks listed machine by machine with the "
            f"same number of GPUs on every machine; got machines {seen} with "
            f"{[count for _, count in runs]} GPUs"
        )
    return np.arange(len(ranks)).reshape(len(runs), sizes.pop())


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
    (``grid[i, j] = i·g + j``, :func:`hierarchical_grid`); layout: ``p`` chunks.
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


def ring_reductions(p: int, chunks: int = 1) -> int:
    """Steps of a ring all-reduce or reduce-scatter in which ranks reduce: the ``p - 1``
    reduce-scatter steps (every rank adds one received chunk in each; Thakur et al. 2005,
    §4.3). ``chunks`` is unused.

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return p - 1


def hierarchical_allreduce_reductions(machines: int, gpus: int) -> int:
    """Reducing steps of the hierarchical all-reduce: the intra-machine reduce-scatter's
    ``g - 1`` and the inter-machine ring's ``m - 1`` (its all-gathers only copy).

    Each is one reduction kernel launch with ``reduction: device``, so the collective's
    analytic time adds this count times the launch overhead (:class:`~clustersim.collectives.
    process.Reducer`)."""
    return (gpus - 1) + (machines - 1)


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
    """``2(g-1)(α_intra + (n/g)β_intra) + 2(m-1)(α_inter + (n/p)β_inter) + ((p-1)/p)·nγ``:
    the three ring phases of the hierarchical all-reduce (Sergeev & Del Balso 2018; each phase
    per Thakur et al. 2005 §4.3/§4.1)."""
    p = machines * gpus
    return (
        2 * (gpus - 1) * (alpha_intra + size / gpus * beta_intra)
        + 2 * (machines - 1) * (alpha_inter + size / p * beta_inter)
        + (p - 1) / p * size * gamma
    )


def ring_phase_bytes(size: float, p: int) -> float:
    """Bytes on the wire of a ring reduce-scatter or all-gather: ``p-1`` steps of ``p`` flows
    of ``n/p``, ``(p-1)·n``."""
    return (p - 1) * size


def ring_allreduce_bytes(size: float, p: int) -> float:
    """Bytes on the wire of a ring all-reduce, two ring phases: ``2(p-1)·n`` (the lecture
    notes' ``2(N-1)G``).

    Also the hierarchical all-reduce's: its intra-machine phases carry ``2m(g-1)·n`` (``m``
    rings of ``g-1`` steps of ``g`` slices of ``n/g``, twice) and its inter-machine rings
    ``2(m-1)·n`` (``g`` rings of ``2(m-1)`` steps of ``m`` pieces of ``n/p``), together
    ``2(mg-1)·n``.
    """
    return 2 * (p - 1) * size
