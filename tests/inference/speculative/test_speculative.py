"""The speculative sampling kernel (Leviathan et al. 2023, Algorithm 1) on toy LMs.

Statistical tests use fixed seeds and the ``output_matches_target`` harness: 2000 sampled
continuations per distribution (flat and sharp), a chi-square test per position, family-wise
significance 0.001 with Bonferroni. The negative control (the draft alone) must fail the same
test (tests/inference/speculative/test_checks.py shows the harness catches a wrong kernel).
"""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.speculative import costs
from clustersim.inference.speculative.checks import (
    REGIMES,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.kernels import (
    residual,
    speculative_decoding_step,
    speculative_rounds,
    take,
)
from clustersim.inference.speculative.toy_lm import ToyLM, expected_alpha, make_draft, make_target
from tests.inference.speculative.helpers import speculative

SAMPLES = 2000
SIGNIFICANCE = 1e-3


def test_residual_is_normalised_positive_part() -> None:
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.2, 0.5, 0.3])
    assert residual(p, q) == pytest.approx([1.0, 0.0, 0.0])
    p = np.array([0.4, 0.4, 0.2])
    q = np.array([0.1, 0.3, 0.6])
    assert residual(p, q) == pytest.approx([0.75, 0.25, 0.0])
    assert residual(p, p) is p  # no rejection is possible when q == p


def test_draft_equal_to_target_accepts_every_guess() -> None:
    target = make_target(16, 1, 2.0, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for _ in range(200):
        tokens, n = speculative_decoding_step(target, target, 3, 4, 1.0, rng)
        assert n == 4 and len(tokens) == 5


def test_disjoint_draft_never_accepts() -> None:
    """A draft whose tokens the target never emits: n = 0 and t comes from the target."""
    logits = np.full((4, 4), -50.0)
    logits[:, 0] = 0.0  # target always says 0
    draft_logits = np.full((4, 4), -50.0)
    draft_logits[:, 3] = 0.0  # draft always says 3
    target, draft = ToyLM(logits, 1), ToyLM(draft_logits, 1)
    rng = np.random.default_rng(2)
    for _ in range(50):
        tokens, n = speculative_decoding_step(target, draft, 0, 3, 1.0, rng)
        assert (tokens, n) == ([0], 0)


def test_same_seed_same_tokens() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(0))
    draft = make_draft(target, 0.7, np.random.default_rng(1))

    def run(seed: int) -> list[int]:
        rounds = speculative_rounds(target, draft, 5, 4, 1.0, np.random.default_rng(seed))
        return take(rounds, 300)[0]

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize("gamma", [1, 4])
def test_output_matches_target_flat_and_sharp(gamma: int) -> None:
    record = output_matches_target(
        speculative(gamma),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=gamma + 2,
        samples=SAMPLES,
        significance=SIGNIFICANCE,
        seed=5,
    )
    assert record["passed"], record
    for regime in REGIMES:
        assert record[f"{regime}_min_p_value"] >= SIGNIFICANCE / (2 * (gamma + 2))
    # the negative control, sampling from the draft alone, fails the very same test
    assert record["draft_only_rejected"], record


def test_output_matches_target_at_another_temperature() -> None:
    record = output_matches_target(
        speculative(3, quality=0.4),
        vocab=16,
        order=1,
        temperature=0.6,
        positions=5,
        samples=SAMPLES,
        significance=SIGNIFICANCE,
        seed=9,
    )
    assert record["passed"], record


def test_greedy_output_equals_target_greedy_token_for_token() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(4))
    bound = speculative(5, quality=0.5)(target)
    record = greedy_matches_target(bound, target, 17, 200, np.random.default_rng(0))
    assert record == {"passed": True, "tokens": 200, "first_mismatch": -1}


def test_tokens_per_step_agrees_with_equation_1_at_measured_alpha() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(0))
    for quality, gamma in ((0.5, 3), (0.7, 5), (0.9, 7)):
        draft = make_draft(target, quality, np.random.default_rng(1))
        rounds = speculative_rounds(target, draft, 0, gamma, 1.0, np.random.default_rng(2))
        steps = [next(rounds) for _ in range(4000)]
        alpha = sum(r.accepted for r in steps) / sum(r.tested for r in steps)
        measured = np.mean([len(r.emitted) for r in steps])
        assert measured == pytest.approx(costs.expected_tokens_per_step(alpha, gamma), rel=0.02)
        assert alpha == pytest.approx(expected_alpha(target, draft, 1.0), abs=0.02)
