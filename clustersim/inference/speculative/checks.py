"""Verification checks of a decoding method, run on the real sampling kernels.

``output_matches_target`` (every distribution-preserving method): from a fixed prefix, sample
the next ``positions`` tokens ``samples`` times with the method and, separately for each
position, test the sampled tokens against the target's exact marginal distribution of that
position (:meth:`ToyLM.marginals`) with Pearson's chi-square test. Testing every position up to
one past the draft length catches errors in the accepted tokens, in the resampling after a
rejection and in the bonus token alike. The test runs on two targets, a flat one (logit scale
0.5, entropy ~3.3 nats on 32 tokens) and a sharp one (logit scale 4, ~1.1 nats), and is
rejected when any of the 2 x positions p-values falls below significance / (2 x positions)
(Bonferroni), so ``significance`` bounds the chance that a correct method fails. The negative
control, sampling from the draft alone, runs through the same test and must be rejected
(docs/architecture.md §7); the record says whether it was (in at least one regime: a draft
close to the target may be indistinguishable on the flat distribution).

``greedy_matches_target``: at temperature 0 the method's tokens equal the target's greedy
tokens, token for token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from clustersim.inference.speculative.kernels import (
    Round,
    autoregressive_rounds,
    draft_only_rounds,
    take,
)
from clustersim.inference.speculative.stats import chi_square_gof
from clustersim.inference.speculative.toy_lm import ToyLM, make_target

__all__ = [
    "REGIMES",
    "MethodSetup",
    "SetupFactory",
    "greedy_matches_target",
    "output_matches_target",
    "sample_positions",
]

REGIMES: dict[str, float] = {"flat": 0.5, "sharp": 4.0}
"""Target logit scales of the two test distributions."""


@dataclass(frozen=True)
class MethodSetup:
    """A method bound to one target: how to start its rounds, and its draft (if any)."""

    rounds: Callable[[int, float, np.random.Generator], Iterator[Round]]
    draft: ToyLM | None = None


SetupFactory = Callable[[ToyLM], MethodSetup]
"""Builds a method's companions (drafts, heads) for a given target."""


def sample_positions(
    rounds: Callable[[int, float, np.random.Generator], Iterator[Round]],
    state: int,
    temperature: float,
    positions: int,
    samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(samples, positions) tokens: the first ``positions`` tokens of independent runs."""
    out = np.empty((samples, positions), dtype=np.int64)
    for i in range(samples):
        out[i] = take(rounds(state, temperature, rng), positions)[0]
    return out


def _test(tokens: np.ndarray, expected: np.ndarray) -> list[float]:
    """p-value of each position's chi-square test."""
    vocab = expected.shape[1]
    return [
        chi_square_gof(np.bincount(tokens[:, j], minlength=vocab), expected[j]).p_value
        for j in range(tokens.shape[1])
    ]


def output_matches_target(
    setup: SetupFactory,
    *,
    vocab: int,
    order: int,
    temperature: float,
    positions: int,
    samples: int,
    significance: float,
    seed: int,
    negative_control: bool = True,
) -> dict[str, Any]:
    """The ``output_matches_target`` check record (see the module docstring)."""
    positions = max(1, positions)
    tests = len(REGIMES) * positions
    threshold = significance / tests
    record: dict[str, Any] = {
        "samples": samples,
        "positions": positions,
        "temperature": temperature,
        "significance": significance,
        "test": "chi-square per position, Bonferroni",
    }
    passed = True
    control_rejected = False
    has_control = False
    rng = np.random.default_rng((seed, 0x5EC))
    for index, (regime, sharpness) in enumerate(REGIMES.items()):
        target = make_target(
            vocab, order, sharpness, np.random.default_rng((seed, index)), name=f"{regime} target"
        )
        bound = setup(target)
        state = 0
        expected = target.marginals(state, positions, temperature)
        tokens = sample_positions(bound.rounds, state, temperature, positions, samples, rng)
        p_values = _test(tokens, expected)
        record[f"{regime}_min_p_value"] = min(p_values)
        passed &= min(p_values) >= threshold
        if negative_control and bound.draft is not None:
            has_control = True
            control = partial(draft_only_rounds, bound.draft)
            control_tokens = sample_positions(control, state, temperature, positions, samples, rng)
            control_p = min(_test(control_tokens, expected))
            record[f"{regime}_draft_only_min_p_value"] = control_p
            control_rejected |= control_p < threshold
    if has_control:
        record["draft_only_rejected"] = bool(control_rejected)
    record["passed"] = bool(passed)
    return record


def greedy_matches_target(
    setup: MethodSetup, target: ToyLM, state: int, tokens: int, rng: np.random.Generator
) -> dict[str, Any]:
    """The ``greedy_matches_target`` check record: temperature 0, ``tokens`` tokens."""
    got = take(setup.rounds(state, 0.0, rng), tokens)[0]
    want = take(autoregressive_rounds(target, state, 0.0, rng), tokens)[0]
    mismatch = next((i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b), -1)
    return {"passed": mismatch < 0, "tokens": tokens, "first_mismatch": mismatch}
