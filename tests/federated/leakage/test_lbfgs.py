"""The L-BFGS of DLG: the two-loop recursion and the minimiser."""

from __future__ import annotations

import numpy as np

from clustersim.federated.leakage.lbfgs import minimize, two_loop


def _rosenbrock(v: np.ndarray) -> tuple[float, np.ndarray]:
    x, y = v
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return f, np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def test_it_finds_the_rosenbrock_minimum() -> None:
    result = minimize(_rosenbrock, np.array([-1.2, 1.0]), max_iter=200, tol=1e-20)
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-6)
    assert result.evaluations >= result.iterations
    assert all(b <= a for a, b in zip(result.history, result.history[1:], strict=False))


def test_on_a_quadratic_it_converges_in_about_n_iterations() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 8))
    h = a @ a.T + 8 * np.eye(8)
    b = rng.standard_normal(8)
    result = minimize(lambda v: (0.5 * v @ h @ v - b @ v, h @ v - b), np.zeros(8),
                      max_iter=100, memory=10, grad_tol=1e-10)  # fmt: skip
    np.testing.assert_allclose(result.x, np.linalg.solve(h, b), atol=1e-8)
    assert result.iterations <= 30
    assert result.reason in ("grad_tol", "no_decrease")  # converged to rounding


def test_the_two_loop_recursion_is_the_bfgs_inverse_update() -> None:
    """With one pair, H = (I - ρ s yᵀ) H₀ (I - ρ y sᵀ) + ρ s sᵀ, H₀ = (sᵀy / yᵀy) I
    (Nocedal & Wright eqs. 7.19-7.20)."""
    rng = np.random.default_rng(1)
    s, y, g = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    y = y + 2 * s  # positive curvature
    rho = 1 / (y @ s)
    h0 = (s @ y) / (y @ y) * np.eye(5)
    left = np.eye(5) - rho * np.outer(s, y)
    dense = left @ h0 @ left.T + rho * np.outer(s, s)
    np.testing.assert_allclose(two_loop(g, [(s, y, rho)]), dense @ g, rtol=1e-12)
