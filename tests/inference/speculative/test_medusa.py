"""Medusa (Cai et al., arXiv 2401.10774): typical acceptance, what it accepts, what it costs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import clustersim
from clustersim.inference.speculative.checks import (
    MethodSetup,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.kernels import medusa_rounds, medusa_step, typical_acceptance
from clustersim.inference.speculative.toy_lm import MedusaHeads, ToyLM, make_target
from tests.inference.speculative.helpers import two_a100


def _medusa(acceptance: str = "typical", quality: float = 0.7, topk=(3, 2, 2)):
    def bind(target: ToyLM) -> MethodSetup:
        heads = MedusaHeads(target, len(topk), quality, 1.0, 5)
        return MethodSetup(
            lambda s, t, g: medusa_rounds(target, heads, s, list(topk), t, acceptance, 0.09, 0.3)
        )

    return bind


def test_typical_acceptance_threshold() -> None:
    """min(epsilon, delta exp(-H)): a flat distribution lowers the bar, a sharp one keeps it
    at epsilon = 0.09."""
    flat = np.full(32, 1 / 32)  # H = ln 32, delta exp(-H) = 0.3 / 32 ~ 0.0094 < 1/32
    assert typical_acceptance(flat, 7)
    sharp = np.array([0.9, 0.08, 0.02])  # H ~ 0.39, threshold = min(0.09, 0.2) = 0.09
    assert typical_acceptance(sharp, 0)
    assert not typical_acceptance(sharp, 1)  # 0.08 < 0.09, though greedy would say no too
    mid = np.array([0.5, 0.25, 0.15, 0.1])  # H ~ 1.21, threshold = min(0.09, 0.089) = 0.089
    assert typical_acceptance(mid, 3) and typical_acceptance(mid, 2)


@pytest.mark.parametrize("acceptance", ["greedy", "typical"])
def test_medusa_equals_greedy_decoding_at_temperature_zero(acceptance: str) -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(4))
    record = greedy_matches_target(
        _medusa(acceptance)(target), target, 5, 200, np.random.default_rng(0)
    )
    assert record["passed"], record


def test_medusa_typical_acceptance_is_not_distribution_preserving() -> None:
    record = output_matches_target(
        _medusa(),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=4,
        samples=1000,
        significance=1e-3,
        seed=5,
        negative_control=False,
    )
    assert not record["passed"], record


def test_medusa_step_accepts_a_prefix_of_one_candidate() -> None:
    target = make_target(32, 1, 2.0, np.random.default_rng(0))
    heads = MedusaHeads(target, 3, 1.0, 1.0, 1)  # ideal heads: the true marginals
    for state in range(32):
        tokens, accepted, tested = medusa_step(target, heads, state, [4, 3, 2], 1.0)
        assert tokens[0] == target.greedy(state)  # the first token is greedy, unconditional
        assert len(tokens) == accepted + 1 and accepted <= 3
        assert tested == accepted + (accepted < 3)
        s = target.advance(state, tokens[0])
        for x in tokens[1:]:  # every accepted token passed the test where it stands
            assert typical_acceptance(target.probs(s, 1.0), x)
            s = target.advance(s, x)


def _scenario(**workload: Any) -> dict[str, Any]:
    return two_a100(
        "m", 4, {"tokens": 300, "gamma": 4, "draft_quality": 0.75, "check_samples": 600, **workload}
    )


def test_medusa_workload_costs_and_checks() -> None:
    result = clustersim.run(_scenario(method="medusa", medusa_topk=[3, 2]))
    assert set(result.checks) == {"greedy_matches_target"}  # not distribution-preserving
    assert result.passed
    m = result.metrics
    assert m["draft_passes"] == 0 and "cost_coefficient" not in m
    # every pass verifies the root and 3 + 6 candidates, reading the heads' weights too
    assert m["flops_total"] > 9 * m["target_passes"] * m["baseline_flops_total"] / 300
    assert m["bytes_read_total"] / m["target_passes"] > m["baseline_bytes_read_total"] / 300
    assert m["speedup"] > 1.5
