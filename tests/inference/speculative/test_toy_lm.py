"""Toy language models: the acceptance rate of a draft, and the knob that moves it."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.speculative.kernels import speculative_decoding_step
from clustersim.inference.speculative.toy_lm import expected_alpha, make_draft, make_target


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
