"""FedMARL's episodes: federated runs on the simulated clock whose clients a policy chooses.

An episode is one ``kind: federated`` run (:func:`clustersim.federated.kind.run`) on a fresh
copy of the cluster with its own seed, whose server asks a policy, at the start of every round,
which clients take part (the run's selector hook,
:class:`~clustersim.federated.process.FederatedRun`). Every process of the round is the
federated kind's: downloads and uploads on the flow network (shared Wi-Fi airtime slows
clients that transfer at once), local training on each client's device roofline. What the
policy sees of client ``n`` before round ``t`` (:func:`~clustersim.federated.fedmarl.kernels.
states`): the loss of the current global model on its data (the probing loss: the client
evaluates the model it was sent; its cost, a forward pass and a few bytes, is not charged),
the time its last round took on the simulated clock (before its first, its contention-free
round from :func:`clustersim.federated.kind.client_round_times`), its access link's
bandwidth, its data size, the round index and how often it took part so far.

Per round the episode records the latency ``H_t`` (the round's duration on the simulated clock,
from the server's start of the round to the end of its aggregation) and the bandwidth ``B_t``
(the bytes the round's uploads put on the wire); the test accuracy is evaluated before the
first round and after every round.

``train: false`` does not fit here: the reward's accuracy term and the agents' probing losses
need the real numerics, so the episodes stay affordable through small models and few rounds
instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from clustersim.federated import kind as federated
from clustersim.federated.fedmarl.kernels import reward_terms, states
from clustersim.federated.params import FederatedParams
from clustersim.federated.process import FederatedRun
from clustersim.hardware.cluster import Cluster

__all__ = ["Decide", "Episode", "run_episode"]

Decide = Callable[[int, np.ndarray, np.random.Generator], np.ndarray]
"""A policy: ``(round, states (N, F), rng) -> participation (N,) bool``."""


@dataclass
class Episode:
    """One episode's record.

    Attributes:
        seed: the episode's seed.
        states: (T, N, F) what the agents saw; actions: (T, N) who was chosen.
        accuracy: (T + 1,) test accuracy before round 1 and after every round.
        latency: (T,) ``H_t``, seconds; upload_bytes: (T,) ``B_t``.
        network_upload_bytes: the clients' bytes sent as the flow network counted them.
        reward, accuracy_term, latency_term, bandwidth_term: the objective and its terms.
        metrics: the federated run's metrics.
    """

    seed: int
    states: np.ndarray
    actions: np.ndarray
    accuracy: np.ndarray
    latency: np.ndarray
    upload_bytes: np.ndarray
    network_upload_bytes: float
    reward: float
    accuracy_term: float
    latency_term: float
    bandwidth_term: float
    metrics: dict


def episode_cluster(base: Cluster, seed: int) -> Cluster:
    """A fresh copy of ``base`` whose random streams derive from ``seed``."""
    cluster = base.fresh()
    cluster.sim.seed = int(seed)  # Simulation.rng derives every stream from it when called
    return cluster


def run_episode(
    base: Cluster,
    params: FederatedParams,
    seed: int,
    decide: Decide | None,
    weights: tuple[float, float, float],
) -> Episode:
    """One federated run of ``params`` on a fresh copy of ``base`` seeded ``seed``.

    ``decide`` is the policy; None leaves the workload's own selection (its ``fraction``) in
    charge, as a plain federated run.
    """
    cluster = episode_cluster(base, seed)
    plan = federated.prepare(cluster, params)
    estimate = federated.client_round_times(plan)
    net = plan.cluster.network
    server = net.node_index(plan.server)
    ids = plan.cluster.rank_indices(plan.clients)
    bandwidth = np.asarray(net.pattern(ids, np.full(ids.size, server)).bottleneck, dtype=float)
    classes = params.dataset.class_count
    seen: list[np.ndarray] = []
    acts: list[np.ndarray] = []
    initial: list[float] = []
    policy_rng = cluster.sim.rng("fedmarl.policy")

    def select(fed: FederatedRun, t: int, available: np.ndarray) -> np.ndarray:
        trainer = fed.trainer
        assert trainer is not None
        if t == 0:
            initial.append(trainer.evaluate()[0])
        last = estimate.copy()
        for record in fed.rounds[:-1]:
            for c in record.clients:
                if c.end is not None:
                    last[c.client] = c.end - c.start
        s = states(
            trainer.client_losses(), last, bandwidth, plan.sizes, t, params.rounds,
            fed.selected / max(t, 1), classes,
        )  # fmt: skip
        assert decide is not None
        wanted = np.asarray(decide(t, s, policy_rng), dtype=bool)
        mask = np.zeros(wanted.size, dtype=bool)
        mask[available] = True
        seen.append(s)
        acts.append(wanted & mask)
        return np.flatnonzero(wanted & mask)

    metrics, _, fed = federated.run(plan, select if decide is not None else None)
    if decide is None:
        initial.append(float("nan"))
    accuracy = np.array([initial[0], *[r.evaluation[0] for r in fed.rounds if r.evaluation]])
    latency = np.array([r.end - r.start for r in fed.rounds])
    upload = np.array([r.bytes_up for r in fed.rounds])
    reward, acc_term, lat_term, bw_term = reward_terms(accuracy[-1], latency, upload, weights)
    return Episode(
        seed=seed,
        states=np.array(seen),
        actions=np.array(acts),
        accuracy=accuracy,
        latency=latency,
        upload_bytes=upload,
        network_upload_bytes=float(metrics["bytes_up_total"]),
        reward=reward,
        accuracy_term=acc_term,
        latency_term=lat_term,
        bandwidth_term=bw_term,
        metrics=metrics,
    )
