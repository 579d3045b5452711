"""The ``early_exit`` workload kind: BranchyNet on one edge device.

``prepare`` checks the device and the exits against the network it builds (an exit must read a
layer the main network has, before its last), and profiles every stage (per-layer FLOPs and
bytes from :func:`clustersim.nn.profile`). ``simulate`` draws the synthetic task from the
scenario seed, trains the network jointly (:meth:`~.kernels.BranchyNet.train`), runs
Algorithm 1 on the test set (:meth:`~.kernels.BranchyNet.infer`), and times the samples on the
device with the exits they took (:func:`~.process.run_exits`), next to the main network alone
on a fresh copy of the cluster. ``analytic`` gives the closed forms of
:mod:`~.costs`: each exit's latency and the main network's.

Checks: ``early_exit_off_equals_main`` (thresholds of 0 never let a sample out, and the
answers are the main network's, bit for bit), ``final_exit_equals_main`` (the samples that
reach the last exit get exactly the main network's probabilities), ``latency_matches_costs``
(every simulated latency equals the closed form for its exit and batch) and
``easy_exit_earlier`` (samples of difficulty below 1/3 leave earlier on average than those
above 2/3).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.datasets import SyntheticImages
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.device import Device
from clustersim.inference.early_exit import costs
from clustersim.inference.early_exit.kernels import (
    BranchyNet,
    build_branchynet,
    main_network,
    route,
)
from clustersim.inference.early_exit.params import EarlyExitParams
from clustersim.inference.early_exit.process import Stage, run_exits
from clustersim.kinds.contract import Outcome, Work, WorkloadKind, check
from clustersim.kinds.validation import rank_list
from clustersim.nn.profile import profile
from clustersim.training.data_parallel.blas import single_threaded_blas

__all__ = ["EASY", "HARD", "KIND", "EarlyExitPlan", "analytic", "prepare", "simulate"]

EASY = 1 / 3
"""Samples of difficulty below this count as easy for ``mean_exit_easy``."""
HARD = 2 / 3
"""Samples of difficulty above this count as hard for ``mean_exit_hard``."""


@dataclass(frozen=True)
class EarlyExitPlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        device: the device inference runs on.
        input_shape: per-sample image shape (C, H, W).
        segments: the main network's stages, one per exit (the last ends in its classifier).
        branches: the side exits' stages, in order.
    """

    cluster: Cluster
    params: EarlyExitParams
    device: str
    input_shape: tuple[int, int, int]
    segments: list[Stage]
    branches: list[Stage]

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Stage times on the device (slowdown included) for ``b = 0..batch`` samples:
        ``(segment[m, b], branch[m, b])``."""
        device = self.cluster.devices[self.device]
        sizes = range(self.params.batch + 1)

        def table(stages: list[Stage]) -> np.ndarray:
            rows = [[s.time(device, b) * device.slowdown for b in sizes] for s in stages]
            return np.array(rows, dtype=float).reshape(len(stages), len(sizes))

        return table(self.segments), table(self.branches)


# ------------------------------------------------------------------------------ prepare
def _input_shape(params: EarlyExitParams) -> tuple[int, int, int]:
    d = params.data
    return (d.channels, d.image_size, d.image_size)


def _check_exits(params: EarlyExitParams, layers: list[str]) -> None:
    """Every exit reads an existing layer before the last, in ascending order."""
    last = len(layers) - 1
    shown = f"0 ({layers[0]}) .. {last} ({layers[last]})"
    previous = -1
    for i, ex in enumerate(params.exits):
        if ex.after > last:
            raise InputError(
                f"workload.exits.{i}.after: layer {ex.after} does not exist; the main network "
                f"has {len(layers)} layers, {shown}; a side exit reads one of layers 0-{last - 1}"
            )
        if ex.after == last:
            raise InputError(
                f"workload.exits.{i}.after: layer {last} is the main network's classifier, "
                f"which is already the last exit; a side exit reads one of layers 0-{last - 1}"
            )
        if ex.after <= previous:
            raise InputError(
                f"workload.exits.{i}.after: {ex.after} must come after the previous exit's "
                f"layer {previous}: list the exits in the order samples meet them"
            )
        previous = ex.after


def _stages(net: BranchyNet, input_shape: tuple[int, ...], dtype: str) -> tuple[list, list]:
    """Per-layer profiles of every main segment and branch."""
    records = profile(net.main, input_shape, dtype)
    bounds = [0, *(a + 1 for a in net.after), len(net.main)]
    segments = [
        Stage(f"layers {a}-{b - 1}", tuple(records[a:b])) for a, b in itertools.pairwise(bounds)
    ]
    branches = [
        Stage(f"exit {n}", tuple(profile(head, records[a].output_shape, dtype)))
        for n, (a, head) in enumerate(zip(net.after, net.heads, strict=True))
    ]
    return segments, branches


def _network(params: EarlyExitParams, rng: np.random.Generator, lazy: bool = False) -> BranchyNet:
    m = params.model
    return build_branchynet(
        _input_shape(params),
        params.data.classes,
        m.channels,
        m.hidden,
        [(e.after, e.conv) for e in params.exits],
        rng,
        np.dtype(params.dtype),
        lazy,
    )


def prepare(cluster: Cluster, params: EarlyExitParams) -> EarlyExitPlan:
    """Check the device and the exits; profile the stages (nothing is trained or run)."""
    device = params.device or cluster.ranks[0]
    rank_list([device], cluster.devices, "workload.device", noun="device")
    shape = _input_shape(params)
    blocks = len(params.model.channels)
    if params.data.image_size >> blocks < 1:
        raise InputError(
            f"workload.model.channels: {blocks} conv blocks halve a {params.data.image_size}-"
            "pixel image below one pixel; use fewer blocks or a larger workload.data.image_size"
        )
    unused = np.random.default_rng(0)  # prepare builds the network for its shapes only (lazy)
    m = params.model
    main = main_network(shape, params.data.classes, m.channels, m.hidden, unused, lazy=True)
    _check_exits(params, [repr(layer) for layer in main.layers])
    for i, point in enumerate(params.sweep):
        if isinstance(point, list) and len(point) != len(params.exits):
            raise InputError(
                f"workload.sweep.{i}: {len(point)} thresholds for {len(params.exits)} exits; "
                "give one value for all exits or one per exit"
            )
    segments, branches = _stages(_network(params, unused, lazy=True), shape, params.dtype)
    return EarlyExitPlan(cluster, params, device, shape, segments, branches)


# ----------------------------------------------------------------------------- simulate
@dataclass(frozen=True)
class _Trained:
    net: BranchyNet
    x: np.ndarray
    y: np.ndarray
    difficulty: np.ndarray
    loss: float


def _train(plan: EarlyExitPlan) -> _Trained:
    """The task, training and test sets from the scenario's seed, and the trained network."""
    p, sim = plan.params, plan.cluster.sim
    d = p.data
    task = SyntheticImages(
        sim.rng("early_exit.images"), classes=d.classes, size=d.image_size, channels=d.channels
    )
    train = task.sample(d.train_samples, sim.rng("early_exit.train"))
    test = task.sample(d.test_samples, sim.rng("early_exit.test"))
    dtype = np.dtype(p.dtype)
    net = _network(p, sim.rng("early_exit.weights"))
    weights = [e.weight for e in p.exits] + [p.model.final_weight]
    t = p.training
    with single_threaded_blas():
        losses = net.train(
            train.x.astype(dtype),
            train.y,
            weights,
            epochs=t.epochs,
            batch_size=t.batch_size,
            lr=t.lr,
            rng=sim.rng("early_exit.order"),
            momentum=t.momentum,
        )
    net.eval()
    return _Trained(net, test.x.astype(dtype), test.y, test.difficulty, losses[-1])


def _thresholds(point: float | list[float], exits: int) -> list[float]:
    return list(point) if isinstance(point, list) else [float(point)] * exits


def _time(
    device: Device,
    plan: EarlyExitPlan,
    exit_of: np.ndarray,
    branches: bool,
) -> tuple[np.ndarray, float]:
    """Simulate the samples on ``device`` (its cluster's clock); latencies and the end time."""
    latency = np.full(len(exit_of), np.nan)
    device.sim.process(
        run_exits(
            device,
            plan.segments,
            plan.branches if branches else [],
            exit_of,
            plan.params.batch,
            latency,
        ),
        name=f"early-exit inference on {device.name}",
    )
    device.sim.run()
    return latency, device.sim.now


def simulate(plan: EarlyExitPlan) -> Outcome:
    """Train, run Algorithm 1 on the test set, and time it against the main network alone."""
    p = plan.params
    exits = len(p.exits)
    trained = _train(plan)
    net, x, y = trained.net, trained.x, trained.y
    with single_threaded_blas():
        run = net.infer(x, [e.threshold for e in p.exits])
        main = net.main_proba(x)
        never = net.infer(x, [0.0] * exits)
        every = net.exit_probabilities(x) if p.sweep else []
    sweep = [route(every, _thresholds(point, exits)) for point in p.sweep]

    device = plan.cluster.devices[plan.device]
    latency, end = _time(device, plan, run.exit, branches=True)
    baseline = plan.cluster.fresh()
    main_latency, _ = _time(
        baseline.devices[plan.device], plan, np.full(len(y), exits, dtype=np.int64), False
    )
    segment, branch = plan.tables()
    predicted = costs.batch_latencies(run.exit, p.batch, segment, branch)
    flops = np.array([s.flops(1) for s in plan.segments])
    flops_path = np.cumsum(flops + np.append([b.flops(1) for b in plan.branches], 0.0))

    easy, hard = trained.difficulty < EASY, trained.difficulty > HARD
    main_pred = np.argmax(main, axis=1)
    final = run.exit == exits
    metrics: dict[str, Any] = {
        "accuracy": run.accuracy(y),
        "accuracy_main": float(np.mean(main_pred == y)),
        "exit_fraction": run.fractions().tolist(),
        "exit_accuracy": run.exit_accuracy(y),
        "latency_s": float(latency.mean()),
        "latency_p99_s": float(np.percentile(latency, 99)),
        "latency_main_s": float(main_latency.mean()),
        "speedup": costs.speedup(float(main_latency.mean()), float(latency.mean())),
        "throughput_per_s": len(y) / end,
        "flops_per_sample": float(flops_path[run.exit].mean()),
        "mean_exit_easy": float(run.exit[easy].mean()) if easy.any() else None,
        "mean_exit_hard": float(run.exit[hard].mean()) if hard.any() else None,
        "training_loss": trained.loss,
        "samples": len(y),
    }
    if p.sweep:
        metrics["sweep_thresholds"] = [_thresholds(point, exits) for point in p.sweep]
        metrics["sweep_accuracy"] = [r.accuracy(y) for r in sweep]
        metrics["sweep_latency_s"] = [
            float(costs.batch_latencies(r.exit, p.batch, segment, branch).mean()) for r in sweep
        ]
        metrics["sweep_exit_fraction"] = [r.fractions().tolist() for r in sweep]
    gap = np.abs(latency - predicted) / predicted
    checks = {
        "early_exit_off_equals_main": check(
            bool(np.all(never.exit == exits) and np.array_equal(never.proba, main)),
            samples=len(y),
            left_early=int((never.exit < exits).sum()),
            max_abs_diff=float(np.abs(never.proba - main).max()),
        ),
        "final_exit_equals_main": check(
            bool(np.array_equal(run.proba[final], main[final])),
            samples=int(final.sum()),
            max_abs_diff=float(np.abs(run.proba[final] - main[final]).max())
            if final.any()
            else 0.0,
        ),
        "latency_matches_costs": check(
            bool(gap.max() <= 1e-9), max_rel_err=float(gap.max()), samples=len(y)
        ),
        "easy_exit_earlier": check(
            bool(easy.any() and hard.any() and run.exit[easy].mean() < run.exit[hard].mean()),
            mean_exit_easy=metrics["mean_exit_easy"],
            mean_exit_hard=metrics["mean_exit_hard"],
            easy=int(easy.sum()),
            hard=int(hard.sum()),
        ),
    }
    return Outcome(metrics=metrics, checks=checks)


# ----------------------------------------------------------------------------- analytic
def analytic(plan: EarlyExitPlan) -> dict[str, Any]:
    """Per-exit latencies of one sample alone and the main network's mean latency (batched as
    the run is); the early-exit mean needs the exit fractions, which only the run measures."""
    segment, branch = plan.tables()
    n = plan.params.data.test_samples
    path = costs.exit_path_latencies(segment[:, 1], branch[:, 1])
    main = costs.main_latencies(n, plan.params.batch, segment)
    return {
        "latency_exit_s": path.tolist(),
        "latency_main_s": float(main.mean()),
        "speedup_if_all_exit_first": costs.speedup(float(segment[:, 1].sum()), float(path[0])),
    }


def _details() -> list[str]:
    return [
        "branchynet: leave at the first exit n with entropy(softmax(z_n)) < T_n, entropy "
        "-Σ y_c log y_c in nats [Teerapittayanon et al. ICPR 2016, Alg. 1]; joint training on "
        "Σ_n w_n·CE(exit_n) [§III-B]",
        "latency of a sample = its main layers and branches up to its exit; E[T] = Σ_n f_n·T_n",
    ]


def estimate(plan: EarlyExitPlan) -> Work:
    """Events: per batch and stage one compute kernel (a handful of SimPy events each), for the
    run and the main-network baseline; memory: the train and test images."""
    p = plan.params
    batches = -(-p.data.test_samples // p.batch)
    stages = len(plan.segments) + len(plan.branches)
    images = (p.data.train_samples + p.data.test_samples) * int(np.prod(plan.input_shape))
    weights = sum(r.param_bytes for s in plan.segments + plan.branches for r in s.layers)
    return Work(
        events=6 * batches * 2 * stages,
        memory_bytes=8.0 * images + 4.0 * weights,  # weights, gradients, momentum, a copy
        knob="workload.data.test_samples",
        memory_knob="workload.data.train_samples",
    )


KIND = WorkloadKind(
    name="early_exit",
    description="BranchyNet: a CNN with side exits that let confident samples leave early",
    params=EarlyExitParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
