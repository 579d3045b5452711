"""The output checks have power: they reject what is not the target's distribution.

``output_matches_target`` rejects the negative control (the draft alone) in both regimes and a
kernel with the classic bug of resampling from p instead of norm(max(0, p - q));
``greedy_matches_target`` rejects a method that follows the draft.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from clustersim.inference.speculative.checks import (
    MethodSetup,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.kernels import Round, autoregressive_rounds
from clustersim.inference.speculative.toy_lm import ToyLM, make_draft, make_target, sample_index
from tests.inference.speculative.helpers import speculative

SAMPLES = 2000
SIGNIFICANCE = 1e-3


def _buggy_speculative(gamma: int, quality: float = 0.6):
    """Algorithm 1 with the rejected token resampled from p_{n+1} instead of the residual."""

    def bind(target: ToyLM) -> MethodSetup:
        draft = make_draft(target, quality, np.random.default_rng(11))

        def rounds(state: int, temperature: float, rng: np.random.Generator) -> Iterator[Round]:
            P, Q = target.table(temperature), draft.table(temperature)
            while True:
                xs, s = [], state
                for _ in range(gamma):
                    x = sample_index(Q[s], rng)
                    xs.append((x, s))
                    s = target.advance(s, x)
                out = []
                for x, s in xs:
                    if rng.random() > P[s][x] / Q[s][x]:
                        out.append(sample_index(P[s], rng))  # BUG: should be the residual
                        break
                    out.append(x)
                else:
                    out.append(sample_index(P[s], rng))
                for x in out:
                    state = target.advance(state, x)
                yield Round(tuple(out))

        return MethodSetup(rounds, draft)

    return bind


def test_negative_control_fails_in_both_regimes() -> None:
    record = output_matches_target(
        speculative(3),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=5,
        samples=SAMPLES,
        significance=SIGNIFICANCE,
        seed=8,
    )
    threshold = SIGNIFICANCE / (2 * 5)
    assert record["flat_draft_only_min_p_value"] < threshold
    assert record["sharp_draft_only_min_p_value"] < threshold


def test_resampling_from_p_instead_of_residual_is_caught() -> None:
    record = output_matches_target(
        _buggy_speculative(3),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=5,
        samples=SAMPLES,
        significance=SIGNIFICANCE,
        seed=5,
    )
    assert not record["passed"], record


def test_greedy_check_catches_a_wrong_method() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(4))
    draft = make_draft(target, 0.5, np.random.default_rng(1))
    wrong = MethodSetup(lambda s, t, g: autoregressive_rounds(draft, s, t, g), draft)
    record = greedy_matches_target(wrong, target, 17, 200, np.random.default_rng(0))
    assert not record["passed"] and record["first_mismatch"] >= 0
