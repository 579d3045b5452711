"""Chi-square goodness of fit: the survival function and the pooling of small cells."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.speculative.stats import chi2_sf, chi_square_gof


def test_chi2_survival_function_known_values() -> None:
    # chi-square tables: P(X >= 3.841) = 0.05 at 1 df; P(X >= 18.307) = 0.05 at 10 df;
    # 2 df is exponential: P(X >= x) = exp(-x/2)
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert chi2_sf(18.307038053275146, 10) == pytest.approx(0.05, rel=1e-9)
    assert chi2_sf(7.0, 2) == pytest.approx(np.exp(-3.5), rel=1e-12)
    assert chi2_sf(0.0, 5) == 1.0
    scipy_stats = pytest.importorskip("scipy.stats")
    for x, df in ((0.3, 1), (25.0, 31), (60.0, 31), (500.0, 40), (150.0, 200)):
        assert chi2_sf(x, df) == pytest.approx(scipy_stats.chi2.sf(x, df), rel=1e-9)


def test_gof_pools_small_cells_and_flags_impossible_tokens() -> None:
    probs = np.array([0.5, 0.3, 0.199, 0.001])
    counts = np.array([50, 30, 20, 0])
    result = chi_square_gof(counts, probs)
    assert result.cells == 3 and result.p_value > 0.9  # the 0.1-expected cell was pooled
    assert chi_square_gof(np.array([5, 5, 0]), np.array([0.5, 0.5, 0.0])).p_value == 1.0
    assert chi_square_gof(np.array([5, 4, 1]), np.array([0.5, 0.5, 0.0])).p_value == 0.0
