"""Client selection and FedProx's stragglers."""

from __future__ import annotations

import numpy as np

from clustersim.federated.selection import clients_per_round, stragglers, uniform, weighted


def test_clients_per_round_is_max_round_ck_1() -> None:
    assert clients_per_round(None, 0.1, 100) == 10
    assert clients_per_round(None, 0.001, 100) == 1
    assert clients_per_round(7, None, 100) == 7
    assert clients_per_round(None, None, 30) == 30


def test_uniform_selects_distinct_clients_evenly() -> None:
    rng = np.random.default_rng(0)
    available = np.arange(20)
    counts = np.zeros(20)
    for _ in range(2000):
        chosen = uniform(rng, available, 5, np.ones(20))
        assert np.unique(chosen).size == 5
        counts[chosen] += 1
    expected = counts.sum() / 20
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 43.82  # the 0.999 quantile of chi-square with 19 degrees of freedom


def test_weighted_favours_large_clients() -> None:
    rng = np.random.default_rng(1)
    sizes = np.array([1, 1, 1, 1, 100, 100, 100, 100])
    counts = np.zeros(8)
    for _ in range(500):
        counts[weighted(rng, np.arange(8), 2, sizes)] += 1
    assert counts[4:].sum() > 0.95 * counts.sum()


def test_fewer_available_than_m_selects_all_available() -> None:
    rng = np.random.default_rng(2)
    assert uniform(rng, np.array([7, 3]), 5, np.ones(10)).tolist() == [3, 7]


def test_stragglers_follow_fedprox_code() -> None:
    """round(m·(1-x)) clients do E epochs; the others 1..E-1 (randint(1, E))."""
    rng = np.random.default_rng(3)
    chosen = np.arange(10)
    for share, slow in ((0.0, 0), (0.5, 5), (0.9, 9), (1.0, 10)):
        epochs = stragglers(rng, chosen, share, 20)
        assert np.count_nonzero(epochs < 20) <= slow
        assert np.count_nonzero(epochs == 20) >= 10 - slow
    many = np.concatenate([stragglers(rng, chosen, 1.0, 20) for _ in range(500)])
    assert many.min() == 1 and many.max() == 19
    assert stragglers(rng, chosen, 1.0, 1).tolist() == [1] * 10
