"""Finite-difference checks with a tolerance derived from the rounding error they carry."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from clustersim.nn import Module, numerical_gradient, softmax_cross_entropy

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


def assert_micro_batch_gradients_sum(model: Module, x: np.ndarray, labels: np.ndarray) -> None:
    """The gradients of 4 micro-batches, each loss normalised by the full batch size, sum to
    the full batch's gradient (what pipeline and data-parallel replays rely on)."""
    n = len(x)
    logits, caches = model.forward(x)
    _, full = model.backward(softmax_cross_entropy(logits, labels)[1], caches)
    acc = {k: np.zeros_like(v) for k, v in full.items()}
    for part in np.split(np.arange(n), 4):
        out, c = model.forward(x[part])
        _, g = model.backward(softmax_cross_entropy(out, labels[part], normalizer=n)[1], c)
        for k in acc:
            acc[k] += g[k]
    for k in full:
        np.testing.assert_allclose(acc[k], full[k], rtol=1e-12, atol=1e-15, err_msg=k)
