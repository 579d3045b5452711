"""The ``ddnn`` workload kind: distributed DNN inference over end devices, the edge and the
cloud (Teerapittayanon, McDanel & Kung, ICDCS 2017).

``prepare`` resolves the end devices, the aggregator and the cloud (by default the tiers of an
``edge_cloud`` topology), checks the failed devices, builds the network to profile every stage
and the message sizes. ``simulate`` draws the multi-view task from the seed, trains every part
jointly (:meth:`~.kernels.DDNN.train`), routes the test objects through the exits with all
devices and with the failed ones missing (:meth:`~.kernels.DDNN.infer`), and times the run with
the failures on the cluster (:class:`~.process.DdnnTimer`). ``analytic`` gives the
communication formula's raw-input baseline and each exit path's latency with every flow of a
phase sharing the links equally (:mod:`~.costs`).

Checks: ``bytes_match_formula`` (the bytes the devices sent equal ``Σ c`` of §IV-E with the
measured local-exit fraction), ``binary_features_exact`` (the feature maps survive their
packing into bits), ``latency_matches_costs`` (each tier's simulated latency equals its path's
closed form), ``available_despite_failures`` (every object is answered).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.datasets import SyntheticImages
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.inference.early_exit.ddnn import costs
from clustersim.inference.early_exit.ddnn.kernels import DDNN, build_ddnn, route
from clustersim.inference.early_exit.ddnn.params import DdnnParams
from clustersim.inference.early_exit.ddnn.process import DdnnTimer, Sizes
from clustersim.inference.early_exit.process import Stage
from clustersim.kinds.contract import Outcome, Work, WorkloadKind, check
from clustersim.kinds.validation import known_name, rank_list
from clustersim.nn.layers import Sequential, numel
from clustersim.nn.profile import DTYPE_BYTES, profile
from clustersim.training.data_parallel.blas import single_threaded_blas

__all__ = ["KIND", "DdnnPlan", "analytic", "prepare", "simulate"]


@dataclass(frozen=True)
class DdnnPlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        devices: every end device (camera), in view order.
        alive: the end devices that did not fail.
        aggregator: the local aggregator (and the edge tier).
        cloud: the cloud tier.
        input_shape: one view's image shape (C, H, W).
        stages: device (ConvP + local classifier), local aggregation, edge (or None), cloud.
        sizes: bytes of every message.
        feature_elements: elements of one device's feature map (``f·o``).
    """

    cluster: Cluster
    params: DdnnParams
    devices: list[str]
    alive: list[str]
    aggregator: str
    cloud: str
    input_shape: tuple[int, int, int]
    stages: tuple[Stage, Stage, Stage | None, Stage]
    sizes: Sizes
    feature_elements: int

    @property
    def present(self) -> np.ndarray:
        return np.array([d in self.alive for d in self.devices])


# ------------------------------------------------------------------------------ prepare
def _tier(cluster: Cluster, tier: str) -> list[str]:
    nodes = cluster.graph.nodes
    return [n for n in cluster.ranks if nodes[n].get("tier") == tier]


def _placement(cluster: Cluster, params: DdnnParams) -> tuple[list[str], str, str]:
    devices = params.devices if params.devices is not None else _tier(cluster, "device")
    rank_list(devices, cluster.devices, "workload.devices", noun="end device")
    if not devices:
        raise InputError(
            "workload.devices: no end devices; list them (the default takes the device-tier "
            "nodes of an edge_cloud topology)"
        )
    names = {}
    for field, tier in (("aggregator", "edge"), ("cloud", "cloud")):
        given = getattr(params, field)
        found = _tier(cluster, tier)
        name = given if given is not None else (found[0] if found else None)
        if name is None:
            raise InputError(
                f"workload.{field}: required on a topology without a {tier}-tier node "
                "(the default comes from an edge_cloud topology)"
            )
        rank_list([name], cluster.devices, f"workload.{field}", noun="device")
        if name in devices:
            raise InputError(f"workload.{field}: {name!r} is also one of workload.devices")
        names[field] = name
    return list(devices), names["aggregator"], names["cloud"]


def _network(params: DdnnParams, views: int, rng: np.random.Generator, lazy: bool = False) -> DDNN:
    d = params.data
    return build_ddnn(
        (d.channels, d.image_size, d.image_size),
        views,
        d.classes,
        device_filters=params.device_filters,
        edge_filters=params.edge_filters if params.edge_exit else None,
        cloud_filters=params.cloud_filters,
        local_aggregation=params.local_aggregation,
        upper_aggregation=params.cloud_aggregation,
        binary=params.binary,
        shared=params.shared,
        rng=rng,
        dtype=np.dtype(params.dtype),
        lazy=lazy,
    )


def _stage(label: str, model: Sequential, shape: tuple[int, ...], dtype: str) -> Stage:
    return Stage(label, tuple(profile(model, shape, dtype)))


def prepare(cluster: Cluster, params: DdnnParams) -> DdnnPlan:
    """Resolve the tiers, check the failures, profile every stage; nothing is trained."""
    devices, aggregator, cloud = _placement(cluster, params)
    for i, name in enumerate(params.failed):
        known_name(name, devices, f"workload.failed.{i}: end device")
    alive = [d for d in devices if d not in params.failed]
    if not alive:
        raise InputError(
            "workload.failed: every end device failed; at least one must be alive to answer"
        )
    d = params.data
    pools = 3 if params.edge_exit else 2
    if d.image_size >> pools < 1:
        raise InputError(
            f"workload.data.image_size: {d.image_size} pixels cannot be pooled {pools} times "
            f"(devices, {'edge, ' if params.edge_exit else ''}cloud); give at least {1 << pools}"
        )
    shape = (d.channels, d.image_size, d.image_size)
    net = _network(params, len(devices), np.random.default_rng(0), lazy=True)  # shapes only
    net.set_present(np.array([v in alive for v in devices]))
    dt = params.dtype
    feature = net.feature_shape
    device_model = Sequential([*net.devices[0].layers, *net.local_heads[0].layers])
    local = [net.local_aggregate] + (net.local_fc.layers if net.local_fc is not None else [])
    upper_in = (len(devices), *feature)
    edge_stage = None
    cloud_in: tuple[int, ...] = upper_in
    edge_bytes = 0.0
    cloud_layers = [net.upper_aggregate, *net.cloud.layers]
    if net.edge is not None and net.edge_head is not None:
        edge_model = Sequential([net.upper_aggregate, *net.edge.layers, *net.edge_head.layers])
        edge_stage = _stage("edge exit", edge_model, upper_in, dt)
        edge_out = Sequential([net.upper_aggregate, *net.edge.layers]).output_shape(upper_in)
        edge_bytes = float(numel(edge_out) * DTYPE_BYTES[dt])
        cloud_in, cloud_layers = edge_out, list(net.cloud.layers)
    elements = numel(feature)
    sizes = Sizes(
        scores=4.0 * d.classes,  # float32 class scores, as DDNN's 4·|C| (§IV-E)
        request=params.request_bytes,
        features=float(np.ceil(elements / 8)) if params.binary else 4.0 * elements,
        edge_features=edge_bytes,
    )
    stages = (
        _stage("device", device_model, shape, dt),
        _stage("local exit", Sequential(local), (len(devices), d.classes), dt),
        edge_stage,
        _stage("cloud exit", Sequential(cloud_layers), cloud_in, dt),
    )
    return DdnnPlan(
        cluster, params, devices, alive, aggregator, cloud, shape, stages, sizes, elements
    )


# ----------------------------------------------------------------------------- simulate
def _thresholds(params: DdnnParams, local: float | None = None) -> list[float]:
    t = params.thresholds
    first = t.local if local is None else local
    return [first, t.edge] if params.edge_exit else [first]


def simulate(plan: DdnnPlan) -> Outcome:
    """Train, route the test objects with and without the failures, and time the run."""
    p, sim = plan.params, plan.cluster.sim
    d = p.data
    views = len(plan.devices)
    task = SyntheticImages(
        sim.rng("ddnn.images"), classes=d.classes, size=d.image_size, channels=d.channels
    )
    rig = task.cameras(views, sim.rng("ddnn.cameras"))
    train = task.sample_views(d.train_samples, sim.rng("ddnn.train"), rig)
    test = task.sample_views(d.test_samples, sim.rng("ddnn.test"), rig)
    dtype = np.dtype(p.dtype)
    net = _network(p, views, sim.rng("ddnn.weights"))
    w = p.weights
    weights = [w.local, w.edge, w.cloud] if p.edge_exit else [w.local, w.cloud]
    t = p.training
    x, y = test.x.astype(dtype), test.y
    everyone = np.ones(views, dtype=bool)
    with single_threaded_blas():
        losses = net.train(
            train.x.astype(dtype),
            train.y,
            weights,
            epochs=t.epochs,
            batch_size=t.batch_size,
            lr=t.lr,
            rng=sim.rng("ddnn.order"),
            momentum=t.momentum,
        )
        run = net.infer(x, _thresholds(p), plan.present)
        full = net.infer(x, _thresholds(p), everyone) if p.failed else run

    sweep = [route(run.tier_proba, _thresholds(p, t), run.tiers, run.wire_exact) for t in p.sweep]
    timer = DdnnTimer(
        plan.cluster,
        plan.alive,
        plan.aggregator,
        plan.cloud,
        *plan.stages,
        plan.sizes,
        run.exit,
    )
    timer.start()
    sim.run()
    latency = timer.latency
    net_ = plan.cluster.network
    uplink = float(net_.node_bytes_sent[plan.cluster.rank_indices(plan.alive)].sum()) / len(y)
    raw = costs.raw_bytes(plan.input_shape) * len(plan.alive)
    fractions = run.fractions()
    per_device = costs.bytes_per_device(
        d.classes, float(fractions[0]), plan.feature_elements, p.binary
    )
    requests = (1.0 - fractions[0]) * p.request_bytes * len(plan.alive)
    paths = _paths(plan)
    tiers = run.tiers
    metrics: dict[str, Any] = {
        "accuracy": run.accuracy(y),
        **{f"accuracy_{name}": acc for name, acc in zip(tiers, run.tier_accuracy(y), strict=True)},
        **{f"{name}_exit_fraction": float(f) for name, f in zip(tiers, fractions, strict=True)},
        "accuracy_all_devices": full.accuracy(y),
        "failed_devices": len(p.failed),
        "availability": float(np.isfinite(latency).mean()),
        "bytes_uplink_per_sample": uplink,
        "bytes_raw_per_sample": raw,
        "communication_reduction": raw / uplink,
        "bytes_per_device_per_sample": uplink / len(plan.alive),
        "bytes_downlink_per_sample": requests,
        "latency_s": float(np.nanmean(latency)),
        "latency_p99_s": float(np.nanpercentile(latency, 99)),
        **{
            f"latency_{name}_exit_s": float(latency[run.exit == k].mean())
            for k, name in enumerate(tiers)
            if (run.exit == k).any()
        },
        "training_loss": losses[-1],
        "samples": len(y),
        **plan.cluster.standard_metrics(),
    }
    if p.sweep:
        metrics["sweep_local_threshold"] = list(p.sweep)
        metrics["sweep_local_exit_fraction"] = [float(r.fractions()[0]) for r in sweep]
        metrics["sweep_accuracy"] = [r.accuracy(y) for r in sweep]
        metrics["sweep_bytes_per_device"] = [
            costs.bytes_per_device(
                d.classes, float(r.fractions()[0]), plan.feature_elements, p.binary
            )
            for r in sweep
        ]
    expected = per_device * len(plan.alive)
    gaps = [
        abs(latency[run.exit == k].mean() - paths[k]) / paths[k]
        for k in range(len(tiers))
        if (run.exit == k).any()
    ]
    checks = {
        "bytes_match_formula": check(
            bool(abs(uplink - expected) <= 1e-9 * expected),
            measured=uplink,
            formula=expected,
        ),
        "binary_features_exact": check(run.wire_exact and full.wire_exact, binary=p.binary),
        "latency_matches_costs": check(
            bool(max(gaps) <= 1e-9), max_rel_err=float(max(gaps)), identical_devices=True
        ),
        "available_despite_failures": check(
            bool(np.isfinite(latency).all()) and len(run.exit) == len(y),
            failed=len(p.failed),
            answered=int(np.isfinite(latency).sum()),
            accuracy=run.accuracy(y),
            accuracy_all_devices=full.accuracy(y),
        ),
    }
    if not _identical(plan):
        del checks["latency_matches_costs"]  # the closed form assumes identical devices
    return Outcome(metrics=metrics, checks=checks)


def _identical(plan: DdnnPlan) -> bool:
    """All live end devices have the same spec and speed (the closed form's assumption)."""
    devs = [plan.cluster.devices[n] for n in plan.alive]
    return all(x.spec == devs[0].spec and x.slowdown == devs[0].slowdown for x in devs)


# ----------------------------------------------------------------------------- analytic
def _phase(plan: DdnnPlan, src: list[str], dst: list[str], size: float) -> float:
    """A phase of simultaneous flows ``src[i] -> dst[i]`` of ``size`` bytes (equal shares)."""
    net = plan.cluster.network
    pattern = net.pattern([net.node_index(s) for s in src], [net.node_index(t) for t in dst])
    capacity = np.concatenate([net.capacity, net.medium_capacity])
    rates = costs.equal_share_rates(pattern.entry_flow, pattern.entry_link, capacity, len(src))
    return costs.fan_in_time(pattern.latency, rates, size)


def _paths(plan: DdnnPlan) -> list[float]:
    """Each tier's path latency for one object alone (identical devices)."""
    c = plan.cluster
    first = c.devices[plan.alive[0]]
    dev, local, edge, cloud = plan.stages
    n = len(plan.alive)

    def run(node: str, stage: Stage) -> float:
        device = c.devices[node]
        return stage.time(device, 1) * device.slowdown

    up = plan.aggregator if edge is not None else plan.cloud
    upper = [run(plan.aggregator, edge)] if edge is not None else []
    upper.append(run(plan.cloud, cloud))
    forward = (
        _phase(plan, [plan.aggregator], [plan.cloud], plan.sizes.edge_features)
        if edge is not None
        else 0.0
    )
    return costs.path_latencies(
        device_s=dev.time(first, 1) * first.slowdown,
        scores_s=_phase(plan, plan.alive, [plan.aggregator] * n, plan.sizes.scores),
        local_s=run(plan.aggregator, local),
        request_s=_phase(plan, [plan.aggregator] * n, plan.alive, plan.sizes.request),
        features_s=_phase(plan, plan.alive, [up] * n, plan.sizes.features),
        upper_s=upper,
        forward_s=forward,
    )


def analytic(plan: DdnnPlan) -> dict[str, Any]:
    """The raw-offload bytes and each exit path's latency (simultaneous flows sharing links
    equally); the DDNN bytes need the local-exit fraction, which only the run measures."""
    tiers = ["local", "edge", "cloud"] if plan.params.edge_exit else ["local", "cloud"]
    paths = _paths(plan)
    return {
        "bytes_raw_per_sample": costs.raw_bytes(plan.input_shape) * len(plan.alive),
        **{f"latency_{t}_exit_s": v for t, v in zip(tiers, paths, strict=True)},
        "bytes_per_device_if_all_local": costs.bytes_per_device(
            plan.params.data.classes, 1.0, plan.feature_elements, plan.params.binary
        ),
        "bytes_per_device_if_none_local": costs.bytes_per_device(
            plan.params.data.classes, 0.0, plan.feature_elements, plan.params.binary
        ),
    }


def _details() -> list[str]:
    return [
        "ddnn: end devices' ConvP + local FC, aggregated by max | average | concat; exit where "
        "normalized entropy < T, else feature maps to the edge/cloud [Teerapittayanon et al. "
        "ICDCS 2017, §III]",
        "bytes per device and sample: c = 4·|C| + (1 - l)·f·o/8 [§IV-E]",
    ]


def estimate(plan: DdnnPlan) -> Work:
    """Events: per object a few per device (compute, transfers) and per tier; memory: the
    training and test views."""
    p = plan.params
    per = 12 * len(plan.alive) + 12
    views = (p.data.train_samples + p.data.test_samples) * len(plan.devices)
    stages = [s for s in plan.stages if s is not None]
    weights = sum(r.param_bytes for s in stages for r in s.layers) * len(plan.devices)
    return Work(
        events=per * p.data.test_samples,
        memory_bytes=8.0 * views * int(np.prod(plan.input_shape)) + 4.0 * weights,
        knob="workload.data.test_samples",
        memory_knob="workload.data.train_samples",
    )


KIND = WorkloadKind(
    name="ddnn",
    description="DDNN: end devices with local exits, aggregated at the edge, the rest in the cloud",
    params=DdnnParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
