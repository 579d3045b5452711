"""Aggregation rules: FedAvg's sample-weighted mean and the notes' plain mean of the updates."""

from __future__ import annotations

import numpy as np

from clustersim.federated.aggregation import AGGREGATORS, ClientUpdate, mean, weighted


def _updates(rng: np.random.Generator, w: np.ndarray, sizes: list[int]) -> list[ClientUpdate]:
    return [ClientUpdate(k, n, rng.standard_normal(w.size), 1) for k, n in enumerate(sizes)]


def test_weighted_is_the_sample_weighted_average_of_the_models() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal(7)
    ups = _updates(rng, w, [10, 30, 60])
    models = np.stack([w + u.delta for u in ups])
    expected = (10 * models[0] + 30 * models[1] + 60 * models[2]) / 100
    assert np.allclose(weighted(w, ups), expected, rtol=0, atol=1e-15)


def test_mean_is_w_plus_the_average_delta() -> None:
    """The notes' w + (1/N) Σ Δw_i, with Δw_i = w_i - w."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal(5)
    ups = _updates(rng, w, [1, 2, 3, 4])
    expected = w + sum(u.delta for u in ups) / 4
    assert np.allclose(mean(w, ups), expected, rtol=0, atol=1e-15)


def test_equal_sizes_make_the_rules_agree_and_no_updates_keep_w() -> None:
    rng = np.random.default_rng(2)
    w = rng.standard_normal(4)
    ups = _updates(rng, w, [5, 5, 5])
    assert np.allclose(weighted(w, ups), mean(w, ups), rtol=0, atol=1e-15)
    for rule in AGGREGATORS.values():
        kept = rule(w, [])
        assert np.array_equal(kept, w) and kept is not w
