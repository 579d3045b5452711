"""The collective algorithm table: which (op, algorithm) pairs exist, with schedule and cost.

Each entry binds one algorithm's schedule (the steps that drive both the numpy kernel and the
timed process, from its family's module: :mod:`~clustersim.collectives.ring`,
:mod:`~clustersim.collectives.chain`, :mod:`~clustersim.collectives.recursive`,
:mod:`~clustersim.collectives.trees`, :mod:`~clustersim.collectives.direct`) to its
alpha-beta-gamma cost, its wire-traffic formula, the buffer layout it works on, and a one-line
formula with its source for ``clustersim list``. :func:`plan_collective` turns (cluster, ranks,
sizes, options) into the :class:`~clustersim.collectives.schedule.Plan` a schedule runs on,
:func:`choose_auto` resolves ``algorithm: auto`` with NCCL's tuner
(:mod:`~clustersim.collectives.tuning`), and :func:`collective_process` is the ready-made SimPy
process body for other workloads that need a collective.

**Port model.** A device's ports are its links in the topology: one NIC link to the switch on
``switch`` (and per GPU on ``two_level``), one link per peer on ``fully_connected``, a shared
medium for Wi-Fi stations. A device sends on all its ports at once, and the flows of one step
that leave or enter a device through the same port share it: that is what the flow network
simulates, and what :meth:`~clustersim.collectives.process.RouteTable.port_load` counts for the
analytic side. Every schedule here but two sends at most one flow per port per step, so for them
the count is 1 and the alpha-beta formulas hold as written. The double binary tree's parents
receive from both children at once (and forward to both): its analytic prices each step with the
load of its busiest port, so on a switch, where a device has one port, sim and formula agree.
The direct algorithms are multi-port by definition (every pair at once) and keep the multi-port
formula, whose departure from a shared-port network the tests measure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.collectives import chain, direct, recursive, ring, trees
from clustersim.collectives.costs import alpha_beta
from clustersim.collectives.kernels import chunk_lengths
from clustersim.collectives.process import Reducer, RouteTable, schedule_process
from clustersim.collectives.schedule import Plan, Step, fold_ranks, schedule_pairs
from clustersim.collectives.tuning import NcclChoice, nccl_choice
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster

__all__ = [
    "ALGORITHMS",
    "AUTO",
    "DEFAULT_ALGORITHM",
    "DEFAULT_PIPELINE_CHUNK",
    "OPS",
    "PIPELINED",
    "ROOTED_OPS",
    "CollectiveAlgorithm",
    "algorithms_for",
    "choose_auto",
    "collective_process",
    "machines",
    "pipeline_chunks",
    "plan_collective",
]

OPS = ("allreduce", "reduce_scatter", "allgather", "broadcast", "reduce", "alltoall")
ROOTED_OPS = ("broadcast", "reduce")
DEFAULT_ALGORITHM = {
    "allreduce": "ring",
    "reduce_scatter": "ring",
    "allgather": "ring",
    "broadcast": "ring",
    "reduce": "ring",
    "alltoall": "pairwise",
}
"""The algorithm of each op when the workload names none: NCCL's for every op it runs with one
algorithm (the pipelined ring for broadcast and reduce, NCCL 2.7.5 ``tuning.cc``), the ring for
the all-reduce (NCCL's choice for large buffers), and the pairwise all-to-all (MPICH's for long
messages)."""
AUTO = "auto"
"""``algorithm: auto``: what NCCL's tuner picks (:func:`choose_auto`)."""
DEFAULT_PIPELINE_CHUNK = 512 * 2**10
"""Bytes per pipeline chunk (double binary tree, ring broadcast and reduce): NCCL's default 4 MiB
buffer (``NCCL_BUFFSIZE``) over its 8 pipeline slots (``NCCL_STEPS``), one slot per chunk
(``BROADCAST_CHUNKSTEPS = REDUCE_CHUNKSTEPS = 1``)."""

ScheduleFn = Callable[[Plan], Iterable[Step]]
CostFn = Callable[..., float]
Layout = Callable[[int, int], int]
"""``layout(p, k) -> number of chunks`` the buffer is cut into (``k``: chunks per pipeline)."""


def per_rank(p: int, tree_chunks: int) -> int:
    """One chunk per rank."""
    return p


def whole(p: int, tree_chunks: int) -> int:
    """The buffer moves whole."""
    return 1


def per_new_rank(p: int, tree_chunks: int) -> int:
    """One chunk per rank of the folded power of two ``p' = 2^⌊lg p⌋``."""
    return fold_ranks(p)[0]


def per_tree_chunk(p: int, tree_chunks: int) -> int:
    """``tree_chunks`` pipeline chunks for each of two trees."""
    return 2 * tree_chunks


def per_chain_chunk(p: int, chunks: int) -> int:
    """``chunks`` pipeline chunks down one chain."""
    return chunks


def no_reductions(p: int, chunks: int) -> int:
    """An op that only copies: no reduction kernels."""
    return 0


def _route_alpha_beta(
    cluster: Cluster, ranks: list[str], peers: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float]:
    """Alpha (s) and beta (s/byte) of the routes between rank positions ``peers = (src, dst)``
    (:func:`~clustersim.collectives.costs.alpha_beta` of their latencies and bottlenecks)."""
    if peers[0].size == 0:
        return 0.0, 0.0
    nodes = cluster.rank_indices(ranks)
    latency, bottleneck = RouteTable.of(cluster.network).latency_bottleneck(
        nodes[peers[0]], nodes[peers[1]]
    )
    return alpha_beta(latency, bottleneck)


def _largest_chunks(plan: Plan) -> float:
    """``p`` times the largest chunk: the bytes a ring's step-by-step schedule is paced by."""
    return plan.p * float(plan.chunk_bytes.max())


_PEERS: dict[tuple[str, str, int, int], tuple[np.ndarray, np.ndarray]] = {}
"""Rank-position pairs each (op, algorithm, p, root) sends between, computed once."""


@dataclass(frozen=True)
class CollectiveAlgorithm:
    """An algorithm for one collective op.

    Attributes:
        op, name: the table key.
        schedule: ``schedule(plan)`` -> the steps (flows, kernel updates, reductions).
        time: cost model ``time(size, p, alpha, beta, gamma=0)`` in seconds (for
            ``double_binary_tree`` also ``chunks=k``).
        traffic: ``traffic(size, p)``, bytes all ranks put on the wire (``bytes_total``).
        formula: the cost in words, for listings.
        source: the citation of the cost formula.
        layout: how many chunks the buffer is cut into, ``layout(p, k)``.
        grid: for hierarchical algorithms, ``grid(cluster, ranks)`` -> (machines, gpus)
            rank positions; raises :class:`InputError` on an unsuitable topology.
        predict: a custom analytic model ``predict(cluster, ranks, plan, gamma, launch) ->
            dict`` (default: alpha and beta from the routes the schedule uses, then ``time``).
        pipelines: for pipelined algorithms, how many pipelines share the buffer (the double
            binary tree's two trees, the ring broadcast's one chain); each carries
            ``⌈(n / pipelines) / pipeline_chunk⌉`` chunks, passed to ``time`` as ``chunks``.
        priced_size: the size ``time`` is given for a plan (default: the buffer, ``n``). The
            ring's steps each move one chunk and wait for the largest, so its formula prices
            ``p`` times the largest chunk: ``n`` when the elements divide evenly, a few bytes
            more when they do not (64 MiB over 3 ranks), exactly what the schedule runs.
        reductions: ``reductions(p, k)``, the closed-form count of steps in which ranks reduce
            (``k``: chunks per pipeline); with ``reduction: device`` each is one reduction
            kernel, and the analytic time adds ``reductions · λ`` for the launch overhead
            ``λ``. Zero for the ops that only copy.
    """

    op: str
    name: str
    schedule: ScheduleFn
    time: CostFn
    traffic: Callable[[float, int], float]
    formula: str
    source: str
    layout: Layout = per_rank
    grid: Callable[[Cluster, list[str]], np.ndarray] | None = None
    predict: Callable[[Cluster, list[str], Plan, float, float], dict[str, float]] | None = None
    pipelines: int = 0
    priced_size: Callable[[Plan], float] | None = None
    reductions: Callable[[int, int], int] = no_reductions

    def reduction_kernels(self, plan: Plan) -> int:
        """Reduction kernels on the critical path of ``plan`` (:attr:`reductions`)."""
        if self.grid is not None and plan.grid is not None:
            return ring.hierarchical_allreduce_reductions(*plan.grid.shape)
        chunks = plan.chunk_bytes.size // self.pipelines if self.pipelines else 1
        return self.reductions(plan.p, chunks)

    def analytic(
        self,
        cluster: Cluster,
        ranks: list[str],
        plan: Plan,
        gamma: float = 0.0,
        launch: float = 0.0,
    ) -> dict[str, float]:
        """Predicted ``time_s`` (with ``alpha_s``, ``link_bandwidth_Bps``), contention ignored;
        ``gamma`` seconds per byte reduced and ``launch`` seconds per reduction kernel."""
        if self.predict is not None:
            return self.predict(cluster, ranks, plan, gamma, launch)
        key = (self.op, self.name, plan.p, plan.root)
        peers = _PEERS.get(key)
        if peers is None:  # the pairs depend on p and the root only, not on sizes
            peers = _PEERS[key] = schedule_pairs(self.schedule(plan))
        alpha, beta = _route_alpha_beta(cluster, ranks, peers)
        extra = {"chunks": plan.chunk_bytes.size // self.pipelines} if self.pipelines else {}
        size = plan.size if self.priced_size is None else self.priced_size(plan)
        return {
            "time_s": self.time(size, plan.p, alpha, beta, gamma, **extra)
            + launch * self.reduction_kernels(plan),
            "alpha_s": alpha,
            "link_bandwidth_Bps": 1.0 / beta,
        }

    def process(
        self,
        cluster: Cluster,
        ranks: list[str],
        plan: Plan,
        padded: np.ndarray | None = None,
        reducer: Reducer | None = None,
    ) -> Generator[Any, Any, None]:
        """The timed process of this algorithm on ``plan`` (one SimPy process body)."""
        return schedule_process(cluster, ranks, self.schedule(plan), padded, reducer)


def _hierarchical_predict(
    cluster: Cluster, ranks: list[str], plan: Plan, gamma: float, launch: float = 0.0
) -> dict[str, float]:
    """The hierarchical all-reduce's prediction: alpha and beta of the rings inside machines
    and of the rings across them, each from its own routes."""
    grid = plan.grid if plan.grid is not None else ring.hierarchical_grid(cluster, ranks)
    machines, gpus = grid.shape
    intra = _route_alpha_beta(cluster, ranks, (grid.ravel(), np.roll(grid, -1, axis=1).ravel()))
    inter = _route_alpha_beta(cluster, ranks, (grid.T.ravel(), np.roll(grid.T, -1, axis=1).ravel()))
    time_s = ring.hierarchical_allreduce_time(plan.size, machines, gpus, *intra, *inter, gamma)
    time_s += launch * ring.hierarchical_allreduce_reductions(machines, gpus)
    slowest = inter if machines > 1 else intra
    return {
        "time_s": time_s,
        "alpha_s": slowest[0],
        "link_bandwidth_Bps": 1.0 / slowest[1],
        "alpha_intra_s": intra[0],
        "alpha_inter_s": inter[0],
        "intra_bandwidth_Bps": 1.0 / intra[1] if intra[1] else math.inf,
        "inter_bandwidth_Bps": 1.0 / inter[1] if inter[1] else math.inf,
    }


def _double_binary_tree_predict(
    cluster: Cluster, ranks: list[str], plan: Plan, gamma: float, launch: float = 0.0
) -> dict[str, float]:
    """The double binary tree's prediction with the port model: alpha and beta from its routes,
    and each step's bandwidth term times the flows on that step's busiest port (see the module
    docstring)."""
    schedule = list(trees.double_binary_tree_allreduce(plan))
    alpha, beta = _route_alpha_beta(cluster, ranks, schedule_pairs(schedule))
    nodes = cluster.rank_indices(ranks)
    routes = RouteTable.of(cluster.network)
    loads = [routes.port_load(nodes[step.src], nodes[step.dst]) for step in schedule]
    shared = sum(loads) - len(loads)
    chunks = plan.chunk_bytes.size // 2
    return {
        "time_s": trees.double_binary_tree_allreduce_time(
            plan.size, plan.p, alpha, beta, gamma, chunks=chunks, shared_port_steps=shared
        )
        + launch * trees.double_binary_tree_reductions(plan.p, chunks),
        "alpha_s": alpha,
        "link_bandwidth_Bps": 1.0 / beta,
        "port_load_max": max(loads),
    }


_THAKUR = "Thakur, Rabenseifner & Gropp, IJHPCA 19(1) 2005"
_PATARASUK = "Patarasuk & Yuan, JPDC 69(2) 2009"
_MPICH = "MPICH src/mpi/coll"
_NCCL = (
    "NCCL src/graph/trees.cc; Sanders, Speck & Träff, Parallel Comput. 35(12) 2009; "
    "schedule-exact derivation; port model: m steps of the busiest port"
)
_NCCL_RING = (
    "NCCL 2.7.5 src/collectives/device/broadcast.h, reduce.h (ring kernels); schedule-exact "
    "derivation"
)
_MULTIPORT = "α-β model with every pair on its own link (multi-port, as fully_connected)"

_TABLE = [
    CollectiveAlgorithm(
        "allreduce",
        "ring",
        ring.ring_allreduce_schedule,
        ring.ring_allreduce_time,
        ring.ring_allreduce_bytes,
        "2(p-1)·α + 2(p-1)/p·n·β + (p-1)/p·n·γ",
        f"{_PATARASUK} §3; {_THAKUR} §4.4",
        priced_size=_largest_chunks,
        reductions=ring.ring_reductions,
    ),
    CollectiveAlgorithm(
        "allreduce",
        "recursive_doubling",
        recursive.recursive_doubling_allreduce,
        recursive.recursive_doubling_allreduce_time,
        recursive.recursive_doubling_allreduce_bytes,
        "lg p·(α + nβ + nγ); p≠2^k: (lg p'+2)(α + nβ) + (lg p'+1)·nγ",
        f"{_THAKUR} §4.4; {_MPICH}/allreduce_intra_recursive_doubling.c",
        whole,
        reductions=recursive.recursive_reductions,
    ),
    CollectiveAlgorithm(
        "allreduce",
        "halving_doubling",
        recursive.halving_doubling_allreduce,
        recursive.halving_doubling_allreduce_time,
        recursive.halving_doubling_allreduce_bytes,
        "2 lg p·α + 2(p-1)/p·nβ + (p-1)/p·nγ; p≠2^k: (2 lg p'+2)α + (2(p'-1)/p'+2)·nβ"
        " + ((p'-1)/p'+1)·nγ",
        f"{_THAKUR} §5.1 (Rabenseifner); {_MPICH}/allreduce_intra_reduce_scatter_allgather.c",
        per_new_rank,
        reductions=recursive.recursive_reductions,
    ),
    CollectiveAlgorithm(
        "allreduce",
        "tree",
        trees.tree_allreduce,
        trees.tree_allreduce_time,
        trees.two_tree_bytes,
        "2⌈lg p⌉·(α + nβ) + ⌈lg p⌉·nγ (binomial reduce to rank 0, then broadcast)",
        f"{_THAKUR} §4.2, §4.4",
        whole,
        reductions=trees.binomial_reductions,
    ),
    CollectiveAlgorithm(
        "allreduce",
        "double_binary_tree",
        trees.double_binary_tree_allreduce,
        trees.double_binary_tree_allreduce_time,
        trees.two_tree_bytes,
        "2(k + ⌈lg p⌉ - 1)·(α + n/(2k)·β) + m·n/(2k)·β + (2(k+⌈lg p⌉) - 3)·n/(2k)·γ, k pipeline"
        " chunks per tree, m extra chunk times of shared ports",
        _NCCL,
        per_tree_chunk,
        predict=_double_binary_tree_predict,
        pipelines=2,
        reductions=trees.double_binary_tree_reductions,
    ),
    CollectiveAlgorithm(
        "allreduce",
        "direct",
        direct.direct_allreduce,
        direct.direct_allreduce_time,
        direct.direct_allreduce_bytes,
        "2α + 2(n/p)·β + (p-1)/p·nγ",
        _MULTIPORT,
        reductions=direct.direct_reductions,
    ),
    CollectiveAlgorithm(
        "allreduce",
        "hierarchical",
        ring.hierarchical_allreduce,
        ring.hierarchical_allreduce_time,
        ring.ring_allreduce_bytes,
        "2(g-1)·(α₁ + (n/g)·β₁) + 2(m-1)·(α₂ + (n/p)·β₂) + (p-1)/p·nγ, m machines × g GPUs"
        " (1 = intra, 2 = inter)",
        f"Sergeev & Del Balso, arXiv:1802.05799 (Horovod); ring phases per {_THAKUR} §4.1, §4.3",
        grid=ring.hierarchical_grid,
        predict=_hierarchical_predict,
    ),
    CollectiveAlgorithm(
        "reduce_scatter",
        "ring",
        ring.ring_reduce_scatter_schedule,
        ring.ring_reduce_scatter_time,
        ring.ring_phase_bytes,
        "(p-1)·α + (p-1)/p·n·(β+γ)",
        f"{_THAKUR} §4.3",
        priced_size=_largest_chunks,
        reductions=ring.ring_reductions,
    ),
    CollectiveAlgorithm(
        "reduce_scatter",
        "recursive_halving",
        recursive.recursive_halving_reduce_scatter,
        recursive.recursive_halving_reduce_scatter_time,
        recursive.recursive_halving_reduce_scatter_bytes,
        "lg p·α + (p-1)/p·n·(β+γ); p≠2^k: (lg p'+2)·α + n(β+γ) + (p'-1+Σ min(2^k,r))·(n/p)"
        "·(β+γ) + (n/p)·β",
        f"{_THAKUR} §4.3; {_MPICH}/reduce_scatter_intra_recursive_halving.c",
        reductions=recursive.recursive_reductions,
    ),
    CollectiveAlgorithm(
        "reduce_scatter",
        "direct",
        direct.direct_reduce_scatter,
        direct.direct_reduce_scatter_time,
        direct.alltoall_bytes,
        "α + (n/p)·β + (p-1)/p·nγ",
        _MULTIPORT,
        reductions=direct.direct_reductions,
    ),
    CollectiveAlgorithm(
        "allgather",
        "ring",
        ring.ring_allgather_schedule,
        ring.ring_allgather_time,
        ring.ring_phase_bytes,
        "(p-1)·α + (p-1)/p·n·β",
        f"{_THAKUR} §4.1",
        priced_size=_largest_chunks,
    ),
    CollectiveAlgorithm(
        "allgather",
        "recursive_doubling",
        recursive.recursive_doubling_allgather,
        recursive.recursive_doubling_allgather_time,
        recursive.recursive_doubling_allgather_bytes,
        "lg p·α + (p-1)/p·n·β; p≠2^k: (lg p'+2)·α + (p'+p-1+Σ min(2^k,r))·(n/p)·β",
        f"{_THAKUR} §4.1; {_MPICH}/allgather.c",
    ),
    CollectiveAlgorithm(
        "allgather",
        "direct",
        direct.direct_allgather,
        direct.direct_allgather_time,
        direct.alltoall_bytes,
        "α + (n/p)·β",
        _MULTIPORT,
    ),
    CollectiveAlgorithm(
        "broadcast",
        "ring",
        chain.ring_broadcast,
        chain.ring_broadcast_time,
        chain.chain_bytes,
        "(k + p - 2)·(α + (n/k)·β), k pipeline chunks (pipelined chain from the root)",
        _NCCL_RING,
        per_chain_chunk,
        pipelines=1,
    ),
    CollectiveAlgorithm(
        "broadcast",
        "tree",
        trees.binomial_broadcast,
        trees.binomial_broadcast_time,
        trees.tree_bytes,
        "⌈lg p⌉·(α + nβ) (binomial)",
        f"{_THAKUR} §4.2",
        whole,
    ),
    CollectiveAlgorithm(
        "reduce",
        "ring",
        chain.ring_reduce,
        chain.ring_reduce_time,
        chain.chain_bytes,
        "(k + p - 2)·(α + (n/k)·(β + γ)), k pipeline chunks (pipelined chain to the root)",
        _NCCL_RING,
        per_chain_chunk,
        pipelines=1,
        reductions=chain.ring_reduce_reductions,
    ),
    CollectiveAlgorithm(
        "reduce",
        "tree",
        trees.binomial_reduce,
        trees.binomial_reduce_time,
        trees.tree_bytes,
        "⌈lg p⌉·(α + nβ + nγ) (binomial)",
        f"{_THAKUR} §4.4",
        whole,
        reductions=trees.binomial_reductions,
    ),
    CollectiveAlgorithm(
        "alltoall",
        "direct",
        direct.direct_alltoall,
        direct.direct_alltoall_time,
        direct.alltoall_bytes,
        "α + (n/p)·β",
        f"{_MULTIPORT}; MPICH medium-message all-to-all",
    ),
    CollectiveAlgorithm(
        "alltoall",
        "pairwise",
        direct.pairwise_alltoall,
        direct.pairwise_alltoall_time,
        direct.alltoall_bytes,
        "(p-1)·(α + (n/p)·β)",
        f"{_THAKUR} (all-to-all, long messages); {_MPICH}/alltoall_intra_pairwise.c",
    ),
]

ALGORITHMS: dict[tuple[str, str], CollectiveAlgorithm] = {(a.op, a.name): a for a in _TABLE}
PIPELINED = frozenset(key for key, algorithm in ALGORITHMS.items() if algorithm.pipelines)
"""The (op, algorithm) pairs that take a ``pipeline_chunk``."""


def algorithms_for(op: str) -> list[str]:
    """Names of the algorithms implemented for ``op``."""
    return sorted(name for o, name in ALGORITHMS if o == op)


def pipeline_chunks(
    size: float, elements: int, pipeline_chunk: float | None, pipelines: int = 2
) -> int:
    """Chunks per pipeline: ``⌈(n / pipelines) / pipeline_chunk⌉``, at least 1, at most
    ``elements / pipelines``."""
    chunk = pipeline_chunk or DEFAULT_PIPELINE_CHUNK
    return max(1, min(math.ceil(size / pipelines / chunk), elements // pipelines))


def machines(cluster: Cluster, ranks: list[str]) -> int:
    """How many machines ``ranks`` are on: devices joined by direct device-to-device links
    (NVLink-like) share a machine; a device reached only through switches is one of its own."""
    graph = cluster.graph
    chosen = set(ranks)
    seen: set[str] = set()
    count = 0
    for name in ranks:
        if name in seen:
            continue
        count += 1
        stack = [name]
        seen.add(name)
        while stack:
            for other in graph.neighbors(stack.pop()):
                if other in chosen and other not in seen:
                    seen.add(other)
                    stack.append(other)
    return count


def choose_auto(
    cluster: Cluster,
    ranks: list[str],
    op: str,
    elements: int,
    itemsize: int,
    *,
    root: int = 0,
    pipeline_chunk: float | None = None,
) -> NcclChoice:
    """What NCCL's tuner picks for ``op`` on these ranks (:func:`~clustersim.collectives.
    tuning.nccl_choice`), with the bus bandwidth of the ring and of the double binary tree read
    from the routes each would use on this cluster."""
    if op != "allreduce":
        return nccl_choice(op, elements * itemsize, len(ranks), 1, 0.0, 0.0)
    bandwidth = {}
    for name in ("ring", "double_binary_tree"):
        algorithm = ALGORITHMS[("allreduce", name)]
        plan, _ = plan_collective(
            cluster, ranks, algorithm, elements, itemsize, root=root, pipeline_chunk=pipeline_chunk
        )
        bandwidth[name] = algorithm.analytic(cluster, ranks, plan)["link_bandwidth_Bps"]
    return nccl_choice(
        op,
        elements * itemsize,
        len(ranks),
        machines(cluster, ranks),
        bandwidth["ring"],
        bandwidth["double_binary_tree"],
    )


def plan_collective(
    cluster: Cluster,
    ranks: list[str],
    algorithm: CollectiveAlgorithm,
    elements: int,
    itemsize: int,
    *,
    root: int = 0,
    pipeline_chunk: float | None = None,
) -> tuple[Plan, np.ndarray]:
    """The plan of one run and the element count of each chunk of its layout."""
    p = len(ranks)
    if not 0 <= root < p:
        raise InputError(
            f"workload.root: {root} is not a rank position; expected 0..{p - 1} for {p} ranks"
        )
    k = pipeline_chunks(elements * itemsize, elements, pipeline_chunk, algorithm.pipelines or 2)
    lengths = chunk_lengths(elements, algorithm.layout(p, k))
    grid = algorithm.grid(cluster, ranks) if algorithm.grid else None
    return Plan(p, lengths * float(itemsize), root, grid), lengths


def collective_process(
    cluster: Cluster,
    ranks: list[str],
    op: str,
    algorithm: str,
    size: float,
    *,
    itemsize: int = 4,
    reduction: str = "free",
    root: int = 0,
) -> Generator[Any, Any, None]:
    """A timing-only collective for other workloads: ``sim.process(collective_process(...))``
    or ``yield from collective_process(...)`` inside a process.

    ``size`` follows docs/architecture.md §4; ``reduction`` is ``"free"`` or ``"device"``.
    """
    chosen = ALGORITHMS[(op, algorithm)]
    plan, _ = plan_collective(cluster, ranks, chosen, int(size) // itemsize, itemsize, root=root)
    reducer = Reducer(cluster, ranks) if reduction == "device" else None
    return chosen.process(cluster, ranks, plan, None, reducer)
