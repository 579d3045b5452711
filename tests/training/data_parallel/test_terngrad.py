"""The TernGrad kernel: ternary values and clipping, unbiasedness within Hoeffding's bound, and a
biased rounding that fails it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.training.data_parallel.compression import hoeffding_bound, ternarize, terngrad_clip


def test_ternary_values_and_clipping() -> None:
    rng = np.random.default_rng(4)
    g = rng.standard_normal(10_000)
    g[0] = 50.0  # an outlier
    clipped = terngrad_clip(g, 2.5)
    assert clipped.max() == pytest.approx(2.5 * g.std())
    s, t = ternarize(clipped, rng)
    assert s == pytest.approx(np.abs(clipped).max())
    assert set(np.unique(t)) <= {-1, 0, 1}
    assert np.all(t[clipped > 0] >= 0) and np.all(t[clipped < 0] <= 0)
    with pytest.raises(ValueError, match="scale"):
        ternarize(clipped, rng, scale=0.5 * s)


def _mean_error(
    draw, g: np.ndarray, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    s = float(np.abs(g).max())
    total = np.zeros_like(g)
    for _ in range(draws):
        total += draw(g, rng, s) - g
    bound = hoeffding_bound(draws * s * s, g.size, 1e-6)  # each draw in [min(0, s·sign), ...]
    return np.abs(total), float(bound)


def _terngrad(g: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    scale, t = ternarize(g, rng, s)
    return scale * t


def _rounded(g: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Negative control: deterministic rounding to the nearest of {-s, 0, s}: biased."""
    return s * np.sign(g) * (np.abs(g) / s > 0.5)


def test_terngrad_is_unbiased_within_the_hoeffding_bound() -> None:
    rng = np.random.default_rng(5)
    g = rng.standard_normal(2000) * 0.01
    error, bound = _mean_error(_terngrad, g, 3000, rng)
    assert error.max() <= bound
    # and the mean error shrinks like 1/sqrt(draws)
    few, _ = _mean_error(_terngrad, g, 100, np.random.default_rng(6))
    ratio = (few.mean() / 100) / (error.mean() / 3000)
    assert ratio == pytest.approx(math.sqrt(30), rel=0.15)


def test_biased_rounding_fails_the_bound() -> None:
    rng = np.random.default_rng(5)
    g = rng.standard_normal(2000) * 0.01
    error, bound = _mean_error(_rounded, g, 3000, rng)
    assert error.max() > 3 * bound
