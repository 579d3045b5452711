"""PEARL (Liu et al., arXiv 2408.11850): pre-verify, post-verify, overlap on two devices."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import clustersim
from clustersim.inference.speculative.checks import (
    MethodSetup,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.kernels import pearl_rounds, take
from clustersim.inference.speculative.toy_lm import ToyLM, make_draft, make_target
from tests.inference.speculative.helpers import two_a100


def _pearl(gamma: int, quality: float = 0.6):
    def bind(target: ToyLM) -> MethodSetup:
        draft = make_draft(target, quality, np.random.default_rng(11))
        return MethodSetup(lambda s, t, g: pearl_rounds(target, draft, s, gamma, t, g), draft)

    return bind


@pytest.mark.parametrize("gamma", [1, 3])
def test_pearl_output_matches_target(gamma: int) -> None:
    record = output_matches_target(
        _pearl(gamma),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=2 * gamma + 2,
        samples=1500,
        significance=1e-3,
        seed=6,
    )
    assert record["passed"], record
    assert record["draft_only_rejected"]


def test_pearl_greedy_matches_target() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(4))
    record = greedy_matches_target(_pearl(4, 0.5)(target), target, 3, 200, np.random.default_rng(0))
    assert record["passed"], record


def test_pre_and_post_verify_rounds() -> None:
    """After a rejection the window is 1 (pre-verify, lecture 09); an accepted first token
    switches to post-verify, which checks gamma tokens per round while the draft runs ahead."""
    target = make_target(32, 2, 2.0, np.random.default_rng(0))
    draft = make_draft(target, 0.7, np.random.default_rng(1))
    gamma = 4
    _, rounds = take(pearl_rounds(target, draft, 0, gamma, 1.0, np.random.default_rng(2)), 2000)
    for prev, cur in itertools.pairwise(rounds):
        rejected = prev.accepted < prev.tested
        if rejected:
            assert cur.phase == "pre-verify" and cur.target_tokens == 1
        if prev.phase == "pre-verify" and not rejected:
            assert cur.phase == "post-verify" and cur.target_tokens == gamma
        if cur.phase == "post-verify":
            assert cur.tested == cur.accepted + (cur.accepted < gamma)
            assert len(cur.emitted) == (gamma if cur.accepted == gamma else cur.accepted + 1)
        assert cur.parallel and cur.draft_passes == (1,) * gamma
    assert {r.phase for r in rounds} == {"pre-verify", "post-verify"}


def _scenario(**workload: Any) -> dict[str, Any]:
    return two_a100(
        "pearl",
        4,
        {
            "method": "pearl",
            "gamma": 6,
            "draft_model": "tinyllama-1.1b",
            "draft_quality": 0.8,
            "tokens": 400,
            "verify": False,
            **workload,
        },
    )


def test_draft_and_target_overlap_on_two_devices() -> None:
    result = clustersim.run(_scenario(tokens=60), trace=True)
    m = result.metrics
    assert m["overlap_s"] > 0.5 * min(m["draft_busy_s"], m["target_busy_s"])
    draft_spans = [s for s in result.trace.spans if s.lane == ("n1", "compute")]
    verify_spans = [s for s in result.trace.spans if s.lane == ("n0", "compute")]
    assert {s.name for s in draft_spans} == {"draft"} and {s.name for s in verify_spans} == {
        "verify"
    }
    first = verify_spans[0]
    assert any(d.start < first.end and d.end > first.start for d in draft_spans)


def test_one_device_serialises_pearl() -> None:
    m = clustersim.run(_scenario(draft_device="n0")).metrics
    assert m["overlap_s"] == 0.0


def test_pearl_beats_sequential_speculation_when_the_draft_is_dear() -> None:
    """With gamma c ~ 1 (TinyLlama drafting for Llama-2-7B, c ~ 0.16), drafting while
    verifying hides the draft time that Algorithm 1 pays in sequence."""
    result = clustersim.run(_scenario())
    pearl = result.metrics
    sequential = clustersim.run(_scenario(method="speculative", gamma=5)).metrics
    assert 0.1 < pearl["cost_coefficient"] < 0.25
    assert pearl["speedup"] > 1.1 * sequential["speedup"]
    # both verify chains with the same acceptance test: the same alpha up to sampling noise
    for m in (pearl, sequential):
        assert m["alpha"] == pytest.approx(result.analytic["alpha"], abs=0.06)
