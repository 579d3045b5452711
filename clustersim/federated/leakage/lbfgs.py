"""A small L-BFGS minimiser in numpy, for DLG's matching loss.

Nocedal & Wright, *Numerical Optimization*, 2nd ed., Springer 2006, §7.2: the search direction
``d = -H ∇f`` comes from the two-loop recursion (Algorithm 7.4) over the last ``m`` pairs
``s_i = x_{i+1} - x_i``, ``y_i = ∇f_{i+1} - ∇f_i``, starting from ``H_0 = γ I`` with
``γ = sᵀy / yᵀy`` of the newest pair (eq. 7.20); the step length is found by backtracking
from ``α = 1`` until the sufficient-decrease (Armijo) condition
``f(x + αd) ≤ f(x) + c₁ α ∇fᵀd`` holds (Algorithm 3.1, ``c₁ = 10⁻⁴``, halving at most 20
times; PyTorch's L-BFGS allows 25 evaluations an iteration). A pair with
``sᵀy ≤ 10⁻¹⁰ ‖s‖ ‖y‖`` (no positive curvature, which a backtracking search does not
guarantee) is not stored, so ``H`` stays positive definite; if a direction is not one of
descent the memory is cleared and the step is steepest descent. The first step is scaled to
``min(1, 1/‖∇f‖₁)`` as PyTorch's ``torch.optim.LBFGS`` (the optimiser DLG uses) does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LbfgsResult", "minimize", "two_loop"]

_C1 = 1e-4
_MAX_HALVINGS = 20


@dataclass
class LbfgsResult:
    """Where L-BFGS stopped: the point, its value, iterations and function evaluations taken,
    the value after every iteration, and why it stopped."""

    x: np.ndarray
    f: float
    iterations: int
    evaluations: int
    history: list[float] = field(default_factory=list)
    reason: str = ""


def two_loop(grad: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """``H ∇f`` by Nocedal & Wright's Algorithm 7.4; ``pairs`` are ``(s, y, 1/yᵀs)``, oldest
    first."""
    q = grad.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        alphas.append(a)
        q -= a * y
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
        b = rho * float(y @ q)
        q += (a - b) * s
    return q


def minimize(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    *,
    max_iter: int = 300,
    memory: int = 10,
    tol: float = -math.inf,
    grad_tol: float = 1e-12,
) -> LbfgsResult:
    """Minimise ``fun`` (returning value and gradient) from ``x0``.

    Stops after ``max_iter`` iterations, when the value reaches ``tol`` (DLG's matching loss is
    never negative: a tolerance just above 0 stops it at a match), the gradient's largest
    entry is below ``grad_tol``, or no step along the direction decreases the value.
    """
    x = np.array(x0, dtype=float)
    f, g = fun(x)
    evaluations = 1
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []
    history: list[float] = []
    reason = "max_iter"
    done = 0
    while done < max_iter:
        if not np.isfinite(f):
            reason = "non-finite"
            break
        if f <= tol:
            reason = "tol"
            break
        if float(np.abs(g).max()) <= grad_tol:
            reason = "grad_tol"
            break
        d = -two_loop(g, pairs)
        slope = float(g @ d)
        if not slope < 0:
            pairs.clear()
            d, slope = -g, -float(g @ g)
        step = min(1.0, 1.0 / float(np.abs(g).sum())) if done == 0 else 1.0
        for _ in range(_MAX_HALVINGS):
            x_new = x + step * d
            f_new, g_new = fun(x_new)
            evaluations += 1
            if f_new <= f + _C1 * step * slope:
                break
            step *= 0.5
        else:
            reason = "no_decrease"
            break
        s, y = x_new - x, g_new - g
        sy = float(s @ y)
        if sy > 1e-10 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            pairs.append((s, y, 1.0 / sy))
            if len(pairs) > memory:
                pairs.pop(0)
        x, f, g = x_new, f_new, g_new
        history.append(f)
        done += 1
    return LbfgsResult(x, float(f), done, evaluations, history, reason)
