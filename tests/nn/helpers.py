"""Finite-difference checks with a tolerance derived from the rounding error they carry."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from clustersim.nn import numerical_gradient

STEP = 1e-6
"""Central-difference step: the truncation error is O(STEP²) (zero for the piecewise-linear
layers), so what is left is rounding."""


def rounding_bound(scale: float) -> float:
    """Absolute error of a central difference of a float64 sum whose terms add up to ``scale``
    in magnitude: each evaluation is off by about ``eps·scale``, the difference of two divided
    by ``2·STEP`` by ``eps·scale/STEP``; a factor 4 covers the accumulation in the sum."""
    return 4 * np.finfo(np.float64).eps * scale / STEP


def assert_gradient(
    analytic: np.ndarray,
    f: Callable[[], float],
    array: np.ndarray,
    scale: float,
    err_msg: str = "",
) -> None:
    """``analytic`` equals the central-difference gradient of ``f`` with respect to ``array``
    up to 1e-7 relative and the rounding bound of a sum of magnitude ``scale``."""
    numeric = numerical_gradient(f, array, STEP)
    np.testing.assert_allclose(
        analytic, numeric, rtol=1e-7, atol=rounding_bound(scale), err_msg=err_msg
    )
