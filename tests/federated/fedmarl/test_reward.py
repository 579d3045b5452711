"""The notes' objective w1·Acc(T) - w2·ΣH_t - w3·ΣB_t, its three terms, its per-round split."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.fedmarl.kernels import returns_to_go, reward_terms, round_rewards


def test_the_terms_by_hand() -> None:
    reward, acc, lat, bw = reward_terms(0.8, np.array([0.5, 1.5]), np.array([2e6, 3e6]),
                                        (10.0, 2.0, 0.5))  # fmt: skip
    assert (acc, lat, bw) == (8.0, 4.0, 2.5)  # 10·0.8, 2·2 s, 0.5·5 MB
    assert reward == 8.0 - 4.0 - 2.5


def test_the_round_rewards_sum_to_the_objective_less_the_initial_accuracy() -> None:
    rng = np.random.default_rng(0)
    acc = np.concatenate([[0.1], rng.uniform(0, 1, 6)])
    latency, bytes_ = rng.uniform(0, 2, 6), rng.uniform(0, 5e6, 6)
    w = (3.0, 0.7, 0.2)
    total = round_rewards(acc, latency, bytes_, w).sum()
    assert total == pytest.approx(reward_terms(acc[-1], latency, bytes_, w)[0] - w[0] * acc[0])


def test_returns_to_go() -> None:
    np.testing.assert_array_equal(returns_to_go(np.array([1.0, 2.0, 3.0])), [6.0, 5.0, 3.0])
