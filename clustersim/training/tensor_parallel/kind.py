"""The ``tensor_parallel`` workload kind: one transformer block stack split ``degree`` ways.

Each of the ``degree`` ranks runs one SimPy process: for every layer, forward then (after all
layers) backward in reverse, it computes its share of each half-block on its compute stream and
joins the collectives of :func:`~clustersim.training.tensor_parallel.kernels.layer_steps`, which run the
chosen all-reduce algorithm over the FlowNetwork (the last rank to arrive starts it; the others
wait, as a blocking NCCL call does). With ``verify`` the first layer's collectives carry the
numerics of the partitioned kernel (:mod:`~clustersim.training.tensor_parallel.kernels`) through the
algorithm's own replay, and the result is compared with the dense block:
``tensor_parallel_equals_dense``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.collectives.allreduce import AllreduceCost, allreduce, allreduce_algorithm
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, WorkloadKind, check
from clustersim.training.profile_schema import DTYPE_BYTES
from clustersim.training.tensor_parallel.kernels import (
    BlockWeights,
    Step,
    block_dense,
    block_megatron,
    block_sequence,
    compare,
    layer_steps,
    megatron_bytes_per_layer_per_device,
)

__all__ = ["TensorParallelParams", "analytic", "simulate"]


class TensorParallelParams(BaseModel):
    """Parameters of ``kind: tensor_parallel``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tensor_parallel"] = "tensor_parallel"
    degree: int = Field(description="tensor-parallel degree t (ranks)")
    batch: int = Field(description="sequences b per step")
    seq_len: int = Field(description="tokens per sequence s (the notes' L)")
    hidden: int = Field(description="hidden size h (the notes' E)")
    heads: int = Field(description="attention heads a (the notes' M)")
    layers: int = Field(1, description="transformer blocks")
    dtype: Literal["float16", "bfloat16", "float32"] = "float16"
    part: Literal["mlp", "attention", "layer"] = "layer"
    partition: Literal["megatron", "sequence"] = Field(
        "megatron",
        description="megatron: MLP column/row split and attention by heads; "
        "sequence: split along L",
    )
    algorithm: str = Field("ring", description="all-reduce algorithm")
    ranks: list[str] | None = Field(
        None, description="devices taking part (default: first degree devices)"
    )
    verify: bool = Field(True, description="replay the partitioned block in numpy")

    @field_validator("degree", "batch", "seq_len", "hidden", "heads", "layers")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise InputError(f"must be a positive integer, got {value!r}")
        return value

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        allreduce_algorithm(value)
        return value

    @model_validator(mode="after")
    def _divisible(self) -> TensorParallelParams:
        t = self.degree
        if self.hidden % self.heads:
            raise InputError(f"hidden {self.hidden} must be divisible by heads {self.heads}")
        if self.partition == "megatron" and self.heads % t:
            raise InputError(
                f"heads {self.heads} must be divisible by degree {t}: the "
                "headwise split gives every rank whole heads"
            )
        if self.partition == "sequence" and self.seq_len % t:
            raise InputError(
                f"seq_len {self.seq_len} must be divisible by degree {t} for the sequence partition"
            )
        return self


def _ranks(cluster: Cluster, params: TensorParallelParams) -> list[str]:
    ranks = params.ranks if params.ranks is not None else cluster.ranks[: params.degree]
    for name in ranks:
        if name not in cluster.devices:
            raise InputError(
                f"workload.ranks: {name!r} is not a device of the cluster; "
                f"devices are {', '.join(cluster.ranks[:12])}"
            )
    if len(set(ranks)) != len(ranks):
        raise InputError("workload.ranks: a rank is listed twice")
    if len(ranks) != params.degree:
        raise InputError(
            f"workload.degree is {params.degree} but "
            f"{'workload.ranks lists' if params.ranks else 'the cluster has'} "
            f"{len(ranks)} devices"
        )
    return list(ranks)


def _steps(params: TensorParallelParams) -> tuple[list[Step], list[Step]]:
    return layer_steps(
        params.part,
        params.partition,
        params.batch,
        params.seq_len,
        params.hidden,
        params.degree,
        DTYPE_BYTES[params.dtype],
    )


class _Replay:
    """Drives the partitioned kernel's step generator through the simulated collectives.

    The replayed block is scaled down (batch 2, ``2·degree`` tokens, 4 features per head)
    with the same degree, heads, part and partition: how the matrices split does not depend on
    their sizes, and the small buffers ride on the simulated all-reduces of the full-size ones.
    """

    def __init__(self, params: TensorParallelParams, rng: np.random.Generator) -> None:
        b, s, h = 2, 2 * params.degree, 4 * params.heads
        self.x = rng.standard_normal((b, s, h))
        self.dy = rng.standard_normal((b, s, h))
        self.w = BlockWeights.random(h, rng)
        kernel = block_megatron if params.partition == "megatron" else block_sequence
        self.gen = kernel(self.x, self.dy, self.w, params.heads, params.degree, params.part)
        self.params = params
        self.pending = next(self.gen)
        self.result: dict[str, Any] | None = None

    def take(self) -> np.ndarray:
        return self.pending

    def give(self, reduced: np.ndarray) -> None:
        try:
            self.pending = self.gen.send(reduced)
        except StopIteration as stop:
            self.result = stop.value

    def check(self) -> dict[str, Any]:
        p = self.params
        dense = block_dense(self.x, self.dy, self.w, p.heads, p.part)
        if self.result is None:
            return check(False, reason="the replay did not finish")
        return compare(dense, self.result)


def simulate(cluster: Cluster, params: TensorParallelParams) -> Outcome:
    """Run ``layers`` forward and backward passes on ``degree`` ranks and measure them."""
    ranks = _ranks(cluster, params)
    t = params.degree
    fwd, bwd = _steps(params)
    env = cluster.sim.env
    replay = None
    if params.verify:
        replay = _Replay(params, cluster.sim.rng("tensor_parallel.replay"))
    waiting: dict[Any, list[Any]] = {}
    comm_s = [0.0] * t
    compute_s = [0.0] * t

    def collective(key: Any, size: float, numeric: bool) -> Generator[Any, Any, None]:
        entry = waiting.setdefault(key, [0, env.event()])
        entry[0] += 1
        if entry[0] < t:
            yield entry[1]
            return
        buffers = replay.take().copy() if numeric and replay is not None else None
        yield from allreduce(cluster, ranks, size, params.algorithm, buffers)
        if buffers is not None and replay is not None:
            replay.give(buffers[0])
        entry[1].succeed()

    def rank(i: int) -> Generator[Any, Any, None]:
        device = cluster.devices[ranks[i]]
        order = [(layer, "F", fwd) for layer in range(params.layers)]
        order += [(layer, "B", bwd) for layer in reversed(range(params.layers))]
        for layer, phase, steps in order:
            for k, step in enumerate(steps):
                start = env.now
                if step.kind == "compute":
                    yield from device.compute(
                        step.flops, step.nbytes, label=f"L{layer} {step.label}"
                    )
                    compute_s[i] += env.now - start
                else:
                    yield from collective((layer, phase, k), step.size, layer == 0)
                    comm_s[i] += env.now - start

    for i in range(t):
        cluster.sim.process(rank(i), name=f"tensor-parallel rank {ranks[i]}")
    cluster.sim.run()
    end = cluster.sim.now
    nodes = cluster.rank_indices(ranks)
    sent = cluster.network.node_bytes_sent[nodes] / params.layers
    metrics: dict[str, Any] = {
        "time_s": end,
        "time_per_layer_s": end / params.layers,
        "compute_time_per_layer_s": max(compute_s) / params.layers,
        "comm_time_per_layer_s": max(comm_s) / params.layers,
        "comm_time_fraction": max(comm_s) / end,
        "bytes_per_layer_per_device": float(sent.mean()),
        "allreduces_per_layer": sum(s.kind == "allreduce" for s in fwd + bwd),
        "params_bytes_per_device": _params_per_device(params),
        **cluster.standard_metrics(),
        "sim_events": cluster.sim.events_processed,
    }
    checks = {"tensor_parallel_equals_dense": replay.check()} if replay is not None else {}
    return Outcome(metrics=metrics, checks=checks)


def _params_per_device(params: TensorParallelParams) -> float:
    h, w = params.hidden, DTYPE_BYTES[params.dtype]
    per = {"attention": 4 * h * h, "mlp": 8 * h * h, "layer": 12 * h * h}[params.part] * w
    shard = params.degree if params.partition == "megatron" else 1
    return per * params.layers / shard


def analytic(cluster: Cluster, params: TensorParallelParams) -> dict[str, Any]:
    """Roofline compute plus the algorithm's alpha-beta time for each collective."""
    ranks = _ranks(cluster, params)
    t = params.degree
    fwd, bwd = _steps(params)
    dev = cluster.devices[ranks[0]]
    cc = AllreduceCost(cluster, ranks, params.algorithm)
    compute = sum(dev.compute_time(s.flops, s.nbytes) for s in fwd + bwd if s.kind == "compute")
    comm = sum(cc.time(0, t, s.size) for s in fwd + bwd if s.kind == "allreduce")
    per_layer = compute + comm
    if params.partition == "megatron":
        nbytes = megatron_bytes_per_layer_per_device(
            params.batch, params.seq_len, params.hidden, t, DTYPE_BYTES[params.dtype], params.part
        )
    else:
        nbytes = sum(2.0 * (t - 1) / t * s.size for s in fwd + bwd if s.kind == "allreduce")
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


def _prepare(cluster: Cluster, params: Any) -> tuple[Cluster, Any]:  # TRANSITION
    return cluster, params


KIND = WorkloadKind(
    name="tensor_parallel",
    description="a transformer block stack split t ways (Megatron-LM or along the sequence)",
    params=TensorParallelParams,
    prepare=_prepare,  # TRANSITION: replaced by the real prepare step
    simulate=lambda plan: simulate(*plan),
    analytic=lambda plan: analytic(*plan),
    details=_details,
)
