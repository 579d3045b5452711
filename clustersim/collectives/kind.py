"""The ``collective`` workload kind: one collective op timed, counted and verified.

``size`` is the full vector one rank holds at the end, as in nccl-tests and in Thakur et al.:
the all-reduce buffer, the all-gather output, the reduce-scatter input before scattering, the
broadcast or reduce buffer, each rank's whole all-to-all send buffer (DESIGN.md §4). Each
algorithm cuts it into the chunks its schedule needs (one per rank for most), as evenly as the
elements allow.

``reduction: free`` (default) is the pure alpha-beta model; ``reduction: device`` charges
``γ = 3 / mem_bandwidth`` seconds per byte reduced on the reducing device (see
:mod:`clustersim.collectives.schedule`) in the simulation and in the formula alike.
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

from clustersim.collectives.algorithms import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    OPS,
    ROOTED_OPS,
    CollectiveAlgorithm,
    algorithms_for,
    alpha_beta,
    plan_collective,
)
from clustersim.collectives.kernels import check_collective, to_padded
from clustersim.collectives.schedule import Plan, Reducer, schedule_process
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind
from clustersim.units import Bytes, format_bytes

__all__ = ["CollectiveParams", "alpha_beta", "analytic", "bus_factor", "simulate"]

DTYPES = ("float16", "float32", "float64", "int32", "int64")
VERIFY_MEMORY_LIMIT = 2 * 2**30
"""Bytes of replay buffers (inputs + working copy) above which verify is refused."""


class CollectiveParams(BaseModel):
    """Parameters of ``kind: collective``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["collective"] = "collective"
    op: Literal["allreduce", "reduce_scatter", "allgather", "broadcast", "reduce", "alltoall"] = (
        Field(description="the collective operation")
    )
    algorithm: str | None = Field(
        None,
        validate_default=True,
        description="algorithm name; see `clustersim list` (default: ring for allreduce, "
        "reduce_scatter and allgather; tree for broadcast and reduce; pairwise for "
        "alltoall)",
    )
    dtype: Literal["float16", "float32", "float64", "int32", "int64"] = "float32"
    size: Bytes = Field(description="bytes of the full vector one rank holds at the end")
    verify: bool = Field(True, description="replay the numpy kernel and check the result")
    ranks: list[str] | None = Field(
        None, description="node names taking part, in rank order (default: every device)"
    )
    root: int | None = Field(
        None, description="root rank position of broadcast and reduce (default 0)"
    )
    reduction: Literal["free", "device"] = Field(
        "free",
        description="free: pure alpha-beta; device: charge gamma = 3 / mem_bandwidth "
        "per byte reduced",
    )
    pipeline_chunk: Bytes | None = Field(
        None, description="double_binary_tree pipeline chunk (default 512 KiB)"
    )

    @field_validator("size")
    @classmethod
    def _positive_whole_elements(cls, value: float, info: ValidationInfo) -> float:
        if not value > 0:
            raise InputError(f"size must be a positive number of bytes, got {value!r}")
        dtype = info.data.get("dtype", "float32")
        itemsize = np.dtype(dtype).itemsize
        if value % itemsize:
            raise InputError(
                f"size {format_bytes(value)} is not a whole number of {dtype} "
                f"elements ({itemsize} B each)"
            )
        return value

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str | None, info: ValidationInfo) -> str | None:
        op = info.data.get("op")
        if op is None:
            return value
        if value is None:
            return DEFAULT_ALGORITHM[op]
        if (op, value) not in ALGORITHMS:
            known = ", ".join(algorithms_for(op)) or "none"
            raise InputError(f"unknown algorithm {value!r} for op {op!r}; known: {known}")
        return value

    @field_validator("root")
    @classmethod
    def _rooted_op(cls, value: int | None, info: ValidationInfo) -> int | None:
        op = info.data.get("op")
        if value is not None and op is not None and op not in ROOTED_OPS:
            raise InputError(f"root only applies to op broadcast or reduce, not {op!r}; remove it")
        if value is not None and value < 0:
            raise InputError(f"root must be a rank position >= 0, got {value}")
        return value

    @field_validator("pipeline_chunk")
    @classmethod
    def _tree_pipeline(cls, value: float | None, info: ValidationInfo) -> float | None:
        algorithm = info.data.get("algorithm")
        if value is not None and algorithm is not None and algorithm != "double_binary_tree":
            raise InputError(
                f"pipeline_chunk only applies to algorithm double_binary_tree, "
                f"not {algorithm!r}; remove it"
            )
        if value is not None and not value > 0:
            raise InputError(f"pipeline_chunk must be a positive number of bytes, got {value!r}")
        return value


def bus_factor(op: str, p: int) -> float:
    """nccl-tests' bus-bandwidth factor: busbw = algbw × factor.

    All-reduce 2(p-1)/p; reduce-scatter, all-gather and all-to-all (p-1)/p; broadcast and
    reduce 1 (nccl-tests, doc/PERFORMANCE.md, "Bus bandwidth"). It makes busbw comparable with
    the hardware link bandwidth.
    """
    if op == "allreduce":
        return 2 * (p - 1) / p
    if op in ROOTED_OPS:
        return 1.0
    return (p - 1) / p


def _ranks(cluster: Cluster, params: CollectiveParams) -> list[str]:
    ranks = params.ranks or cluster.ranks
    for name in ranks:
        if name not in cluster.devices:
            raise InputError(
                f"workload.ranks: {name!r} is not a device of the cluster; devices "
                f"are {', '.join(cluster.ranks[:12])}"
            )
    if len(set(ranks)) != len(ranks):
        raise InputError("workload.ranks: a rank is listed twice")
    if len(ranks) < 2:
        raise InputError(f"a collective needs at least 2 ranks, got {len(ranks)}")
    return list(ranks)


def _setup(
    cluster: Cluster, params: CollectiveParams
) -> tuple[list[str], CollectiveAlgorithm, Plan, np.ndarray]:
    ranks = _ranks(cluster, params)
    itemsize = np.dtype(params.dtype).itemsize
    algorithm = ALGORITHMS[(params.op, str(params.algorithm))]
    plan, lengths = plan_collective(
        cluster,
        ranks,
        algorithm,
        int(params.size) // itemsize,
        itemsize,
        root=params.root or 0,
        pipeline_chunk=params.pipeline_chunk,
    )
    return ranks, algorithm, plan, lengths


def _inputs(cluster: Cluster, params: CollectiveParams, p: int, elements: int) -> np.ndarray:
    dtype = np.dtype(params.dtype)
    copies = 3 if params.op == "alltoall" else 2  # the all-to-all keeps blocks in flight
    needed = copies * p * elements * dtype.itemsize
    if needed > VERIFY_MEMORY_LIMIT:
        raise InputError(
            f"workload.verify: replaying {p} ranks × {format_bytes(params.size, 3)} needs "
            f"{format_bytes(needed, 3)} of memory, over the {format_bytes(VERIFY_MEMORY_LIMIT)} "
            "limit; set verify: false for a timing-only run, or use a smaller size"
        )
    rng = cluster.sim.rng("collective.inputs")
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-1000, 1000, size=(p, elements)).astype(dtype)
    # Uniform in [-1, 1): cheap to draw, and signed so that sums cancel as gradients do.
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    values = rng.random((p, elements), dtype=draw_dtype)
    values *= 2
    values -= 1
    return values.astype(dtype, copy=False)


def _starting_buffers(op: str, inputs: np.ndarray, root: int) -> np.ndarray:
    """The working buffers: what each rank holds before the collective."""
    padded = inputs.copy()
    p = padded.shape[0]
    if op == "allgather":  # each rank starts with only its own chunk
        own = padded[np.arange(p), np.arange(p)].copy()
        padded[:] = 0
        padded[np.arange(p), np.arange(p)] = own
    elif op == "broadcast":  # only the root has the data
        padded[np.arange(p) != root] = 0
    return padded


def simulate(cluster: Cluster, params: CollectiveParams) -> Outcome:
    """Run the collective once from t=0 and measure it."""
    ranks, algorithm, plan, lengths = _setup(cluster, params)
    p = len(ranks)
    padded = inputs = None
    if params.verify:
        flat = _inputs(cluster, params, p, int(lengths.sum()))
        inputs = to_padded(flat, lengths)
        padded = _starting_buffers(params.op, inputs, plan.root)
    reducer = Reducer(cluster, ranks) if params.reduction == "device" else None
    sim = cluster.sim
    sim.process(
        schedule_process(cluster, ranks, algorithm.schedule(plan), padded, reducer),
        name=f"{params.algorithm} {params.op}",
    )
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
        checks = check_collective(params.op, inputs, padded, plan.root)
    return Outcome(metrics=metrics, checks=checks)


def analytic(cluster: Cluster, params: CollectiveParams) -> dict[str, Any]:
    """The alpha-beta(-gamma) prediction for the chosen algorithm, plus the wire-traffic formula.

    Alpha and beta come from the routes the algorithm's schedule uses, contention ignored;
    gamma is 0 with ``reduction: free`` and the slowest rank's ``3 / mem_bandwidth`` (with
    efficiency and slowdown) with ``reduction: device``.
    """
    ranks, algorithm, plan, _ = _setup(cluster, params)
    p = len(ranks)
    gamma = float(Reducer(cluster, ranks).gamma.max()) if params.reduction == "device" else 0.0
    prediction = algorithm.analytic(cluster, ranks, plan, gamma)
    time_s = prediction["time_s"]
    algbw = params.size / time_s
    out: dict[str, Any] = {
        "time_s": time_s,
        "bytes_total": algorithm.traffic(params.size, p),
        "algbw_Bps": algbw,
        "busbw_Bps": algbw * bus_factor(params.op, p),
        **{k: v for k, v in prediction.items() if k != "time_s"},
    }
    if params.reduction == "device":
        out["gamma_s_per_byte"] = gamma
    return out


def _details() -> list[str]:
    return [
        f"{op}/{name}: {alg.formula}  [{alg.source}]"
        for (op, name), alg in sorted(ALGORITHMS.items())
        if op in OPS
    ]


def _prepare(cluster: Cluster, params: Any) -> tuple[Cluster, Any]:  # TRANSITION
    return cluster, params


KIND = WorkloadKind(
    name="collective",
    description="one collective (allreduce, reduce_scatter, allgather, broadcast, reduce, "
    "alltoall) timed and verified",
    params=CollectiveParams,
    prepare=_prepare,  # TRANSITION: replaced by the real prepare step
    simulate=lambda plan: simulate(*plan),
    analytic=lambda plan: analytic(*plan),
    details=_details,
)
