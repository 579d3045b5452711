"""The ``federated`` workload kind: federated learning on the simulated clock.

A server (the cloud, an edge server, any device) and ``K`` clients (Raspberry Pis, Jetsons,
phones: whatever devices and links the topology gives them) train one model in rounds
(McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data",
AISTATS 2017, Algorithm 1; the lecture notes' federated-learning slides): the server selects
``m`` clients, sends them the model, each trains ``E`` local epochs of minibatch SGD on its own
data and uploads its update, and the server aggregates. The numerics are real (numpy models of
:mod:`clustersim.nn`, :mod:`clustersim.federated.models`: logistic regression, MLPs, a small
CNN, trained on data drawn from the seed) and every download, local epoch and upload takes the
time its device and link give it.

Three views (docs/architecture.md §1):

* **kernel** (:mod:`~clustersim.federated.kernels`, :mod:`~clustersim.federated.trainer`):
  local SGD of every client of a round (with FedProx's proximal term), the aggregation rules
  (:mod:`~clustersim.federated.aggregation`), the partitions
  (:mod:`~clustersim.federated.partition`) and data sets (:mod:`~clustersim.federated.datasets`),
  and the checks ``partition_complete``, ``aggregate_is_weighted_mean``, ``fedavg_equals_sgd``
  and ``fedprox_mu0_equals_fedavg``.
* **process** (:mod:`~clustersim.federated.process`): one server process and one process per
  selected client per round; transfers on the flow network, local training on the device
  roofline, availability, deadlines, stragglers, packet loss and lost or corrupted updates
  (:mod:`~clustersim.federated.channel`).
* **cost** (:mod:`~clustersim.federated.costs`): :func:`analytic`, the contention-free round of
  the straggler: per client ``T_k`` = download + local epochs + upload alone on its path, and
  the expected largest ``T_k`` of a uniform selection.

Per-client systems: devices come from the topology (``cluster.devices`` and the presets of
``edge_cloud`` or ``custom`` nodes), with ``slowdown`` on top (a distribution drawn once per
client, a list or a table); ``network.bandwidth`` replaces each client's access-link bandwidth
(a rate, a distribution, a list or a table): :func:`prepare` then builds the run's cluster on a
copy of the topology with those links changed. Clients on one Wi-Fi access point share its
airtime (the shared medium of the Wi-Fi presets), so their transfers slow each other down.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.federated import costs
from clustersim.federated.heterofl import WidthPlan, assign_rates, sub_models
from clustersim.federated.models import FederatedModel, build_model
from clustersim.federated.params import FederatedParams, RateDistribution
from clustersim.federated.plan import FederatedPlan
from clustersim.federated.process import STATUSES, FederatedRun, Selector
from clustersim.federated.selection import clients_per_round
from clustersim.federated.trainer import (
    FederatedTrainer,
    TrainingSetup,
    client_data,
    client_sizes,
)
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.graph import Graph
from clustersim.kinds.contract import Outcome, Work, WorkloadKind
from clustersim.kinds.validation import known_name, rank_list
from clustersim.training.data_parallel.blas import single_threaded_blas
from clustersim.training.parameter_server.params import StragglerDistribution

__all__ = [
    "KIND",
    "FederatedParams",
    "FederatedPlan",
    "analytic",
    "client_round_times",
    "estimate",
    "numeric_events",
    "prepare",
    "replay_bytes",
    "run",
    "simulate",
    "simulated_events",
]

_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")
_BASELINE_METRICS = (
    "final_accuracy",
    "final_loss",
    "accuracy_curve",
    "loss_curve",
    "time_curve_s",
    "time_s",
    "rounds_to_target",
    "time_to_target_s",
    "bytes_up_total",
    "updates_reported",
)


# ------------------------------------------------------------------------------- prepare
def _server(cluster: Cluster, params: FederatedParams) -> str:
    if params.server is not None:
        known_name(params.server, cluster.devices, "workload.server device")
        return params.server
    return "cloud" if "cloud" in cluster.devices else cluster.ranks[0]


def _clients(cluster: Cluster, params: FederatedParams, server: str) -> list[str]:
    tiers = {n: cluster.graph.nodes[n].get("tier") for n in cluster.ranks}
    if any(t is not None for t in tiers.values()):
        candidates = [n for n in cluster.ranks if tiers[n] == "device" and n != server]
    else:
        candidates = [n for n in cluster.ranks if n != server]
    chosen = params.clients
    if chosen is None:
        names = candidates
    elif isinstance(chosen, int):
        if chosen > len(candidates):
            raise InputError(
                f"workload.clients: {chosen} clients, but the cluster has only "
                f"{len(candidates)} client devices ({', '.join(candidates[:6])}"
                f"{' ...' if len(candidates) > 6 else ''})"
            )
        names = candidates[:chosen]
    else:
        names = rank_list(chosen, cluster.devices, "workload.clients", noun="client")
        if server in names:
            raise InputError(f"workload.clients: {server!r} is the server, not a client")
    if not names:
        raise InputError("workload.clients: the cluster has no client devices")
    return list(names)


def _check_partition(params: FederatedParams, clients: int) -> None:
    """The partition's arithmetic against the client count."""
    part, ds = params.resolved_partition, params.dataset
    if part.kind == "natural":
        return
    if ds.samples < clients:
        raise InputError(
            f"workload.dataset.samples: {ds.samples} samples cannot give each of {clients} "
            "clients one"
        )
    if part.kind == "shards":
        count = part.shards if part.shards is not None else clients * part.shards_per_client
        if part.shards is not None and ds.samples % count:
            raise InputError(
                f"workload.partition.shards: {count} shards do not divide the {ds.samples} "
                "samples; expected a divisor of workload.dataset.samples"
            )
        if count != clients * part.shards_per_client:
            raise InputError(
                f"workload.partition.shards: {count} shards cannot be dealt "
                f"{part.shards_per_client} per client to {clients} clients; expected "
                f"{clients * part.shards_per_client}"
            )
        if ds.samples % count:
            raise InputError(
                f"workload.partition: {count} shards ({clients} clients x "
                f"{part.shards_per_client}) do not divide the {ds.samples} samples"
            )
    if part.kind == "classes":
        per, count = part.classes_per_client, clients * part.classes_per_client
        if per > ds.classes:
            raise InputError(
                f"workload.partition.classes_per_client: {per} exceeds the {ds.classes} classes"
            )
        if ds.samples % count or count % ds.classes:
            raise InputError(
                f"workload.partition: the {ds.samples} label-sorted samples must cut into "
                f"{count} pieces ({clients} clients x {per}) of one class each: expected "
                f"samples divisible by {count} and {count} divisible by the {ds.classes} classes"
            )


def _per_client(
    value: Any, clients: list[str], field_name: str, rng: np.random.Generator
) -> np.ndarray:
    """A per-client value (number, list, table, distribution) as one float per client."""
    k = len(clients)
    if isinstance(value, (RateDistribution, StragglerDistribution)):
        return value.draw(rng, k) if isinstance(value, RateDistribution) else value.draw(rng, (k,))
    if isinstance(value, list):
        if len(value) != k:
            raise InputError(
                f"{field_name}: the list has {len(value)} values for {k} clients; expected one "
                "per client"
            )
        return np.array(value, dtype=float)
    if isinstance(value, dict):
        for name in value:
            if name not in clients:
                known_name(name, clients, f"{field_name} client")
        return np.array([value.get(name, math.nan) for name in clients], dtype=float)
    return np.full(k, float(value))


def _access_link(graph: Graph, client: str) -> tuple[str, str]:
    near = list(graph.neighbors(client))
    if len(near) != 1:
        raise InputError(
            f"workload.network.bandwidth: client {client!r} has {len(near)} links; a per-client "
            "bandwidth needs exactly one access link per client"
        )
    return client, near[0]


def _variant(
    cluster: Cluster, clients: list[str], bandwidth: np.ndarray | None, slowdown: np.ndarray | None
) -> Cluster:
    """The run's cluster: the topology with the clients' access links and slowdowns changed."""
    if bandwidth is None and slowdown is None:
        return cluster
    graph = Graph()
    graph.graph.update(
        {k: (dict(v) if isinstance(v, dict) else v) for k, v in cluster.graph.graph.items()}
    )
    for name, attrs in cluster.graph.nodes(data=True):
        graph.add_node(name, **attrs)
    for a, b, attrs in cluster.graph.edges(data=True):
        graph.add_edge(a, b, **attrs)
    if bandwidth is not None:
        for name, rate in zip(clients, bandwidth.tolist(), strict=True):
            if not math.isnan(rate):
                a, b = _access_link(graph, name)
                graph.edges[a, b]["bandwidth"] = rate
    specs = {n: d.spec for n, d in cluster.devices.items()}
    factors = {n: d.slowdown for n, d in cluster.devices.items()}
    if slowdown is not None:
        for name, factor in zip(clients, slowdown.tolist(), strict=True):
            if not math.isnan(factor):
                factors[name] *= factor
    return Cluster(cluster.sim, graph, next(iter(specs.values())), specs=specs, slowdowns=factors)


def _fedsgd_regime(params: FederatedParams, m: int, clients: int, sizes: np.ndarray) -> bool:
    """One full-batch local step per round with every client reporting: FedSGD."""
    av, err = params.availability, params.errors
    return (
        params.algorithm in ("fedavg", "fedprox")
        and params.local_epochs == 1
        and (params.batch_size is None or params.batch_size >= int(sizes.max()))
        and m == clients
        and params.stragglers == 0
        and av.offline_probability == 0
        and av.dropout_probability == 0
        and not av.offline
        and params.deadline is None
        and err.update_loss == 0
        and err.bit_error_rate == 0
        and (params.aggregation == "weighted" or bool((sizes == sizes[0]).all()))
    )


def _widths(
    cluster: Cluster,
    params: FederatedParams,
    clients: list[str],
    sizes: np.ndarray,
    model: FederatedModel,
) -> WidthPlan | None:
    """HeteroFL's rates (given, or from each client's device) and sub-models; None otherwise."""
    spec = params.width
    if spec is None:
        return None
    ds = params.dataset
    levels = sorted(set(spec.levels), reverse=True)
    if spec.rates == "auto":
        rates = _auto_rates(cluster, params, clients, sizes, model, levels)
    else:
        rates = _per_client(
            spec.rates, clients, "workload.heterofl.rates", cluster.sim.rng("federated.rates")
        )
        rates = np.where(np.isnan(rates), 1.0, rates)
    evaluated = tuple(sorted(set(levels) | set(rates.tolist()), reverse=True))
    # rates 1 and 1/2 for the check heterofl_all_full_equals_fedavg and its control
    needed = set(evaluated) | {1.0, 0.5}
    models = sub_models(params.model, ds.input_shape, ds.class_count, needed, model.layout)
    return WidthPlan(rates=rates, models=models, evaluated=evaluated)


def _auto_rates(
    cluster: Cluster,
    params: FederatedParams,
    clients: list[str],
    sizes: np.ndarray,
    model: FederatedModel,
    levels: list[float],
) -> np.ndarray:
    """Rates from capability: each client's roofline time of every level's local training
    against the budget, and every level's training footprint against its memory."""
    spec = params.width
    assert spec is not None
    ds, itemsize, epochs = params.dataset, params.wire_dtype.itemsize, params.local_epochs
    batch = params.batch_size
    subs = sub_models(params.model, ds.input_shape, ds.class_count, levels, model.layout)
    profiles = [subs[r].model.costs(params.dtype) for r in levels]

    def seconds(name: str, layers: list[Any], n: int) -> float:
        flops, moved = costs.local_work(layers, n, batch, itemsize, proximal=False)
        kernels = costs.local_kernels(layers, n, batch)
        return cluster.devices[name].compute_time(
            flops * epochs, moved * epochs, kernels=kernels * epochs
        )

    times = np.array(
        [
            [seconds(c, layers, int(n)) for layers in profiles]
            for c, n in zip(clients, sizes, strict=True)
        ]
    )
    full = model.costs(params.dtype)
    budget = spec.compute_budget
    if budget is None:
        budget = min(seconds(c, full, int(n)) for c, n in zip(clients, sizes, strict=True))
    need = np.array(
        [costs.training_memory(layers, int(batch or sizes.max()), itemsize) for layers in profiles]
    )
    memory = np.array([cluster.devices[c].spec.memory * spec.memory_fraction for c in clients])
    rates = assign_rates(times, need, memory, levels, budget)
    for name, rate, room in zip(clients, rates.tolist(), memory.tolist(), strict=True):
        if rate < 0:
            raise InputError(
                f"workload.heterofl: client {name!r} may use {room:.6g} bytes "
                f"(memory_fraction {spec.memory_fraction} of its memory), less than the "
                f"{need.min():.6g} bytes training the smallest level ({min(levels)}) needs"
            )
    return rates


def prepare(cluster: Cluster, params: FederatedParams) -> FederatedPlan:
    """Resolve the server, clients, sizes, per-client systems; InputError on what cannot run."""
    server = _server(cluster, params)
    clients = _clients(cluster, params, server)
    k = len(clients)
    m = clients_per_round(params.clients_per_round, params.fraction, k)
    if m > k:
        raise InputError(
            f"workload.clients_per_round: {m} clients per round, but there are only {k} clients"
        )
    _check_partition(params, k)
    for label in params.compare:
        if not _LABEL.match(label):
            raise InputError(
                f"workload.compare: label {label!r} must be lower-case letters, digits and _"
            )
    for name in params.availability.offline:
        if name not in clients:
            known_name(name, clients, "workload.availability.offline client")
    own, sizes = client_sizes(
        params.dataset,
        params.resolved_partition,
        params.sharing,
        k,
        cluster.sim.rng("federated.sizes"),
    )
    net = params.network
    bandwidth = (
        _per_client(
            net.bandwidth,
            clients,
            "workload.network.bandwidth",
            cluster.sim.rng("federated.bandwidth"),
        )
        if net.bandwidth is not None
        else None
    )
    slowdown = (
        _per_client(
            params.slowdown, clients, "workload.slowdown", cluster.sim.rng("federated.slowdown")
        )
        if params.slowdown is not None
        else None
    )
    loss = _per_client(
        net.packet_loss, clients, "workload.network.packet_loss", cluster.sim.rng("federated.loss")
    )
    loss = np.nan_to_num(loss, nan=0.0)
    run_cluster = _variant(cluster, clients, bandwidth, slowdown)
    ds = params.dataset
    model = build_model(params.model, ds.input_shape, ds.class_count, np.random.default_rng(0))
    layers = model.costs(params.dtype)
    itemsize = params.wire_dtype.itemsize
    prox = params.algorithm == "fedprox"
    widths = _widths(run_cluster, params, clients, sizes, model)
    if widths is None:
        work = [
            costs.local_work(layers, int(n), params.batch_size, itemsize, proximal=prox)
            for n in sizes
        ]
        launches = [costs.local_kernels(layers, int(n), params.batch_size) for n in sizes]
        client_parameters = np.full(k, model.parameters, dtype=np.int64)
    else:
        work = [
            costs.local_work(
                widths.of(i).model.costs(params.dtype), int(n), params.batch_size, itemsize,
                proximal=False,
            )
            for i, n in enumerate(sizes.tolist())
        ]  # fmt: skip
        launches = [
            costs.local_kernels(widths.of(i).model.costs(params.dtype), int(n), params.batch_size)
            for i, n in enumerate(sizes.tolist())
        ]
        client_parameters = np.array([widths.of(i).parameters for i in range(k)], dtype=np.int64)
    offline = [
        [(float(a), float(b)) for a, b in params.availability.offline.get(name, [])]
        for name in clients
    ]
    plan = FederatedPlan(
        cluster=run_cluster,
        base=cluster,
        params=params,
        server=server,
        clients=clients,
        m=m,
        own_sizes=own,
        sizes=sizes,
        parameters=model.parameters,
        model_bytes=costs.model_bytes(model.parameters, itemsize),
        client_parameters=client_parameters,
        client_bytes=client_parameters.astype(float) * itemsize,
        epoch_work=work,
        epoch_kernels=launches,
        packet_loss=loss,
        offline=offline,
        shadow=_fedsgd_regime(params, m, k, sizes),
        widths=widths,
    )
    for label in params.compare:
        try:
            prepare(cluster, params.baseline(label))
        except InputError as exc:
            raise InputError(f"workload.compare.{label}: {exc}") from None
    return plan


# ------------------------------------------------------------------------------ simulate
def _trainer(plan: FederatedPlan) -> FederatedTrainer:
    """The numpy side: data, partition, model, and the training setup of the workload."""
    p = plan.params
    rng = plan.cluster.sim.rng
    data = client_data(p.dataset, p.resolved_partition, p.sharing, plan.own_sizes, rng)
    assert [part.size for part in data.parts] == plan.sizes.tolist()
    setup = TrainingSetup(
        lr=p.lr,
        batch=p.batch_size,
        epochs=p.local_epochs,
        objective=p.objective,
        mu=p.mu,
        aggregation=p.aggregation,
        verify=p.verify,
        shadow=plan.shadow and p.verify,
        centralized=p.centralized,
        warmup_epochs=p.sharing.warmup_epochs if p.sharing is not None else 0,
        widths=plan.widths,
        threshold=None if p.relevance is None else (p.relevance.threshold, p.relevance.end),
        rounds=p.rounds,
        masked=p.width is not None and p.width.masked,
    )
    ds = p.dataset
    model = build_model(p.model, ds.input_shape, ds.class_count, rng("federated.init"))
    return FederatedTrainer(data, model, setup, rng)


def _phase_means(run: FederatedRun) -> dict[str, list[float]]:
    """Per round, the mean over the selected clients of the time each spent downloading,
    computing, uploading and waiting (each clipped to the round), and the aggregation."""
    out: dict[str, list[float]] = {
        "round_download_s": [],
        "round_compute_s": [],
        "round_upload_s": [],
        "round_waiting_s": [],
        "round_aggregate_s": [],
    }
    for r in run.rounds:
        phases = np.zeros((max(len(r.clients), 1), 4))
        for i, c in enumerate(r.clients):
            marks = [c.start, c.download_end, c.compute_end, c.upload_end]
            last = c.start
            for j in range(3):
                a, b = marks[j], marks[j + 1]
                if a is not None and b is not None:
                    phases[i, j] = max(0.0, min(b, r.close) - min(a, r.close))
                    last = min(b, r.close)
            end = r.close if c.end is None else min(c.end, r.close)
            phases[i, 3] = r.close - max(end, last)
        means = phases.mean(axis=0) if r.clients else np.zeros(4)
        for key, value in zip(list(out)[:4], means.tolist(), strict=True):
            out[key].append(value)
        out["round_aggregate_s"].append(r.end - r.close)
    return out


def _training_metrics(run: FederatedRun, trainer: FederatedTrainer) -> dict[str, Any]:
    p = run.params
    evaluated = [r for r in run.rounds if r.evaluation is not None]
    accuracy = [r.evaluation[0] for r in evaluated if r.evaluation]
    loss = [r.evaluation[1] for r in evaluated if r.evaluation]
    metrics: dict[str, Any] = {
        "eval_rounds": [r.index + 1 for r in evaluated],
        "accuracy_curve": accuracy,
        "loss_curve": loss,
        "final_accuracy": accuracy[-1],
        "final_loss": loss[-1],
    }
    if p.target_accuracy is not None:
        hit = next(
            (r for r in evaluated if r.evaluation and r.evaluation[0] >= p.target_accuracy), None
        )
        metrics["rounds_to_target"] = None if hit is None else hit.index + 1
        metrics["time_to_target_s"] = None if hit is None else hit.end
    if trainer.central is not None:
        metrics["weight_divergence_curve"] = [r.divergence for r in evaluated]
        metrics["weight_divergence"] = evaluated[-1].divergence
        metrics["centralized_accuracy"] = trainer.evaluate(trainer.central)[0]
    return metrics


def _width_metrics(plan: FederatedPlan, trainer: FederatedTrainer | None) -> dict[str, Any]:
    """HeteroFL: every client's rate and sub-model, the measured size and work of every
    evaluated width against the full model's, and (trained) each width's accuracy."""
    widths = plan.widths
    assert widths is not None
    p = plan.params
    ds = p.dataset
    full = build_model(p.model, ds.input_shape, ds.class_count, np.random.default_rng(0))
    full_flops = float(sum(layer.flops for layer in full.costs(p.dtype)))
    levels = list(widths.evaluated)
    out: dict[str, Any] = {
        "client_rate": widths.rates.tolist(),
        "client_parameters": plan.client_parameters.tolist(),
        "client_bytes": plan.client_bytes.tolist(),
        "client_epoch_flops": [w[0] for w in plan.epoch_work],
        "width_levels": levels,
        "width_parameters": [widths.models[r].parameters for r in levels],
        "width_parameter_fraction": [widths.models[r].parameters / plan.parameters for r in levels],
        "width_flop_fraction": [
            sum(layer.flops for layer in widths.models[r].model.costs(p.dtype)) / full_flops
            for r in levels
        ],
        "width_clients": [int(np.count_nonzero(widths.rates == r)) for r in levels],
    }
    if trainer is not None:
        out["width_accuracy"] = trainer.evaluate_widths()
    return out


def _relevance_metrics(
    plan: FederatedPlan, run: FederatedRun, trainer: FederatedTrainer
) -> dict[str, Any]:
    """CMFL: uploads skipped, the bytes they would have cost, the relevance and threshold of
    every round."""
    skipped = [c for r in run.rounds for c in r.clients if c.status == "skipped"]
    trained = sum(1 for r in run.rounds for c in r.clients if c.compute_end is not None)
    wire = _wire_bytes(plan)
    return {
        "uploads_skipped": len(skipped),
        "uploads_skipped_fraction": len(skipped) / trained if trained else 0.0,
        "bytes_saved": float(sum(wire[c.client] for c in skipped)),
        "relevance_mean_curve": [float(np.mean(r)) if r else None for r in trainer.relevances],
        "threshold_curve": [trainer.threshold(t) for t in range(plan.params.rounds)],
    }


def run(
    plan: FederatedPlan, selector: Selector | None = None
) -> tuple[dict[str, Any], dict[str, Any], FederatedRun]:
    """Simulate ``plan`` from t=0 on its cluster: (metrics, checks, the run).

    ``selector`` (see :class:`~clustersim.federated.process.FederatedRun`) replaces the
    selection rule: the ``fedmarl`` kind's agents choose the clients through it.
    """
    p, cluster = plan.params, plan.cluster
    # corrupted updates may overflow; the checks report non-finite numbers, not warnings
    with single_threaded_blas(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        trainer = _trainer(plan) if p.train else None
        fed = FederatedRun(plan, trainer, selector)
        fed.start()
        cluster.sim.run()
        checks = trainer.checks() if trainer is not None else {}
    fed.trace()
    net = cluster.network
    senders = net.node_bytes_sent
    client_idx = cluster.rank_indices(plan.clients)
    statuses = {s: 0 for s in STATUSES}
    if p.relevance is not None:
        statuses["skipped"] = 0
    corrupted_used = 0
    for r in fed.rounds:
        for c in r.clients:
            statuses[c.status] = statuses.get(c.status, 0) + 1
            corrupted_used += int(c.corrupted)
    rounds = [r.end - r.start for r in fed.rounds]
    metrics: dict[str, Any] = {
        "rounds": p.rounds,
        "clients": len(plan.clients),
        "clients_per_round": plan.m,
        "model_parameters": plan.parameters,
        "model_bytes": plan.model_bytes,
        "time_s": fed.rounds[-1].end,
        "time_curve_s": [r.end for r in fed.rounds],
        "round_time_s": rounds,
        "round_time_mean_s": float(np.mean(rounds)),
        **_phase_means(fed),
        "bytes_down_total": float(senders[net.node_index(plan.server)]),
        "bytes_up_total": float(senders[client_idx].sum()),
        "participation_per_client": fed.reported.tolist(),
        "selected_per_client": fed.selected.tolist(),
        **{f"updates_{s}": n for s, n in statuses.items()},
        "updates_corrupted_used": corrupted_used,
    }
    if plan.widths is not None:
        metrics.update(_width_metrics(plan, trainer))
    if trainer is not None:
        metrics.update(_training_metrics(fed, trainer))
        if p.relevance is not None:
            metrics.update(_relevance_metrics(plan, fed, trainer))
    metrics.update(cluster.standard_metrics())
    return metrics, checks, fed


def simulate(plan: FederatedPlan) -> Outcome:
    """Run the rounds (and every baseline of ``compare`` on a fresh copy of the cluster)."""
    metrics, checks, _ = run(plan)
    for label in plan.params.compare:
        baseline = prepare(plan.base.fresh(), plan.params.baseline(label))
        other, _, _ = run(baseline)
        metrics.update({f"{label}_{k}": other[k] for k in _BASELINE_METRICS if k in other})
    return Outcome(metrics=metrics, checks=checks)


# ------------------------------------------------------------------------------ analytic
def _wire_bytes(plan: FederatedPlan) -> np.ndarray:
    """Each client's expected bytes on the wire per transfer of its model (or update)."""
    packet = plan.params.network.packet_size
    return np.array(
        [
            costs.expected_wire_bytes(float(size), float(loss), packet)
            for size, loss in zip(
                plan.client_bytes.tolist(), plan.packet_loss.tolist(), strict=True
            )
        ]
    )


def client_round_times(plan: FederatedPlan) -> np.ndarray:
    """Every client's contention-free round: download, its local epochs, upload."""
    p, cluster = plan.params, plan.cluster
    net = cluster.network
    server = net.node_index(plan.server)
    ids = cluster.rank_indices(plan.clients)
    down = net.pattern(np.full(ids.size, server), ids)
    up = net.pattern(ids, np.full(ids.size, server))
    wire = _wire_bytes(plan)
    out = np.empty(ids.size)
    for i, name in enumerate(plan.clients):
        flops, moved = plan.epoch_work[i]
        compute = cluster.devices[name].compute_time(
            flops * p.local_epochs,
            moved * p.local_epochs,
            kernels=plan.epoch_kernels[i] * p.local_epochs,
        )
        out[i] = (
            costs.transfer_time(float(down.latency[i]), wire[i], float(down.bottleneck[i]))
            + compute
            + costs.transfer_time(float(up.latency[i]), wire[i], float(up.bottleneck[i]))
        )
    return out


def analytic(plan: FederatedPlan) -> dict[str, Any]:
    """The contention-free straggler-bound round (see :mod:`clustersim.federated.costs`).

    Assumes every selected client does all ``E`` epochs and reports (no stragglers, dropouts,
    or lost updates) and the selection is uniform; the bytes are expectations under packet loss.
    HeteroFL's clients move and train their own sub-models (their bytes and roofline times are
    per client); CMFL's prediction is FedAvg's, an upper bound on its uploads.
    """
    p = plan.params
    times = client_round_times(plan)
    # a uniform selection aggregates m clients' (sub-)models on average
    aggregated = plan.m * float(plan.client_parameters.mean())
    aggregate = plan.cluster.devices[plan.server].compute_time(
        2.0 * aggregated,
        (aggregated + plan.parameters) * p.wire_dtype.itemsize,
        kernels=costs.AGGREGATE_KERNELS,
    )
    round_time = costs.expected_round_time(times, plan.m, p.deadline) + aggregate
    wire = _wire_bytes(plan)
    per_round = plan.m * float(wire.mean())
    return {
        "model_bytes": plan.model_bytes,
        "round_time_mean_s": round_time,
        "time_s": p.rounds * round_time,
        "bytes_down_total": p.rounds * per_round,
        "bytes_up_total": p.rounds * per_round,
        "client_round_time_s": times.tolist(),
    }


# ------------------------------------------------------------------------------ estimate
CLIENT_EVENTS = 10
"""SimPy events of one selected client in one round: its process, the model's download (flow
start, end, the client resuming), the training compute (request, timeout) and the update's
upload (flow start, end, resuming)."""
ROUND_EVENTS = 8
"""SimPy events of the server per round: the AllOf/AnyOf of the clients (and the deadline's
timeout), the aggregation's compute, the process resuming."""
STEP_EVENTS = 4
"""Event-equivalents of one numpy SGD step of a client (a forward and a backward call): the
Python overhead of a step of the small numpy models (about 80 µs measured on
``scenarios/federated_cmfl.yaml``) is that of about four SimPy events (the engine does 20,000 to
100,000 events a second, ``clustersim/scenario/limits.py``)."""
FLOPS_PER_EVENT = 20_000.0
"""FLOP of numpy training worth one SimPy event: about 20 µs of a single-threaded BLAS at
about 1 GFLOP/s on the small matrices of these models."""


def simulated_events(plan: FederatedPlan, clients_per_round: int | None = None) -> int:
    """SimPy events of one run of ``plan`` (no baselines): ``rounds · (m · 10 + 8)``."""
    m = plan.m if clients_per_round is None else clients_per_round
    return int(plan.params.rounds * (m * CLIENT_EVENTS + ROUND_EVENTS) + 10)


def numeric_events(plan: FederatedPlan, clients_per_round: int | None = None) -> int:
    """Event-equivalents of the numpy training of one run (0 with ``train: false``).

    Every round, each of the ``m`` selected clients runs ``E·⌈n_k / B⌉`` SGD steps over
    ``E`` epochs of its ``n_k`` samples (the whole local set with ``batch_size: null``) at the
    FLOP of :attr:`FederatedPlan.epoch_work`; every ``eval_every`` rounds the global model is
    evaluated on the test set (a forward pass, a third of a training step's FLOP per sample).
    Clients are averaged, since which ones are selected is random.
    """
    p = plan.params
    if not p.train:
        return 0
    m = plan.m if clients_per_round is None else clients_per_round
    sizes = np.maximum(plan.sizes.astype(float), 1.0)
    batch = sizes if p.batch_size is None else np.minimum(sizes, float(p.batch_size))
    steps = float(np.mean(np.ceil(sizes / batch))) * p.local_epochs
    flops = float(np.mean([f for f, _ in plan.epoch_work])) * p.local_epochs
    per_sample = float(np.sum([f for f, _ in plan.epoch_work])) / float(sizes.sum())
    evaluations = math.ceil(p.rounds / p.eval_every)
    train = p.rounds * m * (steps * STEP_EVENTS + flops / FLOPS_PER_EVENT)
    test = evaluations * (STEP_EVENTS + p.dataset.test_samples * per_sample / 3 / FLOPS_PER_EVENT)
    return int(train + test)


def replay_bytes(plan: FederatedPlan) -> float:
    """Bytes of the numeric replay's arrays: the pooled data set (float64 features and a label
    per sample, shared data included) and, per selected client, its copy of the model, the
    update and the optimiser state, plus the global model (float64)."""
    p = plan.params
    if not p.train:
        return 0.0
    features = math.prod(p.dataset.input_shape)
    samples = float(plan.sizes.sum()) + p.dataset.test_samples
    models = (3 * plan.m + 4) * plan.parameters
    return 8.0 * (samples * (features + 1) + models)


def estimate(plan: FederatedPlan) -> Work:
    """Events (SimPy events plus numpy training in event-equivalents) and replay memory of the
    run and of every ``compare`` baseline (each a full run, estimated with its parameters on
    this plan's clients)."""
    runs = [plan] + [
        dataclasses.replace(plan, params=plan.params.baseline(label))
        for label in plan.params.compare
    ]
    events = sum(simulated_events(r) + numeric_events(r) for r in runs)
    memory = max(replay_bytes(r) for r in runs)
    return Work(
        events,
        memory,
        knob="workload.rounds (or workload.clients_per_round, workload.local_epochs)",
        memory_knob="workload.dataset.samples",
    )


def _details() -> list[str]:
    return [
        "fedavg: w_{t+1} = Σ_k (n_k/n) w^k_{t+1} after E local epochs of SGD [McMahan et al. "
        "2017, Alg. 1]; fedprox: local objective F_k(w) + (μ/2)‖w - w^t‖², partial work kept "
        "[Li et al. 2020, Alg. 2]",
        "round time: E[max_{k∈S} T_k], T_k = download + E epochs + upload alone on its path "
        "[the straggler bound of the lecture notes]",
    ]


KIND = WorkloadKind(
    name="federated",
    description="federated learning rounds (FedAvg, FedProx) over clients with their own "
    "devices, links and non-IID data",
    params=FederatedParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
