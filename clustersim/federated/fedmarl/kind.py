"""The ``fedmarl`` workload kind: agents that learn which clients take part in each round.

FedMARL (Zhang, Lin & Zhang, AAAI 2022; the lecture notes' FedMARL slides): the server keeps
one agent per client, a two-layer MLP that decides from the client's state whether it takes
part in the round, and trains the agents to maximise ``w1·Acc(T) - w2·Σ_t H_t - w3·Σ_t B_t``
(final accuracy, total round latency, total upload bandwidth). ``simulate``:

1. trains the agents for ``episodes`` episodes (:mod:`~clustersim.federated.fedmarl.process`:
   each a federated run on the simulated clock with its own seed, the agents sampling their
   decisions) by independent REINFORCE with a baseline (:mod:`~clustersim.federated.fedmarl.
   kernels`), recording the learning curve of the objective and its three terms;
2. evaluates, on the same ``evaluation.seeds`` fresh seeds, FedAvg (every client every round),
   random dropping at each ``evaluation.drop_rates`` rate, FedMARL (the learned policy: each
   agent takes part with its probability) and ``fedmarl greedy`` (each agent takes part when
   its probability is at least 1/2), reporting the objective and its terms per policy.

Checks: ``fedmarl_all_selected_equals_fedavg`` (an episode whose policy selects everyone is
exactly the plain federated run: the same accuracy curve, round times and bytes; the negative
control, a policy that leaves out one client, differs) and ``reward_terms_add_up`` (every
evaluation episode's objective is its accuracy term less its latency and bandwidth terms, the
bandwidth counted once by the rounds' records and once by the flow network's byte counters).

``analytic``: FedAvg's contention-free latency and bandwidth terms
(:mod:`~clustersim.federated.fedmarl.costs`): the measured ones are at least these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.federated import kind as federated
from clustersim.federated.fedmarl.costs import MB, fedavg_terms
from clustersim.federated.fedmarl.kernels import (
    FEATURES,
    Adam,
    Agents,
    init_agents,
    policy_gradient,
    probabilities,
    returns_to_go,
    round_rewards,
)
from clustersim.federated.fedmarl.params import FedMARLParams
from clustersim.federated.fedmarl.process import Decide, Episode, episode_cluster, run_episode
from clustersim.federated.plan import FederatedPlan
from clustersim.hardware.cluster import Cluster
from clustersim.kinds.contract import Outcome, Work, WorkloadKind, check

__all__ = [
    "KIND",
    "FedMARLParams",
    "FedMARLPlan",
    "analytic",
    "episodes_run",
    "estimate",
    "prepare",
    "simulate",
    "simulated_events",
]


@dataclass(frozen=True)
class FedMARLPlan:
    """What ``simulate`` and ``analytic`` share: the cluster, the workload, and the plan of
    the federated episode (its clients, sizes, devices) as ``prepare`` of ``federated``
    resolves it."""

    cluster: Cluster
    params: FedMARLParams
    episode: FederatedPlan

    @property
    def clients(self) -> int:
        return len(self.episode.clients)


def _seed(base: int, stream: int, index: int) -> int:
    """A 32-bit episode seed: training episodes (stream 1) and evaluation seeds (stream 2)."""
    return int(np.random.SeedSequence([base, stream, index]).generate_state(1)[0])


def prepare(cluster: Cluster, params: FedMARLParams) -> FedMARLPlan:
    """The federated episode's own ``prepare``, its messages located under ``federated``."""
    try:
        episode = federated.prepare(cluster, params.federated)
    except InputError as exc:
        raise InputError(re.sub(r"\bworkload\.", "workload.federated.", str(exc))) from None
    return FedMARLPlan(cluster, params, episode)


# ------------------------------------------------------------------------------ policies
def _everyone(t: int, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.ones(s.shape[0], dtype=bool)


def _random_drop(rate: float) -> Decide:
    """Each round a uniform ``max(round((1 - rate)·N), 1)`` of the clients."""

    def decide(t: int, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = s.shape[0]
        keep = max(round((1.0 - rate) * n), 1)
        out = np.zeros(n, dtype=bool)
        out[rng.choice(n, size=keep, replace=False)] = True
        return out

    return decide


def _sampled(agents: Agents) -> Decide:
    """Training: each agent takes part with its policy's probability."""
    return lambda t, s, rng: rng.random(s.shape[0]) < probabilities(agents, s)


def _greedy(agents: Agents) -> Decide:
    """Evaluation: each agent takes part when its probability is at least 1/2."""
    return lambda t, s, rng: probabilities(agents, s) >= 0.5


# ------------------------------------------------------------------------------ simulate
def _train(plan: FedMARLPlan) -> tuple[Agents, list[Episode]]:
    """Independent REINFORCE with a moving-average baseline per round index."""
    p = plan.params
    weights = p.weights.triple
    rng = plan.cluster.sim.rng("fedmarl.agents")
    agents = init_agents(plan.clients, len(FEATURES), p.agent.hidden, rng, p.agent.participation)
    adam = Adam(p.agent.lr)
    baseline: np.ndarray | None = None
    history = []
    for e in range(p.episodes):
        seed = _seed(plan.cluster.sim.seed, 1, e)
        ep = run_episode(plan.cluster, p.federated, seed, _sampled(agents), weights)
        history.append(ep)
        g = returns_to_go(round_rewards(ep.accuracy, ep.latency, ep.upload_bytes, weights))
        if baseline is not None:
            grads = policy_gradient(agents, ep.states, ep.actions.astype(float), g - baseline)
            adam.ascend(agents.arrays(), grads)
            baseline = p.agent.baseline_decay * baseline + (1 - p.agent.baseline_decay) * g
        else:
            baseline = g
    return agents, history


def _compare(plan: FedMARLPlan, agents: Agents) -> dict[str, list[Episode]]:
    p = plan.params
    policies: dict[str, Decide] = {"fedavg": _everyone}
    for rate in p.evaluation.drop_rates:
        policies[f"random {rate:g}"] = _random_drop(rate)
    policies["fedmarl"] = _sampled(agents)
    policies["fedmarl greedy"] = _greedy(agents)
    seeds = [_seed(plan.cluster.sim.seed, 2, i) for i in range(p.evaluation.seeds)]
    return {
        label: [run_episode(plan.cluster, p.federated, s, decide, p.weights.triple) for s in seeds]
        for label, decide in policies.items()
    }


def _equal_to_fedavg(plan: FedMARLPlan, everyone: Episode) -> dict[str, Any]:
    """The everyone-policy episode against the plain federated run of its seed, and the
    control that leaves client 0 out."""
    p = plan.params

    def distance(a: dict[str, Any], b: dict[str, Any]) -> float:
        out = 0.0
        for key in ("accuracy_curve", "time_curve_s", "loss_curve"):
            out = max(out, float(np.max(np.abs(np.subtract(a[key], b[key])))))
        return max(out, abs(a["bytes_up_total"] - b["bytes_up_total"]))

    plain = run_episode(plan.cluster, p.federated, everyone.seed, None, p.weights.triple)

    def all_but_first(t: int, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.ones(s.shape[0], dtype=bool)
        out[0] = False
        return out

    control = run_episode(plan.cluster, p.federated, everyone.seed, all_but_first, p.weights.triple)
    diff = distance(everyone.metrics, plain.metrics)
    control_diff = distance(control.metrics, plain.metrics)
    return {"max_abs_diff": diff, "tolerance": 0.0, "control_diff": control_diff}


def _terms_error(episodes: list[Episode], weights: tuple[float, float, float]) -> dict[str, Any]:
    w1, w2, w3 = weights
    worst, bytes_err, scale = 0.0, 0.0, 1.0
    for ep in episodes:
        m = ep.metrics
        expected = (
            w1 * m["final_accuracy"] - w2 * sum(m["round_time_s"]) - w3 * m["bytes_up_total"] / MB
        )
        worst = max(worst, abs(ep.reward - expected))
        bytes_err = max(bytes_err, abs(float(ep.upload_bytes.sum()) - ep.network_upload_bytes))
        scale = max(scale, abs(ep.accuracy_term) + ep.latency_term + ep.bandwidth_term)
    tolerance = 1e-12 * scale
    return {
        "passed": worst <= tolerance and bytes_err == 0.0,
        "max_abs_err": worst,
        "tolerance": tolerance,
        "bytes_err": bytes_err,
        "episodes": len(episodes),
    }


def _per(runs: dict[str, list[Episode]], value: Any) -> dict[str, float]:
    return {label: float(np.mean([value(ep) for ep in eps])) for label, eps in runs.items()}


def simulate(plan: FedMARLPlan) -> Outcome:
    """Train the agents, then compare the policies on the evaluation seeds."""
    p = plan.params
    agents, history = _train(plan)
    runs = _compare(plan, agents)
    reward = _per(runs, lambda ep: ep.reward)
    metrics: dict[str, Any] = {
        "clients": plan.clients,
        "rounds": p.federated.rounds,
        "episodes": p.episodes,
        "state_features": list(FEATURES),
        "learning_reward_curve": [ep.reward for ep in history],
        "learning_accuracy_term_curve": [ep.accuracy_term for ep in history],
        "learning_latency_term_curve": [ep.latency_term for ep in history],
        "learning_bandwidth_term_curve": [ep.bandwidth_term for ep in history],
        "learning_participation_curve": [float(ep.actions.mean()) for ep in history],
        "policies": list(runs),
        "reward": reward,
        "reward_std": {
            label: float(np.std([ep.reward for ep in eps])) for label, eps in runs.items()
        },
        "accuracy_term": _per(runs, lambda ep: ep.accuracy_term),
        "latency_term": _per(runs, lambda ep: ep.latency_term),
        "bandwidth_term": _per(runs, lambda ep: ep.bandwidth_term),
        "final_accuracy": _per(runs, lambda ep: ep.accuracy[-1]),
        "latency_total_s": _per(runs, lambda ep: float(ep.latency.sum())),
        "upload_bytes": _per(runs, lambda ep: float(ep.upload_bytes.sum())),
        "participation": _per(runs, lambda ep: float(ep.actions.mean())),
        "fedmarl_participation_per_client": np.mean(
            [ep.actions.mean(axis=0) for ep in runs["fedmarl"]], axis=0
        ).tolist(),
        "best_policy": max(reward, key=lambda k: reward[k]),
    }
    first = runs["fedavg"][0]
    metrics.update(
        {
            "fedavg_latency_total_s": float(first.latency.sum()),
            "fedavg_upload_bytes": float(first.upload_bytes.sum()),
            "fedavg_latency_term": first.latency_term,
            "fedavg_bandwidth_term": first.bandwidth_term,
        }
    )
    checks: dict[str, dict[str, Any]] = {}
    if p.verify:
        record = _equal_to_fedavg(plan, runs["fedavg"][0])
        checks["fedmarl_all_selected_equals_fedavg"] = check(
            record["max_abs_diff"] <= record["tolerance"] < record["control_diff"], **record
        )
        terms = _terms_error([ep for eps in runs.values() for ep in eps], p.weights.triple)
        checks["reward_terms_add_up"] = check(terms.pop("passed"), **terms)
    return Outcome(metrics=metrics, checks=checks)


# ------------------------------------------------------------------------------ analytic
def analytic(plan: FedMARLPlan) -> dict[str, Any]:
    """FedAvg's contention-free latency and bandwidth terms for the evaluation's first seed
    (measured: ``fedavg_*`` of that seed's FedAvg episode)."""
    p = plan.params
    seed = _seed(plan.cluster.sim.seed, 2, 0)
    episode = federated.prepare(episode_cluster(plan.cluster, seed), p.federated)
    predicted = federated.analytic(episode)
    upload = float(episode.client_bytes.sum())
    out = fedavg_terms(predicted["round_time_mean_s"], p.federated.rounds, upload, p.weights.triple)
    return out


# ------------------------------------------------------------------------------ estimate
def episodes_run(plan: FedMARLPlan) -> list[tuple[int, int]]:
    """``(episodes, clients taking part per round)`` of the federated episodes a run simulates.

    The ``episodes`` of training and the agents' evaluation seeds (sampled and greedy) take
    part with about the agents' initial ``participation``; FedAvg every client; random drop
    rate ``r`` a ``1 - r`` share; with ``verify``, the plain FedAvg run and the leave-one-out
    control all or all but one."""
    p, n = plan.params, plan.clients
    seeds = p.evaluation.seeds
    out = [(p.episodes + 2 * seeds, max(1, round(n * p.agent.participation))), (seeds, n)]
    out += [(seeds, max(1, round(n * (1 - r)))) for r in p.evaluation.drop_rates]
    if p.verify:
        out += [(1, n), (1, max(1, n - 1))]
    return out


def simulated_events(plan: FedMARLPlan) -> int:
    """SimPy events of every episode: the federated kind's per-round count
    (:func:`clustersim.federated.kind.simulated_events`) with its clients taking part."""
    return sum(k * federated.simulated_events(plan.episode, m) for k, m in episodes_run(plan))


def estimate(plan: FedMARLPlan) -> Work:
    """Events (SimPy events plus each episode's numpy training in event-equivalents, see
    :func:`clustersim.federated.kind.numeric_events`) and the replay memory of one episode (the
    episodes run one after the other)."""
    numeric = sum(k * federated.numeric_events(plan.episode, m) for k, m in episodes_run(plan))
    return Work(
        simulated_events(plan) + numeric,
        federated.replay_bytes(plan.episode),
        knob="workload.episodes (or workload.federated.rounds, workload.evaluation.seeds)",
        memory_knob="workload.federated.dataset.samples",
    )


def _details() -> list[str]:
    return [
        "objective: max E[w1·Acc(T) - w2·Σ_t H_t - w3·Σ_t B_t] over the participation a_n^t "
        "[lecture notes; Zhang et al., AAAI 2022]",
        "agents: per client a two-layer MLP, independent REINFORCE with a moving-average "
        "baseline [Williams 1992], Adam [Kingma & Ba 2015]",
    ]


KIND = WorkloadKind(
    name="fedmarl",
    description="FedMARL: per-client agents learn which clients take part in each federated "
    "round, against FedAvg and random dropping on the same reward",
    params=FedMARLParams,
    prepare=prepare,
    simulate=simulate,
    analytic=analytic,
    details=_details,
    estimate=estimate,
)
