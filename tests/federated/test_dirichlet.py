"""Hsu et al.'s label skew: each client's class mix q ~ Dir(α·p)."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated import partition
from clustersim.federated.datasets import balanced_labels


def _mixes(alpha: float, clients: int = 200, seed: int = 0) -> np.ndarray:
    labels = balanced_labels(np.random.default_rng(seed), 100_000, 10)
    parts = partition.dirichlet(np.random.default_rng(seed + 1), labels, clients, alpha)
    hist = partition.class_histograms(labels, parts, 10)
    return hist / hist.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("alpha", [0.1, 1.0, 100.0])
def test_concentration_matches_the_dirichlet(alpha: float) -> None:
    """E[Σ_c q_c²] = Σ_c p_c (α p_c + 1) / (α + 1) = (α/C + 1) / (α + 1) for a uniform p;
    the realised mixes add the multinomial noise of n = 500 samples, (1 - E[Σq²]) / n."""
    q = _mixes(alpha)
    expected = (alpha / 10 + 1) / (alpha + 1)
    expected += (1 - expected) / 500
    measured = float((q**2).sum(axis=1).mean())
    assert abs(measured - expected) < 0.08 * expected


def test_the_mean_mix_is_the_population() -> None:
    assert np.abs(_mixes(0.5).mean(axis=0) - 0.1).max() < 0.02


def test_small_alpha_is_nearly_one_class_large_alpha_nearly_iid() -> None:
    assert np.median(_mixes(0.05).max(axis=1)) > 0.85
    assert np.median(_mixes(1000.0).max(axis=1)) < 0.2
