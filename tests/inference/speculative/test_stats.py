"""Chi-square goodness of fit: the survival function and the pooling of small cells."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.inference.speculative.stats import chi2_sf, chi_square_gof


def _chi2_sf_closed_form(x: float, df: int) -> float:
    """P(X >= x) for X ~ chi-square(df), by the finite sums of Abramowitz & Stegun 26.4.4-5.

    Even df = 2k: the Poisson(x/2) probability of fewer than k events,
    exp(-x/2) sum_{i<k} (x/2)^i / i!. Odd df = 2k + 1: erfc(sqrt(x/2)) plus
    sum_{i=1..k} exp(-x/2) (x/2)^(i - 1/2) / Gamma(i + 1/2). Finite sums of positive terms,
    each exact to rounding, so this is a reference independent of the series and continued
    fraction in ``chi2_sf`` (no scipy needed).
    """
    h = x / 2.0
    if df % 2 == 0:
        return math.fsum(math.exp(i * math.log(h) - h - math.lgamma(i + 1)) for i in range(df // 2))
    terms = (
        math.exp((i - 0.5) * math.log(h) - h - math.lgamma(i + 0.5)) for i in range(1, df // 2 + 1)
    )
    return math.erfc(math.sqrt(h)) + math.fsum(terms)


def test_closed_form_reference_known_values() -> None:
    # the reference itself against tables: 5 % points of 1 and 10 df, exp(-x/2) at 2 df
    assert _chi2_sf_closed_form(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)
    assert _chi2_sf_closed_form(18.307038053275146, 10) == pytest.approx(0.05, rel=1e-12)
    assert _chi2_sf_closed_form(7.0, 2) == pytest.approx(math.exp(-3.5), rel=1e-14)


def test_chi2_survival_function_known_values() -> None:
    # chi-square tables: P(X >= 3.841) = 0.05 at 1 df; P(X >= 18.307) = 0.05 at 10 df;
    # 2 df is exponential: P(X >= x) = exp(-x/2)
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert chi2_sf(18.307038053275146, 10) == pytest.approx(0.05, rel=1e-9)
    assert chi2_sf(7.0, 2) == pytest.approx(np.exp(-3.5), rel=1e-12)
    assert chi2_sf(0.0, 5) == 1.0


# Both parities, both branches of chi2_sf (series for x/2 < df/2 + 1, continued fraction
# otherwise), the bulk and both tails (down to ~1e-80 at 500 on 40 df).
@pytest.mark.parametrize(
    ("x", "df"),
    [(0.3, 1), (2.0, 3), (25.0, 31), (60.0, 31), (500.0, 40), (150.0, 200), (9.0, 4), (1.0, 12)],
)
def test_chi2_survival_function_matches_closed_form(x: float, df: int) -> None:
    # abs=0: pytest.approx also allows 1e-12 absolute, which would pass any tail below it
    assert chi2_sf(x, df) == pytest.approx(_chi2_sf_closed_form(x, df), rel=1e-9, abs=0)


def test_gof_pools_small_cells_and_flags_impossible_tokens() -> None:
    probs = np.array([0.5, 0.3, 0.199, 0.001])
    counts = np.array([50, 30, 20, 0])
    result = chi_square_gof(counts, probs)
    assert result.cells == 3 and result.p_value > 0.9  # the 0.1-expected cell was pooled
    assert chi_square_gof(np.array([5, 5, 0]), np.array([0.5, 0.5, 0.0])).p_value == 1.0
    assert chi_square_gof(np.array([5, 4, 1]), np.array([0.5, 0.5, 0.0])).p_value == 0.0
