"""Chi-square goodness of fit, for the statistical output checks (no scipy needed).

:func:`chi2_sf` is the chi-square survival function, the regularised upper incomplete gamma
function Q(df/2, x/2), computed by its series for x < a + 1 and by its continued fraction
(modified Lentz) otherwise, as in Press et al., "Numerical Recipes", 3rd ed., Section 6.2
(``gser``/``gcf``). :func:`chi_square_gof` pools cells whose expected count is below 5 (the
usual validity rule for Pearson's test, e.g. Cochran 1954) before computing the statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GofResult", "chi2_sf", "chi_square_gof"]

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


def _gamma_series(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_cont_frac(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) by its continued fraction (x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for X ~ chi-square with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}")
    if x <= 0:
        return 1.0
    a, half = df / 2.0, x / 2.0
    if half < a + 1.0:
        return max(0.0, 1.0 - _gamma_series(a, half))
    return _gamma_cont_frac(a, half)


@dataclass(frozen=True)
class GofResult:
    """A Pearson chi-square goodness-of-fit test of observed counts against probabilities."""

    statistic: float
    df: int
    p_value: float
    samples: int
    cells: int


def chi_square_gof(counts: np.ndarray, probs: np.ndarray, min_expected: float = 5.0) -> GofResult:
    """Pearson's test of ``counts`` (one per category) against ``probs``.

    Categories whose expected count is below ``min_expected`` are pooled, smallest first, into
    one cell until every cell reaches it (or one cell is left). Observations in a category of
    probability zero make the p-value 0.
    """
    counts = np.asarray(counts, dtype=float)
    probs = np.asarray(probs, dtype=float)
    n = counts.sum()
    if n <= 0:
        raise ValueError("no observations")
    probs = probs / probs.sum()
    if np.any(counts[probs <= 0] > 0):
        return GofResult(math.inf, max(1, int((probs > 0).sum()) - 1), 0.0, int(n), 0)
    expected = probs * n
    order = np.argsort(expected, kind="stable")
    cells_obs: list[float] = []
    cells_exp: list[float] = []
    pool_obs = pool_exp = 0.0
    for i in order:
        if expected[i] <= 0:
            continue
        if expected[i] < min_expected or (pool_exp and pool_exp < min_expected):
            pool_obs += counts[i]
            pool_exp += expected[i]
            if pool_exp >= min_expected:
                cells_obs.append(pool_obs)
                cells_exp.append(pool_exp)
                pool_obs = pool_exp = 0.0
            continue
        cells_obs.append(counts[i])
        cells_exp.append(expected[i])
    if pool_exp > 0:
        if cells_exp:  # a remainder below the threshold joins the smallest full cell
            cells_obs[0] += pool_obs
            cells_exp[0] += pool_exp
        else:
            cells_obs.append(pool_obs)
            cells_exp.append(pool_exp)
    obs = np.array(cells_obs)
    exp = np.array(cells_exp)
    if obs.size < 2:
        return GofResult(0.0, 1, 1.0, int(n), int(obs.size))
    statistic = float(np.sum((obs - exp) ** 2 / exp))
    df = obs.size - 1
    return GofResult(statistic, df, chi2_sf(statistic, df), int(n), int(obs.size))
