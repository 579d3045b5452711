"""Closed forms of speculative decoding: Leviathan, Kalman & Matias, ICML 2023 (2211.17192).

With acceptance rate alpha (the expected probability that a draft token is accepted, assumed
i.i.d. across positions), draft length gamma, cost coefficient c (the time of one draft step
over the time of one target step, Definition 3.7) and c-hat (the same ratio for arithmetic
operations per token, Definition 3.10):

* expected tokens per target pass, Equation (1):
  (1 - alpha^(gamma+1)) / (1 - alpha)
* walltime improvement factor, Theorem 3.8:
  (1 - alpha^(gamma+1)) / ((1 - alpha)(gamma c + 1))
* total arithmetic operations factor, Theorem 3.11:
  (1 - alpha)(gamma c-hat + gamma + 1) / (1 - alpha^(gamma+1))
* optimal gamma, Section 3.5: the integer maximising Theorem 3.8 (found numerically).

Each alpha -> 1 limit is taken exactly (tokens per pass -> gamma + 1).

Equation (1) assumes that every drafted position is accepted independently with probability
alpha. At temperature 0 nothing is random: a position is accepted exactly where the draft's
greedy token agrees with the target's, along the one path greedy decoding takes, and the
agreements cluster (a draft that errs in one context tends to err in the next). For that case
:func:`greedy_rounds` runs Algorithm 1's accounting on the actual acceptance sequence: the
rounds, tokens and acceptance rate of the run that happens, and Theorem 3.8's cost
``(gamma c + 1) T`` per round then gives its speed-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from clustersim.errors import InputError

__all__ = [
    "GreedyRounds",
    "arithmetic_operations_factor",
    "bytes_read_factor",
    "expected_tokens_per_step",
    "greedy_rounds",
    "min_improvement",
    "optimal_gamma",
    "speedup",
    "time_per_token",
]


def _check(alpha: float, gamma: int) -> None:
    if not 0 <= alpha <= 1:
        raise InputError(f"alpha must be in [0, 1], got {alpha!r}")
    if not isinstance(gamma, int) or gamma < 0:
        raise InputError(f"gamma must be a non-negative integer, got {gamma!r}")


def expected_tokens_per_step(alpha: float, gamma: int) -> float:
    """E(# generated tokens) of one Algorithm 1 step, Leviathan et al. Equation (1)."""
    _check(alpha, gamma)
    if alpha == 1:
        return float(gamma + 1)
    return (1 - alpha ** (gamma + 1)) / (1 - alpha)


def speedup(alpha: float, gamma: int, c: float) -> float:
    """Expected walltime improvement factor, Leviathan et al. Theorem 3.8."""
    if c < 0:
        raise InputError(f"cost coefficient c must be >= 0, got {c!r}")
    return expected_tokens_per_step(alpha, gamma) / (gamma * c + 1)


def arithmetic_operations_factor(alpha: float, gamma: int, c_hat: float) -> float:
    """Expected factor of increase in total arithmetic operations, Theorem 3.11."""
    if c_hat < 0:
        raise InputError(f"c_hat must be >= 0, got {c_hat!r}")
    return (gamma * c_hat + gamma + 1) / expected_tokens_per_step(alpha, gamma)


def bytes_read_factor(alpha: float, gamma: int, b_hat: float) -> float:
    """Memory traffic relative to plain decoding.

    Leviathan et al. Section 3.4: the target's weights and KV cache are read once per step, so
    their reads shrink by Equation (1); adding the draft's gamma passes, each reading b_hat
    times the target's bytes per pass, gives (gamma b_hat + 1) / E(# tokens).
    """
    if b_hat < 0:
        raise InputError(f"b_hat must be >= 0, got {b_hat!r}")
    return (gamma * b_hat + 1) / expected_tokens_per_step(alpha, gamma)


def time_per_token(alpha: float, gamma: int, c: float, target_step_s: float) -> float:
    """Expected seconds per token: T (c gamma + 1) / E(# tokens) (proof of Theorem 3.8)."""
    return target_step_s * (gamma * c + 1) / expected_tokens_per_step(alpha, gamma)


def optimal_gamma(alpha: float, c: float, gamma_max: int = 64) -> int:
    """The gamma in 1..gamma_max maximising Theorem 3.8 (Section 3.5, Figure 3).

    Returns the smallest maximiser. (No gamma helps when alpha <= c, Corollary 3.9; the
    function still returns the best gamma >= 1.)
    """
    best, best_value = 1, -math.inf
    for gamma in range(1, gamma_max + 1):
        value = speedup(alpha, gamma, c)
        if value > best_value * (1 + 1e-12):
            best, best_value = gamma, value
    return best


def min_improvement(alpha: float, c: float) -> float:
    """Corollary 3.9: with alpha > c, gamma = 1 already improves by (1 + alpha) / (1 + c)."""
    return speedup(alpha, 1, c)


@dataclass(frozen=True)
class GreedyRounds:
    """Algorithm 1 on a known acceptance sequence.

    Attributes:
        rounds: target passes (one per round).
        emitted: tokens the rounds make final (the last round may overshoot ``tokens``).
        accepted: drafted tokens accepted.
        tested: drafted positions put to the acceptance test (``min(n + 1, gamma)`` per round).
    """

    rounds: int
    emitted: int
    accepted: int
    tested: int

    @property
    def alpha(self) -> float:
        """The acceptance rate the run measures: ``accepted / tested`` (Leviathan et al.'s
        maximum-likelihood estimate under Equation (1)'s model)."""
        return self.accepted / self.tested if self.tested else 1.0

    @property
    def tokens_per_step(self) -> float:
        """Tokens per target pass."""
        return self.emitted / self.rounds


def greedy_rounds(accept: Sequence[bool], gamma: int, tokens: int) -> GreedyRounds:
    """Rounds of Algorithm 1 until ``tokens`` tokens are final, position ``k`` of the output
    accepted iff ``accept[k]``.

    A round starting at position ``k`` accepts ``n`` drafts, the run of ``True`` from ``k``
    capped at ``gamma``, and emits ``n + 1`` tokens (the target's correction or bonus token).
    ``accept`` must cover ``tokens + gamma`` positions.
    """
    _check(0.0, gamma)
    if gamma < 1:
        raise InputError(f"gamma must be at least 1 for speculative decoding, got {gamma!r}")
    if len(accept) < tokens + gamma:
        raise InputError(
            f"the acceptance sequence covers {len(accept)} positions; {tokens} tokens at gamma "
            f"{gamma} need {tokens + gamma}"
        )
    k = rounds = accepted = tested = 0
    while k < tokens:
        n = 0
        while n < gamma and accept[k + n]:
            n += 1
        rounds += 1
        accepted += n
        tested += min(n + 1, gamma)
        k += n + 1
    return GreedyRounds(rounds, k, accepted, tested)
