"""The agents' policy gradient against finite differences of the log-likelihood; Adam."""

from __future__ import annotations

import numpy as np

from clustersim.federated.fedmarl.kernels import (
    Adam,
    init_agents,
    log_policy,
    policy_gradient,
    probabilities,
)
from clustersim.nn import numerical_gradient


def test_policy_gradient_is_the_gradient_of_the_weighted_log_likelihood() -> None:
    rng = np.random.default_rng(0)
    agents = init_agents(4, 6, 5, rng, 0.3)
    for arr in agents.arrays():
        arr += 0.3 * rng.standard_normal(arr.shape)  # away from the zero output layer
    s = rng.standard_normal((7, 4, 6))
    a = (rng.random((7, 4)) < 0.5).astype(float)
    adv = rng.standard_normal(7)

    def objective() -> float:  # Σ_t A_t Σ_n log π_n(a | s)
        return sum(adv[t] * log_policy(agents, s[t : t + 1], a[t : t + 1]) for t in range(7))

    grads = policy_gradient(agents, s, a, adv)
    for arr, grad in zip(agents.arrays(), grads, strict=True):
        np.testing.assert_allclose(grad, numerical_gradient(objective, arr), rtol=1e-6, atol=1e-9)


def test_agents_start_at_the_initial_participation_whatever_the_state() -> None:
    agents = init_agents(3, 6, 8, np.random.default_rng(1), 0.8)
    p = probabilities(agents, np.random.default_rng(2).standard_normal((5, 3, 6)))
    np.testing.assert_allclose(p, 0.8)


def test_adam_climbs_a_concave_function() -> None:
    x = [np.array([3.0, -2.0])]
    adam = Adam(0.1)
    for _ in range(500):
        adam.ascend(x, [-2 * (x[0] - np.array([1.0, 0.5]))])  # ∇ of -(x - c)²
    np.testing.assert_allclose(x[0], [1.0, 0.5], atol=1e-3)


def test_reinforce_learns_which_agent_should_stay_out() -> None:
    """A bandit: agent 0 taking part costs 1, agent 1 taking part earns 1; the policy moves
    both the right way."""
    rng = np.random.default_rng(3)
    agents = init_agents(2, 1, 4, rng, 0.5)
    adam = Adam(0.05)
    s = np.ones((1, 2, 1))
    baseline = 0.0
    for _ in range(300):
        a = (rng.random((1, 2)) < probabilities(agents, s)).astype(float)
        reward = a[0, 1] - a[0, 0]
        adam.ascend(agents.arrays(), policy_gradient(agents, s, a, np.array([reward - baseline])))
        baseline = 0.9 * baseline + 0.1 * reward
    p = probabilities(agents, s)[0]
    assert p[0] < 0.1 and p[1] > 0.9
