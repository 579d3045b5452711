"""The speculative sampling kernel (Leviathan et al. 2023, Algorithm 1) on toy LMs.

Statistical tests use fixed seeds and the ``output_matches_target`` harness: 2000 sampled
continuations per distribution (flat and sharp), a chi-square test per position, family-wise
significance 0.001 with Bonferroni. The negative control (the draft alone) must fail the same
test, and so must a kernel with the classic bug of resampling from p instead of
norm(max(0, p - q)).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from clustersim.inference.speculative import costs
from clustersim.inference.speculative.checks import (
    REGIMES,
    MethodSetup,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.sampling import (
    Round,
    residual,
    speculative_decoding_step,
    speculative_rounds,
    take,
)
from clustersim.inference.speculative.stats import chi2_sf, chi_square_gof
from clustersim.inference.speculative.toy_lm import (
    ToyLM,
    expected_alpha,
    make_draft,
    make_target,
    sample_index,
)

SAMPLES = 2000
SIGNIFICANCE = 1e-3


def _speculative(gamma: int, quality: float = 0.6):
    def bind(target: ToyLM) -> MethodSetup:
        draft = make_draft(target, quality, np.random.default_rng(11))
        return MethodSetup(lambda s, t, g: speculative_rounds(target, draft, s, gamma, t, g), draft)

    return bind


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
        _speculative(gamma),
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


def test_negative_control_fails_in_both_regimes() -> None:
    record = output_matches_target(
        _speculative(3),
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


def test_output_matches_target_at_another_temperature() -> None:
    record = output_matches_target(
        _speculative(3, quality=0.4),
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
    bound = _speculative(5, quality=0.5)(target)
    record = greedy_matches_target(bound, target, 17, 200, np.random.default_rng(0))
    assert record == {"passed": True, "tokens": 200, "first_mismatch": -1}


def test_greedy_check_catches_a_wrong_method() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(4))
    draft = make_draft(target, 0.5, np.random.default_rng(1))
    from clustersim.inference.speculative.sampling import autoregressive_rounds

    wrong = MethodSetup(lambda s, t, g: autoregressive_rounds(draft, s, t, g), draft)
    record = greedy_matches_target(wrong, target, 17, 200, np.random.default_rng(0))
    assert not record["passed"] and record["first_mismatch"] >= 0


def test_expected_alpha_is_corollary_3_6() -> None:
    """alpha = E(sum_x min(p, q)) equals the Monte Carlo acceptance rate of one guess."""
    target = make_target(16, 1, 2.0, np.random.default_rng(0))
    draft = make_draft(target, 0.5, np.random.default_rng(1))
    alpha = expected_alpha(target, draft, 1.0)
    pi = target.stationary(1.0)
    rng = np.random.default_rng(2)
    states = rng.choice(16, size=20000, p=pi)
    accepted = [speculative_decoding_step(target, draft, int(s), 1, 1.0, rng)[1] for s in states]
    assert np.mean(accepted) == pytest.approx(alpha, abs=0.015)


def test_draft_quality_moves_alpha_from_low_to_high() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(0))
    alphas = [
        expected_alpha(target, make_draft(target, q, np.random.default_rng(1)), 1.0)
        for q in (0.0, 0.25, 0.5, 0.75, 0.9, 0.97, 1.0)
    ]
    assert alphas == sorted(alphas)
    assert alphas[1] == pytest.approx(0.3, abs=0.08)
    assert alphas[-2] == pytest.approx(0.95, abs=0.03)
    assert alphas[-1] == pytest.approx(1.0)


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
