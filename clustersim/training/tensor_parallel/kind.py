"""The ``tensor_parallel`` workload kind: one transformer block stack split ``degree`` ways.

``prepare`` checks the ranks against the cluster and lists one rank's steps of a block
(:func:`~clustersim.training.tensor_parallel.costs.layer_steps`); ``simulate`` runs them on
every rank (:class:`~clustersim.training.tensor_parallel.process.TensorParallelRun`) and, with
``verify``, replays the partitioned kernel through the first layer's collectives and compares it
with the dense block: ``tensor_parallel_equals_dense``. ``analytic`` prices the same steps with
the device roofline and the all-reduce algorithm's alpha-beta time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clustersim.collectives.allreduce import AllreduceCost, allreduce_algorithm
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, Work, WorkloadKind
from clustersim.kinds.validation import rank_list
from clustersim.training.profile_schema import DTYPE_BYTES
from clustersim.training.tensor_parallel.costs import (
    Step,
    layer_steps,
    megatron_bytes_per_layer_per_device,
    params_bytes_per_device,
    ring_bytes_per_device,
)
from clustersim.training.tensor_parallel.kernels import BlockReplay
from clustersim.training.tensor_parallel.params import TensorParallelParams
from clustersim.training.tensor_parallel.process import TensorParallelRun

__all__ = [
    "KIND",
    "TensorParallelParams",
    "TensorParallelPlan",
    "analytic",
    "prepare",
    "simulate",
]


@dataclass(frozen=True)
class TensorParallelPlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        ranks: the ``degree`` devices, in rank order.
        fwd, bwd: one rank's steps of one block, forward and backward.
    """

    cluster: Cluster
    params: TensorParallelParams
    ranks: list[str]
    fwd: list[Step]
    bwd: list[Step]

    @property
    def allreduce_sizes(self) -> list[float]:
        """Bytes of every all-reduce of one block, forward then backward."""
        return [s.size for s in self.fwd + self.bwd if s.kind == "allreduce"]


def _ranks(cluster: Cluster, params: TensorParallelParams) -> list[str]:
    """``workload.ranks`` (default: the first ``degree`` devices), checked against the cluster."""
    ranks = params.ranks if params.ranks is not None else cluster.ranks[: params.degree]
    rank_list(ranks, cluster.devices, "workload.ranks", noun="rank")
    if len(ranks) != params.degree:
        raise InputError(
            f"workload.degree is {params.degree} but "
            f"{'workload.ranks lists' if params.ranks else 'the cluster has'} "
            f"{len(ranks)} devices"
        )
    return list(ranks)


def prepare(cluster: Cluster, params: TensorParallelParams) -> TensorParallelPlan:
    """Check the ranks and list one rank's steps of a block."""
    fwd, bwd = layer_steps(
        params.part,
        params.partition,
        params.batch,
        params.seq_len,
        params.hidden,
        params.degree,
        DTYPE_BYTES[params.dtype],
    )
    return TensorParallelPlan(cluster, params, _ranks(cluster, params), fwd, bwd)


def _params_per_device(params: TensorParallelParams) -> float:
    shard = params.degree if params.partition == "megatron" else 1
    return params_bytes_per_device(
        params.hidden, DTYPE_BYTES[params.dtype], params.part, params.layers, shard
    )


def simulate(plan: TensorParallelPlan) -> Outcome:
    """Run ``layers`` forward and backward passes on ``degree`` ranks and measure them."""
    cluster, params, ranks = plan.cluster, plan.params, plan.ranks
    replay = None
    if params.verify:
        replay = BlockReplay(
            params.degree,
            params.heads,
            params.part,
            params.partition,
            cluster.sim.rng("tensor_parallel.replay"),
        )
    run = TensorParallelRun(
        cluster, ranks, params.layers, plan.fwd, plan.bwd, params.algorithm, replay
    )
    run.start()
    cluster.sim.run()
    end = cluster.sim.now
    sent = cluster.network.node_bytes_sent[cluster.rank_indices(ranks)] / params.layers
    metrics: dict[str, Any] = {
        "time_s": end,
        "time_per_layer_s": end / params.layers,
        "compute_time_per_layer_s": max(run.compute_s) / params.layers,
        "comm_time_per_layer_s": max(run.comm_s) / params.layers,
        "comm_time_fraction": max(run.comm_s) / end,
        "bytes_per_layer_per_device": float(sent.mean()),
        "allreduces_per_layer": len(plan.allreduce_sizes),
        "params_bytes_per_device": _params_per_device(params),
        **cluster.standard_metrics(),
    }
    checks = {"tensor_parallel_equals_dense": replay.check()} if replay is not None else {}
    return Outcome(metrics=metrics, checks=checks)


def analytic(plan: TensorParallelPlan) -> dict[str, Any]:
    """Roofline compute with its launch overheads plus the algorithm's alpha-beta time for each
    collective."""
    cluster, params, ranks = plan.cluster, plan.params, plan.ranks
    t = params.degree
    steps = plan.fwd + plan.bwd
    dev = cluster.devices[ranks[0]]
    cc = AllreduceCost(cluster, ranks, params.algorithm)
    compute = sum(
        dev.compute_time(s.flops, s.nbytes, kernels=s.kernels) for s in steps if s.kind == "compute"
    )
    comm = sum(cc.time(0, t, size) for size in plan.allreduce_sizes)
    per_layer = compute + comm
    if params.partition == "megatron":
        nbytes = megatron_bytes_per_layer_per_device(
            params.batch, params.seq_len, params.hidden, t, DTYPE_BYTES[params.dtype], params.part
        )
    else:
        nbytes = ring_bytes_per_device(plan.allreduce_sizes, t)
    if params.algorithm != "ring":  # the chosen algorithm's own traffic, not the ring's
        algorithm = allreduce_algorithm(params.algorithm)
        nbytes = sum(algorithm.traffic(size, t) for size in plan.allreduce_sizes) / t
    return {
        "time_s": per_layer * params.layers,
        "time_per_layer_s": per_layer,
        "compute_time_per_layer_s": compute,
        "comm_time_per_layer_s": comm,
        "comm_time_fraction": comm / per_layer,
        "bytes_per_layer_per_device": nbytes,
        "params_bytes_per_device": _params_per_device(params),
    }


def _details() -> list[str]:
    return [
        "megatron: 2 all-reduces of b·s·h forward + 2 backward per layer, "
        "8·b·s·h·(t-1)/t elements per device with a ring [Shoeybi et al. 2019 §3]",
        "sequence: all-reduce of K, V forward and dK, dV backward, plus the weight gradients "
        "[lecture notes: partitioning across L requires all-reduce for QK^T]",
    ]


def estimate(plan: TensorParallelPlan) -> Work:
    """Events before the run: per layer, each rank's forward and backward steps, each
    all-reduce step a few events (measured: 63 per layer on 4 ranks for
    ``scenarios/tensor_parallel_attention.yaml``)."""
    t = len(plan.ranks)
    steps = len(plan.fwd) + len(plan.bwd)
    events = plan.params.layers * steps * (2 * t + 6 * max(t - 1, 1))
    return Work(events=events, knob="workload.layers")


KIND = WorkloadKind(
    name="tensor_parallel",
    description="a transformer block stack split t ways (Megatron-LM or along the sequence)",
    params=TensorParallelParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
