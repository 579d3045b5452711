"""The ``data_parallel`` workload kind: synchronous data-parallel SGD, timed and really trained.

``workers`` replicas of a model each take ``batch_size`` samples of a global batch, compute a
gradient, synchronise it (``sync: allreduce`` with any all-reduce ``algorithm``, or
``sync: parameter_server``), and apply the same update. With an MLP ``model`` (layer sizes) the
replicas are real numpy networks (:mod:`clustersim.nn`) trained on a synthetic dataset
(:mod:`clustersim.training.datasets`), and the gradients that cross the simulated network are
the real ones; with a profile ``model`` (bytes and FLOPs per layer, as in ``kind: pipeline``)
the run is timing-only.

Three views (docs/architecture.md §1), one module each:

* **kernel** (:mod:`~clustersim.training.data_parallel.kernels`, and for compression
  :mod:`~clustersim.training.data_parallel.compression` and
  :mod:`~clustersim.training.data_parallel.codecs`): the replicas' gradients, the exchanged
  sums (computed by the chosen all-reduce's own kernel, or the parameter server's sharded
  aggregation) and the updates. The check ``data_parallel_equals_single_worker`` trains one
  more model on the concatenated global batch with the same learning-rate schedule and
  compares weights after every step.
* **process** (:mod:`~clustersim.training.data_parallel.process`): one SimPy process per
  worker and one coordinator for the gradient exchange; with ``overlap: true`` gradients are
  grouped into buckets of about ``bucket_size`` bytes in backward order (PyTorch DDP's
  bucketing; default 25 MiB as in DDP) and a bucket's exchange starts while the backward pass
  goes on.
* **cost** (:mod:`~clustersim.training.data_parallel.costs`): :func:`analytic`, the
  contention-free bucket recurrence. Exact on contention-free topologies.

The learning rate follows Goyal et al.'s linear scaling rule with gradual warm-up
(:func:`~clustersim.training.data_parallel.costs.learning_rate`). Momentum SGD
(:class:`clustersim.nn.SGD`) updates every replica (plain SGD with DGC's momentum correction,
whose velocity lives in the compressor).

Gradient compression (``compression``): ``{method: dgc}`` (Deep Gradient Compression: top-k
sparsification with residuals, momentum correction and factor masking, local clipping,
warm-up) and ``{method: terngrad}`` (stochastic ternary gradients, one scale per weight or
bias tensor). Each worker *encodes* its gradient and the encoded bytes are what cross the
network (all-gathered, or pushed to the servers and pulled back as the encoded aggregate).
Compression kernels are charged on the device as memory-bound passes over the gradient.
Timing-only (profile) runs use the expected encoded sizes.

Metrics: ``time_per_iteration_s`` = makespan / iterations; ``compute_s`` the compute of the
slowest worker per iteration (forward, backward, update); ``communication_s`` the time the
gradient exchange is in progress per iteration; ``exposed_communication_s`` = iteration time -
compute (the communication that no computation hides); ``scaling_efficiency`` = one worker's
iteration time (its compute alone) over the data-parallel iteration time: the weak-scaling
efficiency, the fraction of the ideal ``N``-fold throughput that is achieved. With an MLP also
``final_loss`` (mean cross-entropy on the training set), ``final_accuracy`` (test set), the
training-loss curve and test-accuracy curve. With compression: ``compression_ratio`` (the bytes
a dense run puts on the network over the bytes this run put there), ``gradient_compression_ratio``
(dense gradient bytes over the encoded payload a worker sends: the ratio the DGC paper reports),
``compression_ratio_after_warmup`` (DGC, the iterations after the sparsity warm-up),
``bytes_per_iteration``, and ``dense_final_accuracy`` / ``dense_final_loss`` /
``dense_time_per_iteration_s`` (and the dense curves) of a dense run on the same seed, data and
cluster (``compare_dense``).

Checks: ``data_parallel_equals_single_worker`` (dense), ``dgc_residual_conserved`` and
``terngrad_unbiased`` (:mod:`~clustersim.training.data_parallel.codecs`), and
``compressed_exchange_exact`` (every rank received every payload byte-for-byte).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.collectives.allreduce import allreduce_algorithm, allreduce_time
from clustersim.collectives.schedule import Plan
from clustersim.core.simulation import Simulation
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, Work, WorkloadKind
from clustersim.nn import mlp
from clustersim.training.data_parallel.blas import single_threaded_blas
from clustersim.training.data_parallel.codecs import DGCCodec, TernGradCodec
from clustersim.training.data_parallel.costs import (
    COMPRESS_PASSES,
    UPDATE_KERNELS,
    UPDATE_PASSES,
    backward_kernels,
    expected_bucket_bytes,
    overlapped_iteration_time,
)
from clustersim.training.data_parallel.kernels import (
    DataParallelTrainer,
    GradientCodec,
    GradientLayout,
)
from clustersim.training.data_parallel.layout import Layout, resolve_layout, server_params
from clustersim.training.data_parallel.params import (
    DataParallelParams,
    DGCParams,
    TernGradParams,
)
from clustersim.training.data_parallel.process import DataParallelRun
from clustersim.training.datasets import GlobalBatchSampler, make_dataset
from clustersim.training.parameter_server import kind as parameter_server

__all__ = ["KIND", "DataParallelPlan", "analytic", "prepare", "simulate"]


@dataclass(frozen=True)
class DataParallelPlan:
    """What :func:`simulate` and :func:`analytic` share.

    Attributes:
        cluster: the cluster the run happens on.
        params: the workload.
        layout: the workers, layers, buckets and iterations.
        dense: with compression and ``compare_dense``, the dense run the compressed one is
            compared with (simulated on a fresh copy of ``cluster``); otherwise None.
    """

    cluster: Cluster
    params: DataParallelParams
    layout: Layout
    dense: DataParallelPlan | None = None


def prepare(cluster: Cluster, params: DataParallelParams) -> DataParallelPlan:
    """Resolve the layout (and the dense comparison's); InputError if the cluster cannot run it."""
    dense = None
    if params.compression is not None and params.compare_dense:
        dense_params = params.model_copy(update={"compression": None, "verify": False})
        dense = DataParallelPlan(cluster, dense_params, resolve_layout(cluster, dense_params))
    return DataParallelPlan(cluster, params, resolve_layout(cluster, params), dense)


# ------------------------------------------------------------------------------- simulate
def _trainer(sim: Simulation, params: DataParallelParams, layout: Layout) -> DataParallelTrainer:
    """The numpy side of an MLP run: data, model, replicas, and the compression codec."""
    sizes = params.mlp_sizes()
    workers = layout.workers
    dataset = make_dataset(params.dataset, sim.rng("data_parallel.dataset"), sizes[0], sizes[-1])
    sampler = GlobalBatchSampler(
        params.dataset.samples, workers, params.batch_size, sim.rng("data_parallel.sampler")
    )
    model = mlp(sizes, rng=sim.rng("data_parallel.init"))
    grads = GradientLayout(
        {name: value.shape for name, value in model.parameters().items()},
        {layer.name: list(layer.names) for layer in layout.layers},
        [[layout.layers[i].name for i in bucket] for bucket in layout.buckets],
    )
    comp = params.compression
    momentum = params.momentum
    codec: GradientCodec | None = None
    if isinstance(comp, DGCParams):
        codec = DGCCodec(
            grads,
            workers,
            layout.iterations_per_epoch,
            momentum=params.momentum,
            sparsity=comp.sparsity,
            momentum_correction=comp.momentum_correction,
            momentum_masking=comp.momentum_masking,
            clip_norm=comp.clip_norm if comp.clipping else None,
            warmup_epochs=comp.warmup_epochs,
        )
        if comp.momentum_correction:  # the velocity lives in U: the update is plain SGD
            momentum = 0.0
    elif isinstance(comp, TernGradParams):
        codec = TernGradCodec(
            grads,
            workers,
            comp.clip,
            sim.rng("data_parallel.terngrad"),
            sim.rng("data_parallel.terngrad_check") if params.verify else None,
        )
    return DataParallelTrainer(
        dataset,
        sampler,
        model,
        grads,
        lr=params.lr,
        momentum=momentum,
        verify=params.verify,
        codec=codec,
    )


def _train(
    cluster: Cluster, params: DataParallelParams, layout: Layout
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the workload on ``cluster`` from t=0; return (metrics, checks)."""
    trainer = _trainer(cluster.sim, params, layout) if params.trains else None
    run = DataParallelRun(cluster, params, layout, trainer)
    sim = cluster.sim
    for w, name in enumerate(layout.ranks):
        sim.process(run.worker(w), name=f"data-parallel worker {name}")
    sim.process(run.coordinator(), name="data-parallel gradient exchange")
    with single_threaded_blas():
        sim.run()
        if trainer is not None:
            final_loss = trainer.train_loss(trainer.replicas[0])
            final_accuracy = trainer.accuracy(trainer.replicas[0])
    iters = layout.iterations
    makespan = sim.now
    per_iteration = makespan / iters
    compute = float(run.compute_per_worker.max(axis=1).mean())
    gradient_bytes = float(layout.elements * params.itemsize)
    metrics: dict[str, Any] = {
        "time_per_iteration_s": per_iteration,
        "time_s": makespan,
        "compute_s": compute,
        "communication_s": run.comm_total / iters,
        "exposed_communication_s": per_iteration - compute,
        "scaling_efficiency": compute / per_iteration if per_iteration > 0 else 1.0,
        "throughput_samples_per_s": (
            layout.workers * params.batch_size / per_iteration if per_iteration > 0 else math.inf
        ),
        "iterations": iters,
        "workers": layout.workers,
        "global_batch": layout.workers * params.batch_size,
        "gradient_bytes": gradient_bytes,
        "buckets": len(layout.buckets),
        **cluster.standard_metrics(),
    }
    if params.compression is not None:
        sent = metrics["bytes_total"]
        dense = _dense_bytes_total(params, layout)
        metrics.update(
            {
                "dense_bytes_total": dense,
                "compression_ratio": dense / sent if sent > 0 else math.inf,
                "payload_bytes_per_worker": run.payload_bytes / (layout.workers * iters),
                "gradient_compression_ratio": (
                    gradient_bytes * layout.workers * iters / run.payload_bytes
                ),
            }
        )
        if isinstance(params.compression, DGCParams):
            metrics["final_sparsity"] = 1.0 - layout.keep[iters - 1]
            if trainer is not None and isinstance(trainer.codec, DGCCodec):
                clipped = trainer.codec.clipped_steps
                metrics["clipped_fraction"] = clipped / (iters * layout.workers)
            start = min(
                math.ceil(params.compression.warmup_epochs * layout.iterations_per_epoch), iters
            )
            steady = run.bytes_per_iteration[start:]
            if steady.size and steady.sum() > 0:
                metrics["compression_ratio_after_warmup"] = (dense / iters) / float(steady.mean())
    metrics["bytes_per_iteration"] = run.bytes_per_iteration
    checks: dict[str, Any] = {}
    if trainer is not None:
        metrics.update(
            {
                "final_loss": final_loss,
                "final_accuracy": final_accuracy,
                "epochs": iters / layout.iterations_per_epoch,
                "train_loss_curve": trainer.losses,
                "test_accuracy_curve": [a for _, a in trainer.accuracy_points],
                "test_accuracy_iterations": [k for k, _ in trainer.accuracy_points],
            }
        )
        checks = trainer.checks(iters)
    return metrics, checks


def simulate(plan: DataParallelPlan) -> Outcome:
    """Train (or, with a profile model, time) ``iterations`` synchronous SGD steps.

    With compression and ``compare_dense``, a dense run on a fresh copy of the cluster (same
    seed, so the same data, initial weights and batches) gives the ``dense_*`` metrics.
    """
    metrics, checks = _train(plan.cluster, plan.params, plan.layout)
    if plan.dense is not None:
        dense, _ = _train(plan.cluster.fresh(), plan.dense.params, plan.dense.layout)
        metrics["dense_time_per_iteration_s"] = dense["time_per_iteration_s"]
        metrics["dense_measured_bytes_total"] = dense["bytes_total"]
        if "final_accuracy" in dense:
            metrics["dense_final_accuracy"] = dense["final_accuracy"]
            metrics["dense_final_loss"] = dense["final_loss"]
            metrics["dense_train_loss_curve"] = dense["train_loss_curve"]
            metrics["dense_test_accuracy_curve"] = dense["test_accuracy_curve"]
    return Outcome(metrics=metrics, checks=checks)


# ------------------------------------------------------------------------------- analytic
def _bucket_bytes_total(params: DataParallelParams, layout: Layout, b: int) -> float:
    """Bytes bucket ``b``'s dense exchange puts on the wire (all ranks, one iteration)."""
    size = float(layout.bucket_elements(b) * params.itemsize)
    if layout.servers is None:
        if layout.workers < 2:
            return 0.0
        return allreduce_algorithm(params.algorithm).traffic(size, layout.workers)
    return 2.0 * layout.workers * size


def _dense_bytes_total(params: DataParallelParams, layout: Layout) -> float:
    """Bytes a dense run of this layout puts on the network (every iteration, all ranks)."""
    return layout.iterations * sum(
        _bucket_bytes_total(params, layout, b) for b in range(len(layout.buckets))
    )


def _ps_prediction(plan: DataParallelPlan, model_bytes: float) -> dict[str, Any]:
    """The parameter-server kind's prediction for one push and pull of ``model_bytes``."""
    layout = plan.layout
    assert layout.servers is not None
    params = server_params(plan.params, model_bytes, layout.workers, len(layout.servers.servers))
    return parameter_server.analytic(parameter_server.prepare(plan.cluster, params))


def _bucket_comm_time(plan: DataParallelPlan, b: int, keep: float) -> float:
    """Contention-free time of bucket ``b``'s exchange (compressed: expected payloads)."""
    cluster, params, layout = plan.cluster, plan.params, plan.layout
    workers = layout.workers
    size = float(layout.bucket_elements(b) * params.itemsize)
    if size <= 0:
        return 0.0
    method = params.compression_method
    if method is None:
        if layout.servers is None:
            return allreduce_time(cluster, layout.ranks, size, params.algorithm)
        return float(_ps_prediction(plan, size)["communication_s"])
    push, pull = expected_bucket_bytes(
        [layout.layers[i].elements for i in layout.buckets[b]], keep, workers, method
    )
    scales = 4.0 * len(layout.buckets[b]) if method == "terngrad" else 0.0
    if layout.servers is None:
        out = allreduce_time(cluster, layout.ranks, scales, params.algorithm) if scales else 0.0
        if workers > 1:
            gather = Plan(workers, np.full(workers, push))
            out += float(layout.allgather.analytic(cluster, layout.ranks, gather)["time_s"])
        return out
    out = float(_ps_prediction(plan, push)["push_s"])
    out += float(_ps_prediction(plan, pull)["pull_s"])
    if scales:
        out += float(_ps_prediction(plan, scales)["communication_s"])
    return out


def _compute_times(
    plan: DataParallelPlan,
) -> tuple[np.ndarray, list[list[np.ndarray]], np.ndarray]:
    """Per worker: the forward, each bucket's kernels (backward layers, compression), the
    update; the rooflines the processes run."""
    params, layout = plan.params, plan.layout
    layers = layout.layers
    item = params.itemsize
    elements = layout.elements
    devices = [plan.cluster.devices[name] for name in layout.ranks]
    passes = COMPRESS_PASSES.get(params.compression_method or "", 0.0)
    fwd_flops = sum(x.fwd_flops for x in layers)
    fwd_bytes = sum(x.fwd_bytes for x in layers)
    forward = np.array([d.compute_time(fwd_flops, fwd_bytes, kernels=len(layers)) for d in devices])
    update = np.array(
        [
            d.compute_time(2.0 * elements, UPDATE_PASSES * item * elements, kernels=UPDATE_KERNELS)
            for d in devices
        ]
    )
    backward = []
    for b, bucket in enumerate(layout.buckets):
        kernels = [
            np.array(
                [
                    d.compute_time(
                        layers[i].bwd_flops,
                        layers[i].bwd_bytes,
                        kernels=backward_kernels(layers[i]),
                    )
                    for d in devices
                ]
            )
            for i in bucket
        ]
        if passes:
            moved = passes * item * layout.bucket_elements(b)
            kernels.append(
                np.array([d.compute_time(0.0, moved, kernels=len(bucket)) for d in devices])
            )
        backward.append(kernels)
    return forward, backward, update


def analytic(plan: DataParallelPlan) -> dict[str, Any]:
    """The contention-free iteration: the bucket recurrence of
    :func:`~clustersim.training.data_parallel.costs.overlapped_iteration_time`.

    With DGC's warm-up the kept fraction changes per epoch; the prediction averages the
    iteration over the schedule.
    """
    params, layout = plan.params, plan.layout
    forward, backward, update = _compute_times(plan)
    buckets = range(len(layout.buckets))
    times = {
        keep: overlapped_iteration_time(
            forward, backward, [_bucket_comm_time(plan, b, keep) for b in buckets], update
        )
        for keep in set(layout.keep)
    }
    per_iteration = float(np.mean([times[keep][0] for keep in layout.keep]))
    compute = float(np.mean([times[keep][1] for keep in layout.keep]))
    comm = float(np.mean([times[keep][2] for keep in layout.keep]))
    out: dict[str, Any] = {
        "time_per_iteration_s": per_iteration,
        "time_s": per_iteration * layout.iterations,
        "compute_s": compute,
        "communication_s": comm,
        "exposed_communication_s": per_iteration - compute,
        "scaling_efficiency": compute / per_iteration if per_iteration > 0 else 1.0,
    }
    key = "bytes_total" if params.compression is None else "dense_bytes_total"
    out[key] = _dense_bytes_total(params, layout)
    return out


def _details() -> list[str]:
    return [
        "T = F + ΣB_l + Σ_b A(G_b) + U; overlap: e_b = max(r_b, e_(b-1)) + A(G_b), T = e_last + U "
        "[bucketing: Li et al. VLDB 2020 §3.2.3]",
        "lr_scaling linear: lr·Nb/base_batch, warmup ramps from lr [Goyal et al. "
        "arXiv:1706.02677 §2]",
        "compression dgc: top-k + residuals, momentum correction/masking, local clipping, "
        "warm-up; payloads all-gathered [Lin et al. ICLR 2018]; terngrad: s·sign(g)∘Bernoulli"
        "(|g|/s), clip c·σ [Wen et al. NeurIPS 2017]",
    ]


def estimate(plan: DataParallelPlan) -> Work:
    """Events and replay memory before the run, within a small factor.

    Each iteration costs every worker a few events for its compute and about six per bucket
    for the all-reduce's steps (measured: 17 per worker and iteration for the 4-worker MLP of
    ``scenarios/data_parallel_minimal.yaml``); a dense comparison run doubles it. The replay
    holds, per worker, the weights, gradients, velocity and a gradient copy (4 arrays of 8-byte
    numbers) and one batch's activations, plus the data set.
    """
    params, layout = plan.params, plan.layout
    runs = 2 if plan.dense is not None else 1
    events = runs * layout.iterations * layout.workers * (10 + 6 * len(layout.buckets))
    memory = 0.0
    if params.trains:
        sizes = params.mlp_sizes()
        weights = sum(a * b + b for a, b in itertools.pairwise(sizes))
        activations = params.batch_size * sum(sizes)
        data = (params.dataset.samples + params.dataset.test_samples) * (sizes[0] + 1)
        memory = 8.0 * (layout.workers * (4 * weights + 2 * activations) + data)
    return Work(events, memory, knob="workload.iterations", memory_knob="workload.model")


KIND = WorkloadKind(
    name="data_parallel",
    description="synchronous data-parallel SGD of a real numpy MLP (or a timing-only profile): "
    "all-reduce or parameter server, overlap, lr scaling, DGC and TernGrad",
    params=DataParallelParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
