"""The ``collective`` workload kind: one collective op timed, counted and verified.

``size`` is the full vector one rank holds at the end, as in nccl-tests and in Thakur et al.:
the all-reduce buffer, the all-gather output, the reduce-scatter input before scattering
(DESIGN.md §4). It is split into one chunk per rank as evenly as the elements allow.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from clustersim.collectives.algorithms import ALGORITHMS, OPS, algorithms_for
from clustersim.collectives.chunks import chunk_lengths, to_padded
from clustersim.collectives.verify import check_collective
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.scenario.registry import Outcome, WorkloadKind, register
from clustersim.units import Bytes, format_bytes

__all__ = ["CollectiveParams", "analytic", "bus_factor", "simulate"]

DTYPES = ("float16", "float32", "float64", "int32", "int64")
VERIFY_MEMORY_LIMIT = 2 * 2**30
"""Bytes of replay buffers (inputs + working copy) above which verify is refused."""


class CollectiveParams(BaseModel):
    """Parameters of ``kind: collective``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["collective"] = "collective"
    op: Literal["allreduce", "reduce_scatter", "allgather"] = Field(
        description="the collective operation")
    algorithm: str = Field("ring", description="algorithm name; see `clustersim list`")
    dtype: Literal["float16", "float32", "float64", "int32", "int64"] = "float32"
    size: Bytes = Field(description="bytes of the full vector one rank holds at the end")
    verify: bool = Field(True, description="replay the numpy kernel and check the result")
    ranks: list[str] | None = Field(
        None, description="node names taking part, in ring order (default: every device)")

    @field_validator("size")
    @classmethod
    def _positive_whole_elements(cls, value: float, info: ValidationInfo) -> float:
        if not value > 0:
            raise InputError(f"size must be a positive number of bytes, got {value!r}")
        dtype = info.data.get("dtype", "float32")
        itemsize = np.dtype(dtype).itemsize
        if value % itemsize:
            raise InputError(f"size {format_bytes(value)} is not a whole number of {dtype} "
                             f"elements ({itemsize} B each)")
        return value

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str, info: ValidationInfo) -> str:
        op = info.data.get("op")
        if op is not None and (op, value) not in ALGORITHMS:
            known = ", ".join(algorithms_for(op)) or "none"
            raise InputError(f"unknown algorithm {value!r} for op {op!r}; known: {known}")
        return value


def bus_factor(op: str, p: int) -> float:
    """nccl-tests' bus-bandwidth factor: busbw = algbw × factor.

    All-reduce 2(p-1)/p; reduce-scatter and all-gather (p-1)/p (nccl-tests, doc/PERFORMANCE.md,
    "Bus bandwidth"). It makes busbw comparable with the hardware link bandwidth.
    """
    return 2 * (p - 1) / p if op == "allreduce" else (p - 1) / p


def _ranks(cluster: Cluster, params: CollectiveParams) -> list[str]:
    ranks = params.ranks or cluster.ranks
    for name in ranks:
        if name not in cluster.devices:
            raise InputError(f"workload.ranks: {name!r} is not a device of the cluster; devices "
                             f"are {', '.join(cluster.ranks[:12])}")
    if len(set(ranks)) != len(ranks):
        raise InputError("workload.ranks: a rank is listed twice")
    if len(ranks) < 2:
        raise InputError(f"a collective needs at least 2 ranks, got {len(ranks)}")
    return list(ranks)


def _inputs(cluster: Cluster, params: CollectiveParams, p: int, elements: int) -> np.ndarray:
    dtype = np.dtype(params.dtype)
    needed = 2 * p * elements * dtype.itemsize
    if needed > VERIFY_MEMORY_LIMIT:
        raise InputError(
            f"workload.verify: replaying {p} ranks × {format_bytes(params.size, 3)} needs "
            f"{format_bytes(needed, 3)} of memory, over the {format_bytes(VERIFY_MEMORY_LIMIT)} "
            "limit; set verify: false for a timing-only run, or use a smaller size")
    rng = cluster.sim.rng("collective.inputs")
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-1000, 1000, size=(p, elements)).astype(dtype)
    # Uniform in [-1, 1): cheap to draw, and signed so that sums cancel as gradients do.
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    values = rng.random((p, elements), dtype=draw_dtype)
    values *= 2
    values -= 1
    return values.astype(dtype, copy=False)


def simulate(cluster: Cluster, params: CollectiveParams) -> Outcome:
    """Run the collective once from t=0 and measure it."""
    ranks = _ranks(cluster, params)
    p = len(ranks)
    itemsize = np.dtype(params.dtype).itemsize
    elements = int(params.size) // itemsize
    lengths = chunk_lengths(elements, p)
    algorithm = ALGORITHMS[(params.op, params.algorithm)]
    padded = inputs = None
    if params.verify:
        flat = _inputs(cluster, params, p, elements)
        inputs = to_padded(flat, lengths)
        padded = inputs.copy()
        if params.op == "allgather":  # each rank starts with only its own chunk
            own = padded[np.arange(p), np.arange(p)].copy()
            padded[:] = 0
            padded[np.arange(p), np.arange(p)] = own
    sim = cluster.sim
    sim.process(algorithm.process(cluster, ranks, params.op, lengths * itemsize, padded),
                name=f"{params.algorithm} {params.op}")
    sim.run()
    time_s = sim.now
    net = cluster.network
    rank_nodes = cluster.rank_indices(ranks)
    algbw = params.size / time_s if time_s > 0 else float("inf")
    metrics: dict[str, Any] = {
        "time_s": time_s,
        **cluster.standard_metrics(),
        "algbw_Bps": algbw,
        "busbw_Bps": algbw * bus_factor(params.op, p),
        "ranks": p,
        "bytes_sent_per_rank": net.node_bytes_sent[rank_nodes],
        "sim_events": sim.events_processed,
    }
    checks = {}
    if padded is not None and inputs is not None:
        checks = check_collective(params.op, inputs, padded)
    return Outcome(metrics=metrics, checks=checks)


def alpha_beta(cluster: Cluster, ranks: list[str], peers: tuple[np.ndarray, np.ndarray]
               ) -> tuple[float, float]:
    """Alpha (s) and beta (s/byte) of the routes an algorithm uses, ignoring contention.

    Alpha is the largest route latency between communicating ranks and beta the inverse of the
    smallest route bottleneck bandwidth: the uniform-network assumption of the alpha-beta model.
    """
    nodes = cluster.rank_indices(ranks)
    pattern = cluster.network.pattern(nodes[peers[0]], nodes[peers[1]])
    return float(pattern.latency.max()), 1.0 / float(pattern.bottleneck.min())


def analytic(cluster: Cluster, params: CollectiveParams) -> dict[str, Any]:
    """The alpha-beta prediction for the chosen algorithm, plus the wire-traffic formula."""
    ranks = _ranks(cluster, params)
    p = len(ranks)
    algorithm = ALGORITHMS[(params.op, params.algorithm)]
    alpha, beta = alpha_beta(cluster, ranks, algorithm.peers(p))
    time_s = algorithm.time(params.size, p, alpha, beta)
    steps = 2 * (p - 1) if params.op == "allreduce" else p - 1
    algbw = params.size / time_s
    return {
        "time_s": time_s,
        "bytes_total": steps * params.size,
        "algbw_Bps": algbw,
        "busbw_Bps": algbw * bus_factor(params.op, p),
        "alpha_s": alpha,
        "link_bandwidth_Bps": 1.0 / beta,
    }


def _details() -> list[str]:
    return [f"{op}/{name}: {alg.formula}  [{alg.source}]"
            for (op, name), alg in sorted(ALGORITHMS.items()) if op in OPS]


register(WorkloadKind(
    name="collective",
    description="one collective (allreduce, reduce_scatter, allgather) timed and verified",
    params=CollectiveParams,
    simulate=simulate,
    analytic=analytic,
    details=_details,
))
