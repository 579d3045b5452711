"""The ``collective`` workload kind: one collective op timed, counted and verified.

:func:`prepare` checks the ranks against the cluster, resolves ``algorithm: auto`` to what
NCCL's tuner picks (:func:`~clustersim.collectives.algorithms.choose_auto`), lays the buffer out
the way the chosen algorithm cuts it (:func:`~clustersim.collectives.algorithms.plan_collective`:
one chunk per rank for most, as evenly as the elements allow) and refuses a verified run whose
replay would not fit in the memory limit (:mod:`~clustersim.collectives.verify`).
:func:`simulate` runs the algorithm's schedule from t=0 on the flow network, replaying its
kernel in step on inputs drawn in place when ``verify`` is on (on every element, or on a few per
chunk with ``verify: sampled``), and :func:`analytic` prices the same schedule with its
alpha-beta(-gamma) formula.

``reduction: free`` (default) is the pure alpha-beta model; ``reduction: device`` charges
``γ = 3 / mem_bandwidth`` seconds per byte reduced on the reducing device (see
:mod:`clustersim.collectives.costs`) in the simulation and in the formula alike.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.collectives.algorithms import (
    ALGORITHMS,
    AUTO,
    OPS,
    CollectiveAlgorithm,
    choose_auto,
    plan_collective,
)
from clustersim.collectives.costs import bus_factor
from clustersim.collectives.kernels import check_collective
from clustersim.collectives.params import CollectiveParams
from clustersim.collectives.process import Reducer
from clustersim.collectives.schedule import Plan
from clustersim.collectives.tuning import NcclChoice
from clustersim.collectives.verify import (
    DEFAULT_SAMPLE_ELEMENTS,
    MEMORY_KNOBS,
    check_replay_memory,
    replay_buffers,
    replay_bytes,
    replay_lengths,
)
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import AnalyticNote, Outcome, Work, WorkloadKind
from clustersim.kinds.validation import rank_list

__all__ = [
    "KIND",
    "CollectivePlan",
    "analytic",
    "analytic_notes",
    "estimate",
    "prepare",
    "simulate",
]


@dataclass(frozen=True)
class CollectivePlan:
    """What :func:`simulate` and :func:`analytic` share: the ranks, the algorithm and its layout.

    Attributes:
        cluster: the cluster the run happens on.
        params: the workload.
        ranks: the device names taking part, in rank order.
        algorithm: the table entry of (``params.op``, the algorithm; ``auto`` resolved).
        schedule_plan: what the algorithm's schedule runs on (chunk sizes, root, grid).
        lengths: elements of each chunk of the layout.
        reducer: charges γ per byte reduced with ``reduction: device``; None with ``free``.
        replay_lengths: elements of each chunk the verified replay holds (``lengths``, or at
            most ``sample_elements`` each with ``verify: sampled``); None without verify.
        choice: NCCL's tuner's pick with ``algorithm: auto``; None otherwise.
    """

    cluster: Cluster
    params: CollectiveParams
    ranks: list[str]
    algorithm: CollectiveAlgorithm
    schedule_plan: Plan
    lengths: np.ndarray
    reducer: Reducer | None
    replay_lengths: np.ndarray | None = None
    choice: NcclChoice | None = None


def prepare(cluster: Cluster, params: CollectiveParams) -> CollectivePlan:
    """Check the ranks, the root and the topology against the cluster, resolve ``auto`` and lay
    out the buffer.

    Raises InputError for a rank the cluster does not have (or listed twice, or fewer than two),
    a root that is not a rank position, a hierarchical all-reduce off a two-level cluster or
    with ranks not listed machine by machine, and a verified run whose replay would exceed the
    memory limit, so that ``clustersim validate`` reports them. Draws and moves no data.
    """
    names = cluster.ranks if params.ranks is None else params.ranks  # [] is a mistake, not "all"
    ranks = rank_list(names, cluster.devices, "workload.ranks", noun="rank", minimum=2)
    elements = int(params.size) // params.itemsize
    layout = {"root": params.root or 0, "pipeline_chunk": params.pipeline_chunk}
    choice = None
    name = str(params.algorithm)
    if name == AUTO:
        choice = choose_auto(cluster, ranks, params.op, elements, params.itemsize, **layout)
        name = choice.algorithm
    algorithm = ALGORITHMS[(params.op, name)]
    schedule_plan, lengths = plan_collective(
        cluster, ranks, algorithm, elements, params.itemsize, **layout
    )
    replayed = None
    if params.verify:
        sample = params.sample_elements or DEFAULT_SAMPLE_ELEMENTS
        replayed = replay_lengths(lengths, params.verify, sample)
        if params.verify_memory is not None:
            check_replay_memory(
                len(ranks), replayed, params.itemsize, params.size, params.verify_memory
            )
    reducer = Reducer(cluster, ranks) if params.reduction == "device" else None
    return CollectivePlan(
        cluster, params, ranks, algorithm, schedule_plan, lengths, reducer, replayed, choice
    )


def simulate(plan: CollectivePlan) -> Outcome:
    """Run the collective once from t=0 and measure it."""
    cluster, params, ranks = plan.cluster, plan.params, plan.ranks
    p = len(ranks)
    root = plan.schedule_plan.root
    padded = inputs = None
    if plan.replay_lengths is not None:
        padded, inputs = replay_buffers(
            cluster.sim.rng("collective.inputs"),
            params.op,
            p,
            plan.replay_lengths,
            np.dtype(params.dtype),
            root,
        )
    sim = cluster.sim
    sim.process(
        plan.algorithm.process(cluster, ranks, plan.schedule_plan, padded, plan.reducer),
        name=f"{plan.algorithm.name} {params.op}",
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
    if plan.choice is not None:
        metrics["algorithm"] = plan.algorithm.name
    checks = {}
    if padded is not None and inputs is not None:
        checks = check_collective(params.op, inputs, padded, root)
    return Outcome(metrics=metrics, checks=checks)


def analytic(plan: CollectivePlan) -> dict[str, Any]:
    """The alpha-beta(-gamma) prediction for the chosen algorithm, plus the wire-traffic formula.

    Alpha and beta come from the routes the algorithm's schedule uses, contention ignored;
    gamma is 0 with ``reduction: free`` and the slowest rank's ``3 / mem_bandwidth`` (with
    efficiency and slowdown) with ``reduction: device``, which also adds the slowest rank's
    launch overhead once per reduction kernel on the critical path (the algorithm's
    closed-form ``reductions``). With ``algorithm: auto`` it also holds
    the chosen algorithm and NCCL's own predicted time of each (algorithm, protocol).
    """
    params, p = plan.params, len(plan.ranks)
    reducer = plan.reducer
    gamma = float(reducer.gamma.max()) if reducer is not None else 0.0
    launch = float(reducer.launch.max()) if reducer is not None else 0.0
    prediction = plan.algorithm.analytic(
        plan.cluster, plan.ranks, plan.schedule_plan, gamma, launch
    )
    time_s = prediction["time_s"]
    algbw = params.size / time_s
    out: dict[str, Any] = {
        "time_s": time_s,
        "bytes_total": plan.algorithm.traffic(params.size, p),
        "algbw_Bps": algbw,
        "busbw_Bps": algbw * bus_factor(params.op, p),
        **{k: v for k, v in prediction.items() if k != "time_s"},
    }
    if reducer is not None:
        out["gamma_s_per_byte"] = gamma
        out["launch_overhead_s"] = launch
        out["reduction_kernels"] = plan.algorithm.reduction_kernels(plan.schedule_plan)
    if plan.choice is not None:
        out["algorithm"] = plan.algorithm.name
        for (nccl, protocol), seconds in sorted((plan.choice.times or {}).items()):
            out[f"nccl_{nccl}_{protocol.lower()}_time_s"] = seconds
    return out


_BUS_FACTOR = {"allreduce": "2(p-1)/p", "broadcast": "1", "reduce": "1"}
_NCCL_TESTS = "nccl-tests doc/PERFORMANCE.md"
_TUNING = "NCCL 2.7.5 src/graph/tuning.cc"


def analytic_notes(plan: CollectivePlan) -> dict[str, AnalyticNote]:
    """What each analytic value is, for the table: the algorithm's formula and source, the
    alpha-beta model's assumptions, and contention as the effect only the simulation has."""
    alg, p = plan.algorithm, len(plan.ranks)
    gamma = (
        "γ = 0 (reduction: free)"
        if plan.reducer is None
        else "γ = 3 / mem_bandwidth of the slowest rank, plus its launch overhead λ per "
        "reduction kernel (reduction: device)"
    )
    model = (
        "α = the largest latency and 1/β the smallest bottleneck bandwidth of the schedule's "
        "routes, every flow priced alone (contention-free beyond a device's own ports); " + gamma
    )
    launches = ""
    if plan.reducer is not None and alg.reduction_kernels(plan.schedule_plan):
        launches = " + R·λ (R reduction kernels, λ per launch)"
    traffic = " ".join((inspect.getdoc(alg.traffic) or "").split("\n\n")[0].split())
    factor = _BUS_FACTOR.get(alg.op, "(p-1)/p")
    notes = {
        "time_s": AnalyticNote(
            f"{alg.op}/{alg.name}: {alg.formula}{launches} [{alg.source}]", model, "contention"
        ),
        "bytes_total": AnalyticNote(traffic.replace("``", "").rstrip(".")),
        "algbw_Bps": AnalyticNote(
            f"n / time_s (the analytic one), n = workload.size [{_NCCL_TESTS}]",
            departs="contention",
        ),
        "busbw_Bps": AnalyticNote(
            f"algbw · {factor}, {alg.op}'s bus factor at p = {p} [{_NCCL_TESTS}]",
            departs="contention",
        ),
        "gamma_s_per_byte": AnalyticNote(
            "3 / mem_bandwidth of the slowest rank's device, efficiency and slowdown included: "
            "read two operands, write one [clustersim.collectives.costs]"
        ),
        "launch_overhead_s": AnalyticNote(
            "λ, the slowest rank's device launch_overhead (slowdown included), added to time_s "
            "once per reduction kernel [clustersim.hardware.presets.CUDA_LAUNCH_OVERHEAD]"
        ),
        "reduction_kernels": AnalyticNote(
            "R, the steps in which ranks reduce, in closed form (ring p-1, recursive and "
            "binomial ⌈lg p⌉, double binary tree k+⌈lg p⌉-1, chain k+p-2, direct 1, "
            "hierarchical (g-1)+(m-1)); time_s adds R·λ"
        ),
        "algorithm": AnalyticNote(
            f"the (algorithm, protocol) NCCL's tuner predicts fastest [{_TUNING}]",
            "NCCL's latency and bandwidth tables for this topology",
        ),
    }
    for name in ("alpha_s", "alpha_intra_s", "alpha_inter_s"):
        notes[name] = AnalyticNote("α, an input of time_s: the largest latency of its routes")
    for name in ("link_bandwidth_Bps", "intra_bandwidth_Bps", "inter_bandwidth_Bps"):
        notes[name] = AnalyticNote("1/β, an input of time_s: the smallest bottleneck of its routes")
    nccl = AnalyticNote(f"NCCL's own prediction for (algorithm, protocol) [{_TUNING}]")
    for algorithm, protocol in (plan.choice.times or {}) if plan.choice else {}:
        notes[f"nccl_{algorithm}_{protocol.lower()}_time_s"] = nccl
    return notes


def _details() -> list[str]:
    """One line per algorithm for ``clustersim list``: its formula and source."""
    return [
        f"{op}/{name}: {alg.formula}  [{alg.source}]"
        for (op, name), alg in sorted(ALGORITHMS.items())
        if op in OPS
    ] + [f"*/{AUTO}: what NCCL's tuner picks  [NCCL 2.7.5 src/graph/tuning.cc]"]


def estimate(plan: CollectivePlan) -> Work:
    """Events and replay memory before the run, within a small factor.

    Every schedule here takes at most ``2p + c + 2⌈lg p⌉`` steps for ``c`` chunks (the ring's
    ``2(p-1)`` with ``c = p``, the pipelined chain's ``c + p - 2``, the double binary tree's
    ``c + 2(⌈lg p⌉ - 1)``), and a step costs about three events (measured: 44 events for the
    14 steps of ``scenarios/ring_allreduce.yaml``). The memory is the replay's
    (:func:`~clustersim.collectives.verify.replay_bytes`); a workload with its own
    ``verify_memory`` was checked against it by :func:`prepare` and reports none.
    """
    p, chunks = len(plan.ranks), plan.lengths.size
    events = 3 * (2 * p + chunks + 2 * (p - 1).bit_length()) + 10
    memory = 0.0
    if plan.replay_lengths is not None and plan.params.verify_memory is None:
        memory = replay_bytes(p, plan.replay_lengths, plan.params.itemsize)
    return Work(events, memory, knob="workload.ranks or workload.size", memory_knob=MEMORY_KNOBS)


KIND = WorkloadKind(
    name="collective",
    description="one collective (allreduce, reduce_scatter, allgather, broadcast, reduce, "
    "alltoall) timed and verified",
    params=CollectiveParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
    analytic_notes=analytic_notes,
)
