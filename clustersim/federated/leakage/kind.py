"""The ``leakage`` workload kind: reconstructing a client's data from what it transmits.

The lecture notes' privacy problem: "the attacker can leverage the transmitted gradient to
reconstruct the original input training data". A victim client (a device of the topology)
computes the gradient of a small MLP on a private batch of image data and sends it, through a
defence, to the server; the server attacks every transmission:

* the **analytic** recovery through the first layer's bias, exact for a batch of one
  (``x = ∇W_i / ∇b_i``), with iDLG's label from the last layer's gradient signs;
* **DLG** (Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019): dummy data and labels
  optimised by L-BFGS until their gradient matches the transmitted one.

Every defence of the list is attacked on the same private batches from the same dummy start
(:mod:`~clustersim.federated.leakage.defences`: pruning, Gaussian noise, fp16, int8, a larger
batch, DGC, TernGrad) and priced in accuracy by a FedSGD run whose clients all send through it
(:mod:`~clustersim.federated.leakage.utility`).

Three views (docs/architecture.md §1): the **kernels** (:mod:`~clustersim.federated.leakage.
kernels`, :mod:`~clustersim.federated.leakage.lbfgs`, :mod:`~clustersim.federated.leakage.
attack`) are the model, its gradient, the matching loss's hand-written gradient, L-BFGS and the
attacks; the **process** (:mod:`~clustersim.federated.leakage.process`) the client's gradient
and upload and the server's attack on the simulated clock; the **costs**
(:mod:`~clustersim.federated.leakage.costs`) each defence's payload and the FLOPs of a gradient
and of a matching evaluation.

Checks: ``matching_gradient_matches_finite_differences`` (the matching loss's gradient against
central differences at the first dummy start), ``analytic_recovery_exact`` (the analytic
attack on the exact float64 gradient of one sample recovers it to rounding; its negative
control, a batch of two, does not), ``transmitted_equals_decoded`` (what the server attacks is
exactly what the encoder sent, float32-rounded: the sparse encodings decode losslessly).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.federated import kind as federated
from clustersim.federated.leakage import costs
from clustersim.federated.leakage.defences import Defence, defence_label
from clustersim.federated.leakage.kernels import (
    Params,
    SmoothMLP,
    analytic_input,
    gradients,
    init_params,
    matching,
)
from clustersim.federated.leakage.params import DefenceParams, LeakageParams
from clustersim.federated.leakage.plan import LeakagePlan
from clustersim.federated.leakage.process import Attempt, LeakageRun
from clustersim.federated.leakage.utility import fedsgd
from clustersim.federated.trainer import pooled
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, Work, WorkloadKind, check
from clustersim.kinds.validation import known_name
from clustersim.training.data_parallel.blas import single_threaded_blas

__all__ = [
    "KIND",
    "LeakageParams",
    "LeakagePlan",
    "analytic",
    "estimate",
    "numeric_events",
    "prepare",
    "simulate",
    "simulated_events",
]

_FD_STEP = 1e-6
_FD_COORDS = 8


def _devices(cluster: Cluster, params: LeakageParams) -> tuple[str, str]:
    tiers = {n: cluster.graph.nodes[n].get("tier") for n in cluster.ranks}
    if params.server is not None:
        server = known_name(params.server, cluster.devices, "workload.server device")
    else:
        server = "cloud" if "cloud" in cluster.devices else cluster.ranks[-1]
    if params.client is not None:
        client = known_name(params.client, cluster.devices, "workload.client device")
    else:
        devices = [n for n in cluster.ranks if tiers[n] == "device" and n != server]
        others = [n for n in cluster.ranks if n != server]
        if not others:
            raise InputError("workload.client: the cluster has no device besides the server")
        client = (devices or others)[0]
    if client == server:
        raise InputError(f"workload.client: {client!r} is the server (workload.server)")
    return client, server


def prepare(cluster: Cluster, params: LeakageParams) -> LeakagePlan:
    """Resolve the devices and the model; InputError for an attack the model does not allow."""
    client, server = _devices(cluster, params)
    ds = params.dataset
    if ds.name not in ("images", "strokes"):
        raise InputError(
            f"workload.dataset.name: the attacks reconstruct images; dataset {ds.name!r} is not "
            "one (use images or strokes)"
        )
    spec, att = params.model, params.attack
    if att.analytic and not spec.bias:
        raise InputError(
            f"workload.model.bias: attack.method {att.method!r} includes the analytic attack, "
            "which divides the first layer's weight gradient by its bias gradient (x = ∇W_i / "
            "∇b_i); a model without biases cannot be attacked that way (set bias: true or "
            "attack.method: dlg)"
        )
    if att.dlg and spec.activation == "relu":
        raise InputError(
            "workload.model.activation: DLG descends the gradient of the matching loss through "
            "the model's backward pass, which needs an activation with a non-zero second "
            "derivative; relu has none (Zhu et al. replace ReLU by sigmoid): use sigmoid or "
            "tanh, or attack.method: analytic"
        )
    features = int(np.prod(ds.input_shape))
    model = SmoothMLP((features, *spec.hidden, ds.class_count), spec.activation, spec.bias)
    labels = [defence_label(d) for d in params.defences]
    for i, label in enumerate(labels):
        if labels.count(label) > 1:
            labels[i] = f"{label} ({i})"
    sizes = [d.size if d.kind == "batch" else params.batch_size for d in params.defences]
    if params.utility is not None and ds.samples < params.utility.clients:
        raise InputError(
            f"workload.dataset.samples: {ds.samples} samples cannot give each of the "
            f"{params.utility.clients} utility clients one"
        )
    tensors: list[tuple[int, bool]] = []
    for w_shape, b_shape in model.shapes():
        tensors.append((math.prod(w_shape), True))
        if b_shape is not None:
            tensors.append((b_shape[0], False))
    return LeakagePlan(cluster, params, client, server, model, labels, sizes, tensors)


# ------------------------------------------------------------------------------ simulate
def _checks(
    plan: LeakagePlan, params: Params, x: np.ndarray, y: np.ndarray, attempts: list[Attempt]
) -> dict[str, dict[str, Any]]:
    """The kind's checks (see the module docstring) on the first target's data."""
    model = plan.model
    rng = plan.cluster.sim.rng("leakage.check")
    out: dict[str, dict[str, Any]] = {}
    batch = min(2, x.shape[0])
    target, _ = gradients(model, params, x[:batch], y[:batch])
    xd = rng.standard_normal((batch, model.sizes[0]))
    yd = rng.standard_normal((batch, model.sizes[-1]))
    _, gx, gy = matching(model, params, xd, yd, target)
    worst, scale = 0.0, max(float(np.abs(gx).max()), float(np.abs(gy).max()))
    picks = [("x", i) for i in rng.choice(xd.size, min(_FD_COORDS, xd.size), replace=False)]
    picks += [("y", i) for i in range(yd.size)]
    for which, i in picks:
        arr, grad = (xd, gx) if which == "x" else (yd, gy)
        flat = arr.reshape(-1)
        keep = flat[i]
        flat[i] = keep + _FD_STEP
        up = matching(model, params, xd, yd, target)[0]
        flat[i] = keep - _FD_STEP
        down = matching(model, params, xd, yd, target)[0]
        flat[i] = keep
        worst = max(worst, abs((up - down) / (2 * _FD_STEP) - float(grad.reshape(-1)[i])))
    # central differences: truncation O(eps²·D''') and rounding O(ulp(D)/eps)
    tolerance = 1e-5 * max(scale, 1.0)
    out["matching_gradient_matches_finite_differences"] = check(
        worst <= tolerance, max_abs_err=worst, tolerance=tolerance, coordinates=len(picks)
    )
    if model.bias:
        one, _ = gradients(model, params, x[:1], y[:1])
        err = float(np.abs(analytic_input(one) - x[0]).max())
        tol = 1e-12 * max(float(np.abs(x[0]).max()), 1.0)
        control = math.inf
        if x.shape[0] > 1:
            two, _ = gradients(model, params, x[:2], y[:2])
            control = float(np.abs(analytic_input(two)[None, :] - x[:2]).max(axis=1).min())
        out["analytic_recovery_exact"] = check(
            err <= tol < control,
            max_abs_err=err,
            tolerance=tol,
            control_batch=2,
            control_err=control if math.isfinite(control) else None,
        )
    err = max((a.sent.roundtrip_error for a in attempts if a.sent is not None), default=0.0)
    out["transmitted_equals_decoded"] = check(
        err == 0.0, max_abs_err=err, transmissions=len(attempts)
    )
    return out


def _utility(
    plan: LeakagePlan,
    params: Params,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
) -> tuple[list[float], float]:
    """Final FedSGD accuracy under every defence, and without any."""
    u = plan.params.utility
    assert u is not None
    rng = plan.cluster.sim.rng
    x, y = train
    parts = [(x[i :: u.clients], y[i :: u.clients]) for i in range(u.clients)]

    def run(spec: Any, label: str, batch: int) -> float:
        encoders = [
            Defence(spec, plan.model, rng(f"leakage.utility.{label}.{k}"), encode=False)
            for k in range(u.clients)
        ]
        acc, _ = fedsgd(
            plan.model, params, parts, test, encoders, rounds=u.rounds, lr=u.lr, batch=batch,
            rng=rng("leakage.utility.batches"),
        )  # fmt: skip
        return acc

    base = u.batch_size or plan.params.batch_size
    none = DefenceParams(kind="none")
    accuracies = [
        run(spec, label, spec.size if spec.kind == "batch" else base)
        for spec, label in zip(plan.params.defences, plan.labels, strict=True)
    ]
    return accuracies, run(none, "undefended", base)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def simulate(plan: LeakagePlan) -> Outcome:
    """Send and attack every defended gradient; price the defences; check the numerics."""
    p, sim = plan.params, plan.cluster.sim
    ds = p.dataset
    victims = p.targets * plan.block
    with single_threaded_blas():
        train, test, private = pooled(ds, sim.rng, [ds.samples, ds.test_samples, victims])
        params = init_params(plan.model, sim.rng("leakage.init"))
        xp, yp = private

        def batches(d: int, j: int) -> tuple[np.ndarray, np.ndarray]:
            a = j * plan.block
            return xp[a : a + plan.batch_sizes[d]], yp[a : a + plan.batch_sizes[d]]

        run = LeakageRun(plan, params, batches, sim.rng)
        run.start()
        sim.run()
        checks = (
            _checks(plan, params, xp[: plan.block], yp[: plan.block], run.attempts)
            if p.verify
            else {}
        )
        utility = _utility(plan, params, train, test) if p.utility is not None else None
    metrics = _metrics(plan, run.attempts)
    if utility is not None:
        accuracies, undefended = utility
        metrics["accuracy"] = _per(plan, accuracies)
        metrics["accuracy_undefended"] = undefended
        metrics["accuracy_cost"] = _per(plan, [undefended - a for a in accuracies])
    metrics.update(plan.cluster.standard_metrics())
    return Outcome(metrics=metrics, checks=checks)


def _per(plan: LeakagePlan, values: list[Any]) -> dict[str, Any]:
    """A per-defence metric: defence label -> value."""
    return dict(zip(plan.labels, values, strict=True))


def _metrics(plan: LeakagePlan, attempts: list[Attempt]) -> dict[str, Any]:
    p = plan.params
    by = [[a for a in attempts if a.defence == d] for d in range(len(p.defences))]
    leak = p.attack.leak_psnr_db

    def per(values: list[Any]) -> dict[str, Any]:
        return _per(plan, values)

    out: dict[str, Any] = {
        "defences": plan.labels,
        "batch_size": per(plan.batch_sizes),
        "targets": p.targets,
        "model_parameters": plan.model.parameters,
        "payload_bytes": per([_mean([a.sent.payload_bytes for a in g if a.sent]) for g in by]),
        "gradient_time_s": per([_mean([a.upload_start - a.start for a in g]) for g in by]),
        "upload_time_s": per([_mean([a.arrived - a.upload_start for a in g]) for g in by]),
        "attack_time_s": per([_mean([a.attack_end - a.attack_start for a in g]) for g in by]),
        "time_s": plan.cluster.sim.now,
    }
    first = [next(a for a in g if a.target == 0) for g in by]
    if p.images:
        out["image_shape"] = list(p.dataset.input_shape)
        out["original_image"] = first[0].x[0].tolist()
    for name in ("analytic", "dlg"):
        scores = [[getattr(a, f"{name}_score") for a in g] for g in by]
        if any(s is None for row in scores for s in row):
            continue
        out[f"{name}_mse"] = per([_mean([s.mse for s in row]) for row in scores])
        out[f"{name}_psnr_db"] = per([_mean([s.psnr_db for s in row]) for row in scores])
        out[f"{name}_label_rate"] = per([_mean([s.label_rate for s in row]) for row in scores])
        out[f"{name}_leaked_fraction"] = per(
            [_mean([float(s.psnr_db >= leak) for s in row]) for row in scores]
        )
        if p.images:
            images = []
            for a in first:
                recon, score = getattr(a, name), getattr(a, f"{name}_score")
                # the reconstruction paired with the first private sample (or the only one)
                pos = np.flatnonzero(score.order == 0)
                images.append(recon.x[int(pos[0]) if pos.size else 0].tolist())
            out[f"{name}_images"] = per(images)
    if all(a.dlg is not None for a in attempts):
        dlg = [[a.dlg for a in g if a.dlg is not None] for g in by]
        out["dlg_iterations"] = per([_mean([r.iterations for r in g]) for g in dlg])
        out["dlg_evaluations"] = per([_mean([r.evaluations for r in g]) for g in dlg])
        out["dlg_matching_loss"] = per([_mean([r.matching_loss for r in g]) for g in dlg])
        if p.images:
            out["dlg_loss_history"] = per([a.dlg.history for a in first if a.dlg is not None])
    return out


# ------------------------------------------------------------------------------ analytic
def analytic(plan: LeakagePlan) -> dict[str, Any]:
    """Each defence's payload, its upload alone on the path, and the client's gradient time."""
    cluster = plan.cluster
    net = cluster.network
    pattern = net.pattern(
        np.array([net.node_index(plan.client)]), np.array([net.node_index(plan.server)])
    )
    latency, bandwidth = float(pattern.latency[0]), float(pattern.bottleneck[0])
    device = cluster.devices[plan.client]
    payload = [costs.payload_bytes(spec, plan.tensors) for spec in plan.params.defences]
    sizes = plan.model.sizes
    return {
        "payload_bytes": _per(plan, payload),
        "upload_time_s": _per(plan, [costs.transfer_time(latency, b, bandwidth) for b in payload]),
        "gradient_time_s": _per(
            plan,
            [
                device.compute_time(
                    costs.gradient_flops(sizes, b),
                    costs.gradient_bytes(sizes),
                    kernels=costs.gradient_kernels(sizes),
                )
                for b in plan.batch_sizes
            ],
        ),
    }


# ------------------------------------------------------------------------------ estimate
_ATTEMPT_EVENTS = 6
"""SimPy events of one attempt (one defence on one target): the client's gradient compute
(request, timeout), the upload (flow start and end), the server's inbox put and get and its
attack's compute timeout (measured: 114 events for the 20 attempts of
``scenarios/federated_leakage.yaml``)."""
_DLG_EVALUATIONS = 2
"""Matching-loss evaluations per L-BFGS iteration: one, plus the line search's extra tries."""
_MATCHING_STEPS = 3
"""A matching evaluation's cost in SGD steps: the model's gradient, then the gradient of the
gradient distance through the backward pass (a second backward, about twice the first)."""


def simulated_events(plan: LeakagePlan) -> int:
    """SimPy events: every defence's every target is one gradient, upload and attack."""
    return len(plan.params.defences) * plan.params.targets * _ATTEMPT_EVENTS + 10


def numeric_events(plan: LeakagePlan) -> int:
    """Event-equivalents of the numpy work (see :func:`clustersim.federated.kind.numeric_events`
    for the conversion): the DLG attack's L-BFGS iterations, each a couple of matching
    evaluations of about three gradient steps, on every defence's every target; and the utility
    runs, FedSGD for ``utility.rounds`` rounds under each defence and undefended (one batched
    gradient and one encoding per client a round)."""
    p = plan.params
    params = plan.model.parameters
    flops_per_sample = 6.0 * params  # a forward and a backward of the MLP
    work = 0.0
    if p.attack.dlg:
        for b in plan.batch_sizes:
            step = federated.STEP_EVENTS + b * flops_per_sample / federated.FLOPS_PER_EVENT
            work += p.targets * p.attack.iterations * _DLG_EVALUATIONS * _MATCHING_STEPS * step
    u = p.utility
    if u is not None:
        runs = len(p.defences) + 1
        batch = u.batch_size or p.batch_size
        per_round = federated.STEP_EVENTS * (1 + u.clients)
        per_round += u.clients * batch * flops_per_sample / federated.FLOPS_PER_EVENT
        work += runs * u.rounds * per_round
    return int(work)


def replay_bytes(plan: LeakagePlan) -> float:
    """Bytes of arrays held at once: the drawn data (training, test and private samples,
    float64 features and a label), the model's weights and a gradient per target and defence
    (the attempts keep what was sent), and the L-BFGS history of one attack (``memory`` pairs
    of the dummy batch's inputs and labels)."""
    p = plan.params
    features = plan.model.sizes[0]
    classes = plan.model.sizes[-1]
    samples = p.dataset.samples + p.dataset.test_samples + p.targets * plan.block
    attempts = len(p.defences) * p.targets
    dummy = plan.block * (features + classes)
    lbfgs = 2 * p.attack.memory * dummy if p.attack.dlg else 0
    kept = attempts * (plan.model.parameters + 4 * dummy)
    return 8.0 * (samples * (features + 1) + plan.model.parameters + kept + lbfgs)


def estimate(plan: LeakagePlan) -> Work:
    """Events (SimPy events plus the attacks' and utility runs' numpy work in event-equivalents)
    and the arrays held."""
    return Work(
        simulated_events(plan) + numeric_events(plan),
        replay_bytes(plan),
        knob="workload.attack.iterations (or workload.targets, workload.utility.rounds)",
        memory_knob="workload.dataset.samples",
    )


def _details() -> list[str]:
    return [
        "analytic: x = ∇W_1[:, i] / ∇b_1[i] (first FC layer with bias, batch 1) [Phong et al. "
        "2018]; label = argmin of the last layer's bias gradient [iDLG, Zhao et al. 2020]",
        "dlg: min_{x', y'} Σ_l ‖∇W_l(x', softmax(y')) - ∇W_l‖² by L-BFGS [Zhu et al. 2019, "
        "Alg. 1; Nocedal & Wright Alg. 7.4]",
        "defences: prune, noise, fp16, int8, batch, dgc, terngrad; PSNR = 10 log10(range² / MSE)",
    ]


KIND = WorkloadKind(
    name="leakage",
    description="gradient leakage: the analytic and DLG attacks on what a federated client "
    "transmits, against pruning, noise, quantisation, larger batches, DGC and TernGrad",
    params=LeakageParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
