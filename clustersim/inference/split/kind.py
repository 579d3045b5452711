"""The ``split`` workload kind: Neurosurgeon's mobile/cloud partition of a CNN.

``prepare`` builds the model (lazily: no weights), profiles every layer (FLOPs, bytes, output
size), takes each layer's latency on the mobile and in the cloud from the device model or from
the scenario's measured tables (one entry per layer), prices every split point with the
links' latency and bandwidth, and picks the best for the objective (latency or the mobile's
energy) unless the scenario fixes the split. ``simulate`` runs the chosen split on the
cluster (:class:`~.process.SplitRunner`) and both extremes (everything in the cloud,
everything on the mobile) on fresh copies, and with ``verify`` runs the split and the whole
model in numpy (:func:`~.kernels.run_split`). ``analytic`` is the closed form of
:mod:`~.costs` at every split.

Checks: ``latency_equals_prediction`` (the simulated latency of the chosen split equals
``T(k)``; exact when nothing else uses the links), ``split_equals_unsplit`` (the split output
equals the whole model's bit for bit, and the bytes sent equal the profile's activation size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.inference.split import costs
from clustersim.inference.split.kernels import run_split, tiled_parameters
from clustersim.inference.split.params import SplitParams
from clustersim.inference.split.power import Power, power_preset
from clustersim.inference.split.process import Phases, SplitRunner
from clustersim.kinds.contract import Outcome, Work, WorkloadKind, check
from clustersim.kinds.validation import rank_list
from clustersim.nn.cnns import alexnet, small_cnn, vgg16
from clustersim.nn.layers import Sequential
from clustersim.nn.profile import LayerCost, profile
from clustersim.training.data_parallel.blas import single_threaded_blas

__all__ = ["KIND", "SplitPlan", "analytic", "build_model", "prepare", "simulate"]

VERIFY_SIZE = {"vgg16": 32, "alexnet": 64}
"""Default image size of the numeric check: the smallest the model's layers take (VGG-16's
five poolings need 32 pixels, AlexNet's stride-4 convolution and three poolings 63)."""


def build_model(params: SplitParams, image_size: int | None = None) -> Sequential:
    """The scenario's model for ``image_size`` (default: the scenario's), weights undrawn."""
    size = image_size or params.image_size
    dtype = np.dtype(params.dtype)
    if params.model == "small_cnn":
        return small_cnn((params.channels, size, size), params.classes, dtype=dtype)
    build = vgg16 if params.model == "vgg16" else alexnet
    return build(classes=params.classes, image_size=size, dtype=dtype, lazy=True)


@dataclass(frozen=True)
class SplitPlan:
    """What ``simulate`` and ``analytic`` share.

    Attributes:
        cluster: where the run happens.
        params: the validated workload.
        mobile, cloud: the two devices.
        layers: the model's per-layer costs.
        mobile_s, cloud_s: each layer's latency on the mobile and in the cloud.
        sent: bytes uploaded at each split ``k = 0..L``.
        result: bytes of the output sent back.
        up, down: ``(latency, bandwidth)`` of the path mobile -> cloud and back.
        power: the mobile's power model (None: no energy figures).
        cloud_power: the cloud's power model, if known.
        split: the chosen split (layers on the mobile).
    """

    cluster: Cluster
    params: SplitParams
    mobile: str
    cloud: str
    layers: list[LayerCost]
    mobile_s: np.ndarray
    cloud_s: np.ndarray
    sent: np.ndarray
    result: float
    up: tuple[float, float]
    down: tuple[float, float]
    power: Power | None
    cloud_power: Power | None
    split: int

    def latencies(self) -> np.ndarray:
        return costs.split_latencies(
            self.mobile_s, self.cloud_s, self.sent, self.up, self.down, self.result
        )

    def energies(self) -> np.ndarray | None:
        if self.power is None:
            return None
        p = self.power
        return costs.split_energies(
            self.mobile_s,
            self.cloud_s,
            self.sent,
            self.up,
            self.down,
            self.result,
            (p.compute_w, p.idle_w, p.transmit_w),
        )

    def describe(self, k: int) -> str:
        """``"input"`` or ``"after 30 MaxPool2d"``: where split ``k`` cuts."""
        return "input" if k == 0 else f"after {k - 1} {self.layers[k - 1].layer.split('(')[0]}"


# ------------------------------------------------------------------------------ prepare
def _tier(cluster: Cluster, tier: str) -> str | None:
    nodes = cluster.graph.nodes
    return next((n for n in cluster.ranks if nodes[n].get("tier") == tier), None)


def _devices(cluster: Cluster, params: SplitParams) -> tuple[str, str]:
    mobile = params.mobile or _tier(cluster, "device") or cluster.ranks[0]
    cloud = params.cloud or _tier(cluster, "cloud") or cluster.ranks[-1]
    rank_list([mobile], cluster.devices, "workload.mobile", noun="device")
    rank_list([cloud], cluster.devices, "workload.cloud", noun="device")
    if mobile == cloud:
        raise InputError(f"workload.cloud: {cloud!r} is also the mobile device; give two devices")
    return mobile, cloud


def _profile(params: SplitParams, image_size: int | None = None) -> list[LayerCost]:
    if params.model != "small_cnn" and params.channels != 3:
        raise InputError(
            f"workload.channels: {params.model} takes 3-channel images, got {params.channels}"
        )
    size = image_size or params.image_size
    try:
        return profile(build_model(params, size), (params.channels, size, size), params.dtype)
    except InputError as exc:
        field = "verify_image_size" if image_size else "image_size"
        raise InputError(
            f"workload.{field}: {params.model} cannot take {size}x{size} images: {exc}"
        ) from None


def _layer_seconds(
    cluster: Cluster, params: SplitParams, node: str, layers: list[LayerCost]
) -> np.ndarray:
    device = cluster.devices[node]
    table = params.layer_times.get(node)
    if table is None:
        # one kernel per layer (none for a view): its roofline plus one launch overhead
        return np.array(
            [device.compute_time(r.flops, r.bytes_moved(1), kernels=r.kernels) for r in layers]
        )
    return np.array(table, dtype=float) * device.slowdown


def _check_tables(params: SplitParams, layers: list[LayerCost], devices: tuple[str, str]) -> None:
    for name, table in params.layer_times.items():
        if name not in devices:
            raise InputError(
                f"workload.layer_times.{name}: not one of the split's devices "
                f"({', '.join(devices)}); give a table for the mobile and/or the cloud"
            )
        if len(table) != len(layers):
            first = ", ".join(f"{i} {r.layer.split('(')[0]}" for i, r in enumerate(layers[:3]))
            raise InputError(
                f"workload.layer_times.{name}: {len(table)} entries, but {params.model} has "
                f"{len(layers)} layers; give one time per layer in order ({first}, ... "
                f"{len(layers) - 1} {layers[-1].layer.split('(')[0]})"
            )


def _power(cluster: Cluster, params: SplitParams, node: str) -> Power | None:
    if node in params.power:
        p = params.power[node]
        return Power(p.compute_w, p.idle_w, p.transmit_w, "workload.power")
    return power_preset(cluster.devices[node].spec.name)


def _path(cluster: Cluster, a: str, b: str) -> tuple[float, float]:
    net = cluster.network
    pattern = net.pattern([net.node_index(a)], [net.node_index(b)])
    return float(pattern.latency[0]), float(pattern.bottleneck[0])


def prepare(cluster: Cluster, params: SplitParams) -> SplitPlan:
    """Profile the model, price every split, pick one; no weights, no simulation."""
    mobile, cloud = _devices(cluster, params)
    for name in params.power:
        rank_list([name], cluster.devices, f"workload.power.{name}", noun="device")
    layers = _profile(params)
    if params.verify:
        _profile(params, params.verify_image_size or VERIFY_SIZE.get(params.model))
    _check_tables(params, layers, (mobile, cloud))
    count = len(layers)
    if params.split != "auto" and not 0 <= params.split <= count:
        raise InputError(
            f"workload.split: {params.split} is out of range; {params.model} has {count} "
            f"layers, so a split is 0 (everything in the cloud) .. {count} (everything on the "
            "mobile), or auto"
        )
    power = _power(cluster, params, mobile)
    if params.objective == "energy" and power is None:
        raise InputError(
            f"workload.power.{mobile}: the energy objective needs the mobile's power, and "
            f"device {cluster.devices[mobile].spec.name!r} has no preset; give "
            "{compute_w: ..., idle_w: ..., transmit_w: ...}"
        )
    sent = np.array([layers[0].input_bytes] + [r.output_bytes for r in layers], dtype=float)
    plan = SplitPlan(
        cluster=cluster,
        params=params,
        mobile=mobile,
        cloud=cloud,
        layers=layers,
        mobile_s=_layer_seconds(cluster, params, mobile, layers),
        cloud_s=_layer_seconds(cluster, params, cloud, layers),
        sent=sent,
        result=float(layers[-1].output_bytes),
        up=_path(cluster, mobile, cloud),
        down=_path(cluster, cloud, mobile),
        power=power,
        cloud_power=_power(cluster, params, cloud),
        split=0,
    )
    if params.split != "auto":
        split = params.split
    else:
        objective = plan.energies() if params.objective == "energy" else plan.latencies()
        assert objective is not None
        split = costs.best_split(objective)
    return SplitPlan(**{**plan.__dict__, "split": split})


# ----------------------------------------------------------------------------- simulate
def _run(plan: SplitPlan, cluster: Cluster, split: int) -> Phases:
    runner = SplitRunner(
        cluster,
        plan.mobile,
        plan.cloud,
        plan.layers,
        {n: list(t) for n, t in plan.params.layer_times.items()},
        split,
        float(plan.sent[split]),
        plan.result,
    )
    runner.start()
    cluster.sim.run()
    return runner.phases


def _energy(plan: SplitPlan, phases: Phases, power: Power | None) -> float | None:
    """The mobile's joules for a simulated run (the phases' durations at their powers)."""
    if power is None:
        return None
    radio = phases.uplink_s + phases.downlink_s
    return (
        power.compute_w * phases.mobile_s
        + power.transmit_w * radio
        + (power.idle_w * phases.cloud_s)
    )


def _verify(plan: SplitPlan) -> dict[str, Any]:
    p = plan.params
    size = p.verify_image_size or VERIFY_SIZE.get(p.model) or p.image_size
    model = build_model(p, size)
    model.eval()
    dtype = np.dtype(p.dtype)
    rng = plan.cluster.sim.rng("split.verify")
    params = tiled_parameters(model, rng, dtype)
    x = rng.standard_normal((1, p.channels, size, size)).astype(dtype)
    with single_threaded_blas():
        run = run_split(model, x, plan.split, params)
    records = profile(model, (p.channels, size, size), p.dtype)
    expected = records[0].input_bytes if plan.split == 0 else records[plan.split - 1].output_bytes
    return check(
        run.equal and run.sent_bytes == expected,
        image_size=size,
        split=plan.split,
        max_abs_diff=run.max_abs_diff,
        sent_bytes=run.sent_bytes,
        profile_bytes=expected,
    )


def simulate(plan: SplitPlan) -> Outcome:
    """The chosen split on the cluster, both extremes on fresh copies, and the numeric check."""
    count = len(plan.layers)
    chosen = _run(plan, plan.cluster, plan.split)
    cloud_only = _run(plan, plan.cluster.fresh(), 0)
    mobile_only = _run(plan, plan.cluster.fresh(), count)
    predicted = float(plan.latencies()[plan.split])
    metrics: dict[str, Any] = {
        "split": plan.split,
        "split_at": plan.describe(plan.split),
        "layers": count,
        "latency_s": chosen.latency,
        "latency_all_cloud_s": cloud_only.latency,
        "latency_all_mobile_s": mobile_only.latency,
        "speedup_vs_cloud": cloud_only.latency / chosen.latency,
        "speedup_vs_mobile": mobile_only.latency / chosen.latency,
        "mobile_compute_s": chosen.mobile_s,
        "uplink_s": chosen.uplink_s,
        "cloud_compute_s": chosen.cloud_s,
        "downlink_s": chosen.downlink_s,
        "bytes_uplink": float(plan.sent[plan.split]) if plan.split < count else 0.0,
        "layer_mobile_s": plan.mobile_s.tolist(),
        "layer_cloud_s": plan.cloud_s.tolist(),
        "layer_output_bytes": [r.output_bytes for r in plan.layers],
    }
    energy = _energy(plan, chosen, plan.power)
    if energy is not None:
        e_cloud = _energy(plan, cloud_only, plan.power)
        e_mobile = _energy(plan, mobile_only, plan.power)
        assert e_cloud is not None and e_mobile is not None
        metrics |= {
            "mobile_energy_j": energy,
            "mobile_energy_all_cloud_j": e_cloud,
            "mobile_energy_all_mobile_j": e_mobile,
            "energy_saving_vs_mobile_fraction": 1.0 - energy / e_mobile,
        }
    if plan.cloud_power is not None:
        metrics["cloud_energy_j"] = plan.cloud_power.compute_w * chosen.cloud_s
    metrics |= plan.cluster.standard_metrics()
    gap = abs(chosen.latency - predicted) / predicted
    checks = {
        "latency_equals_prediction": check(
            gap <= 1e-9, simulated=chosen.latency, predicted=predicted, rel_err=gap
        )
    }
    if plan.params.verify:
        checks["split_equals_unsplit"] = _verify(plan)
    return Outcome(metrics=metrics, checks=checks)


# ----------------------------------------------------------------------------- analytic
def analytic(plan: SplitPlan) -> dict[str, Any]:
    """``T(k)`` (and ``E(k)`` with a power model) at every split, and at the chosen one."""
    t = plan.latencies()
    count = len(plan.layers)
    out: dict[str, Any] = {
        "latency_s": float(t[plan.split]),
        "latency_all_cloud_s": float(t[0]),
        "latency_all_mobile_s": float(t[count]),
        "speedup_vs_cloud": float(t[0] / t[plan.split]),
        "speedup_vs_mobile": float(t[count] / t[plan.split]),
        "best_latency_split": costs.best_split(t),
        "split_latency_s": t.tolist(),
    }
    e = plan.energies()
    if e is not None:
        out |= {
            "mobile_energy_j": float(e[plan.split]),
            "mobile_energy_all_cloud_j": float(e[0]),
            "mobile_energy_all_mobile_j": float(e[count]),
            "best_energy_split": costs.best_split(e),
            "split_energy_j": e.tolist(),
        }
    return out


def _details() -> list[str]:
    return [
        "neurosurgeon: T(k) = Σ_{i<k} m_i + α_up + D_k/B_up + Σ_{i>=k} c_i + α_down + R/B_down; "
        "pick argmin_k of latency or mobile energy [Kang et al. ASPLOS 2017, §4, Alg. 1]",
    ]


def estimate(plan: SplitPlan) -> Work:
    """Events: three runs (chosen split and both extremes), a few per layer and transfer;
    memory: the weights of the numeric check."""
    p = plan.params
    memory = 0.0
    if p.verify:
        size = p.verify_image_size or VERIFY_SIZE.get(p.model) or p.image_size
        records = _profile(p, size)
        memory = 2.0 * sum(r.param_bytes + r.output_bytes for r in records)
    return Work(events=3 * 8 * (len(plan.layers) + 4), memory_bytes=memory, knob="workload")


KIND = WorkloadKind(
    name="split",
    description="Neurosurgeon: split a CNN between a mobile device and the cloud at the best layer",
    params=SplitParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
