"""An episode is a federated run whose clients a policy chooses: everyone is plain FedAvg."""

from __future__ import annotations

import numpy as np

from clustersim.core.simulation import Simulation
from clustersim.federated.fedmarl.process import run_episode
from clustersim.scenario.runner import load_scenario, prepare_scenario
from tests.federated.fedmarl.helpers import scenario


def _plan():
    loaded = load_scenario(scenario())
    _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    return plan


def test_selecting_everyone_is_the_plain_federated_run() -> None:
    plan = _plan()
    w = plan.params.weights.triple
    fed = plan.params.federated
    everyone = run_episode(plan.cluster, fed, 7, lambda t, s, r: np.ones(6, dtype=bool), w)
    plain = run_episode(plan.cluster, fed, 7, None, w)
    for key in ("accuracy_curve", "time_curve_s", "bytes_up_total", "round_time_s"):
        assert everyone.metrics[key] == plain.metrics[key], key


def test_the_episode_records_states_actions_and_the_reward_terms() -> None:
    plan = _plan()
    fed = plan.params.federated
    ep = run_episode(plan.cluster, fed, 3, lambda t, s, r: np.arange(6) < 4,
                     plan.params.weights.triple)  # fmt: skip
    assert ep.states.shape == (3, 6, 6) and ep.actions.shape == (3, 6)
    assert ep.actions[:, 4:].sum() == 0  # the slow clients stayed out
    assert ep.accuracy.size == 4  # before round 1 and after each round
    assert ep.upload_bytes.sum() == ep.network_upload_bytes
    # leaving the two slow clients out makes the rounds shorter than with everyone
    everyone = run_episode(plan.cluster, fed, 3, lambda t, s, r: np.ones(6, dtype=bool),
                           plan.params.weights.triple)  # fmt: skip
    assert ep.latency.sum() < 0.5 * everyone.latency.sum()


def test_episodes_differ_by_seed_and_repeat_by_seed() -> None:
    plan = _plan()
    fed, w = plan.params.federated, plan.params.weights.triple
    a = run_episode(plan.cluster, fed, 1, None, w).metrics["accuracy_curve"]
    b = run_episode(plan.cluster, fed, 1, None, w).metrics["accuracy_curve"]
    c = run_episode(plan.cluster, fed, 2, None, w).metrics["accuracy_curve"]
    assert a == b and a != c
