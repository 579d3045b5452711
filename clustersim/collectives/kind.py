"""The ``collective`` workload kind: one collective op timed, counted and verified.

:func:`prepare` checks the ranks against the cluster and lays the buffer out the way the chosen
algorithm cuts it (:func:`~clustersim.collectives.algorithms.plan_collective`: one chunk per
rank for most, as evenly as the elements allow); :func:`simulate` runs the algorithm's schedule
from t=0 on the flow network, replaying its kernel on random inputs when ``verify`` is on, and
:func:`analytic` prices the same schedule with its alpha-beta(-gamma) formula.

``reduction: free`` (default) is the pure alpha-beta model; ``reduction: device`` charges
``γ = 3 / mem_bandwidth`` seconds per byte reduced on the reducing device (see
:mod:`clustersim.collectives.costs`) in the simulation and in the formula alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.collectives.algorithms import (
    ALGORITHMS,
    OPS,
    CollectiveAlgorithm,
    plan_collective,
)
from clustersim.collectives.costs import bus_factor
from clustersim.collectives.kernels import (
    check_collective,
    random_inputs,
    starting_buffers,
    to_padded,
)
from clustersim.collectives.params import CollectiveParams
from clustersim.collectives.process import Reducer
from clustersim.collectives.schedule import Plan
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind
from clustersim.kinds.validation import rank_list
from clustersim.units import format_bytes

__all__ = ["KIND", "CollectivePlan", "analytic", "prepare", "simulate"]

VERIFY_MEMORY_LIMIT = 2 * 2**30
"""Bytes of replay buffers (inputs + working copy) above which verify is refused."""


@dataclass(frozen=True)
class CollectivePlan:
    """What :func:`simulate` and :func:`analytic` share: the ranks, the algorithm and its layout.

    Attributes:
        cluster: the cluster the run happens on.
        params: the workload.
        ranks: the device names taking part, in rank order.
        algorithm: the table entry of (``params.op``, ``params.algorithm``).
        schedule_plan: what the algorithm's schedule runs on (chunk sizes, root, grid).
        lengths: elements of each chunk of the layout.
        reducer: charges γ per byte reduced with ``reduction: device``; None with ``free``.
    """

    cluster: Cluster
    params: CollectiveParams
    ranks: list[str]
    algorithm: CollectiveAlgorithm
    schedule_plan: Plan
    lengths: np.ndarray
    reducer: Reducer | None


def _check_verify_memory(params: CollectiveParams, p: int, elements: int) -> None:
    """Refuse a verified run whose replay buffers would exceed :data:`VERIFY_MEMORY_LIMIT`."""
    copies = 3 if params.op == "alltoall" else 2  # the all-to-all keeps blocks in flight
    needed = copies * p * elements * params.itemsize
    if needed > VERIFY_MEMORY_LIMIT:
        raise InputError(
            f"workload.verify: replaying {p} ranks × {format_bytes(params.size, 3)} needs "
            f"{format_bytes(needed, 3)} of memory, over the {format_bytes(VERIFY_MEMORY_LIMIT)} "
            "limit; set verify: false for a timing-only run, or use a smaller size"
        )


def prepare(cluster: Cluster, params: CollectiveParams) -> CollectivePlan:
    """Check the ranks, the root and the topology against the cluster, and lay out the buffer.

    Raises InputError for a rank the cluster does not have (or listed twice, or fewer than two),
    a root that is not a rank position, a hierarchical all-reduce off a two-level cluster or
    with ranks not listed machine by machine, and a verified run too large to replay, so that
    ``clustersim validate`` reports them. Draws and moves no data.
    """
    names = cluster.ranks if params.ranks is None else params.ranks  # [] is a mistake, not "all"
    ranks = rank_list(names, cluster.devices, "workload.ranks", noun="rank", minimum=2)
    algorithm = ALGORITHMS[(params.op, str(params.algorithm))]
    schedule_plan, lengths = plan_collective(
        cluster,
        ranks,
        algorithm,
        int(params.size) // params.itemsize,
        params.itemsize,
        root=params.root or 0,
        pipeline_chunk=params.pipeline_chunk,
    )
    if params.verify:
        _check_verify_memory(params, len(ranks), int(lengths.sum()))
    reducer = Reducer(cluster, ranks) if params.reduction == "device" else None
    return CollectivePlan(cluster, params, ranks, algorithm, schedule_plan, lengths, reducer)


def simulate(plan: CollectivePlan) -> Outcome:
    """Run the collective once from t=0 and measure it."""
    cluster, params, ranks = plan.cluster, plan.params, plan.ranks
    p = len(ranks)
    padded = inputs = None
    if params.verify:
        rng = cluster.sim.rng("collective.inputs")
        flat = random_inputs(rng, p, int(plan.lengths.sum()), np.dtype(params.dtype))
        inputs = to_padded(flat, plan.lengths)
        padded = starting_buffers(params.op, inputs, plan.schedule_plan.root)
    sim = cluster.sim
    sim.process(
        plan.algorithm.process(cluster, ranks, plan.schedule_plan, padded, plan.reducer),
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
    }
    checks = {}
    if padded is not None and inputs is not None:
        checks = check_collective(params.op, inputs, padded, plan.schedule_plan.root)
    return Outcome(metrics=metrics, checks=checks)


def analytic(plan: CollectivePlan) -> dict[str, Any]:
    """The alpha-beta(-gamma) prediction for the chosen algorithm, plus the wire-traffic formula.

    Alpha and beta come from the routes the algorithm's schedule uses, contention ignored;
    gamma is 0 with ``reduction: free`` and the slowest rank's ``3 / mem_bandwidth`` (with
    efficiency and slowdown) with ``reduction: device``.
    """
    params, p = plan.params, len(plan.ranks)
    gamma = float(plan.reducer.gamma.max()) if plan.reducer is not None else 0.0
    prediction = plan.algorithm.analytic(plan.cluster, plan.ranks, plan.schedule_plan, gamma)
    time_s = prediction["time_s"]
    algbw = params.size / time_s
    out: dict[str, Any] = {
        "time_s": time_s,
        "bytes_total": plan.algorithm.traffic(params.size, p),
        "algbw_Bps": algbw,
        "busbw_Bps": algbw * bus_factor(params.op, p),
        **{k: v for k, v in prediction.items() if k != "time_s"},
    }
    if plan.reducer is not None:
        out["gamma_s_per_byte"] = gamma
    return out


def _details() -> list[str]:
    """One line per algorithm for ``clustersim list``: its formula and source."""
    return [
        f"{op}/{name}: {alg.formula}  [{alg.source}]"
        for (op, name), alg in sorted(ALGORITHMS.items())
        if op in OPS
    ]


KIND = WorkloadKind(
    name="collective",
    description="one collective (allreduce, reduce_scatter, allgather, broadcast, reduce, "
    "alltoall) timed and verified",
    params=CollectiveParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
)
