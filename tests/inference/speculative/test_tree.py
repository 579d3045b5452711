"""SpecInfer token trees and multi-step speculative sampling (Miao et al., arXiv 2305.09781).

Multi-step speculative sampling is exact when sibling tokens are i.i.d. draws from the draft
(or drawn without replacement with the draft renormalised, Sequoia). Siblings that are the
draft's top-k tokens, or i.i.d. draws with duplicates removed, bias the output: the tests show
it on a hand-made three-token example where the bias is large, with the same chi-square test
that the correct rules pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.inference.speculative.checks import (
    MethodSetup,
    greedy_matches_target,
    output_matches_target,
)
from clustersim.inference.speculative.kernels import (
    build_token_tree,
    speculative_rounds,
    take,
    tree_rounds,
    verify_token_tree,
)
from clustersim.inference.speculative.stats import chi_square_gof
from clustersim.inference.speculative.toy_lm import ToyLM, make_draft, make_target
from tests.inference.speculative.helpers import two_a100

SAMPLES = 2000
SIGNIFICANCE = 1e-3


def _tree(expansion: list[int], siblings: str = "iid", drafts: int = 1, quality: float = 0.6):
    def bind(target: ToyLM) -> MethodSetup:
        ds = [make_draft(target, quality, np.random.default_rng(11 + i)) for i in range(drafts)]
        return MethodSetup(
            lambda s, t, g: tree_rounds(target, ds, s, expansion, t, g, siblings), ds[0]
        )

    return bind


@pytest.mark.parametrize(
    ("expansion", "siblings", "drafts"),
    [
        ([3, 1], "iid", 1),
        ([2, 2, 1], "iid", 2),
        ([3, 1], "without_replacement", 1),
    ],
)
def test_multi_step_speculative_sampling_matches_target(
    expansion: list[int], siblings: str, drafts: int
) -> None:
    record = output_matches_target(
        _tree(expansion, siblings, drafts),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=len(expansion) + 2,
        samples=SAMPLES,
        significance=SIGNIFICANCE,
        seed=5,
    )
    assert record["passed"], record
    assert record["draft_only_rejected"]


def test_top_k_siblings_fail_the_output_check_on_toy_models() -> None:
    record = output_matches_target(
        _tree([2, 1], "top_k"),
        vocab=32,
        order=2,
        temperature=1.0,
        positions=4,
        samples=SAMPLES,
        significance=SIGNIFICANCE,
        seed=5,
    )
    assert not record["passed"], record


# A three-token model (order 1, the same distribution in every state) where the draft puts
# 0.6 on a token the target rarely emits. Two siblings. With i.i.d. siblings both are often
# token 0; multi-step speculative sampling then rejects both and subtracts q twice, which is
# what exactness needs: dropping the duplicate (dedup) subtracts q once and over-weights
# token 1, and top-2 siblings {0, 1} are not samples of q at all.
P3 = np.array([0.05, 0.50, 0.45])
Q3 = np.array([0.60, 0.35, 0.05])


def _fixed(dist: np.ndarray) -> ToyLM:
    return ToyLM(np.tile(np.log(dist), (3, 1)), order=1)


def _first_tokens(siblings: str, samples: int, seed: int) -> np.ndarray:
    target, draft = _fixed(P3), _fixed(Q3)
    rng = np.random.default_rng(seed)
    out = np.empty(samples, dtype=np.int64)
    for i in range(samples):
        tree = build_token_tree([draft], 0, [2], 1.0, rng, siblings)
        tokens, _, _ = verify_token_tree(
            target, tree, 1.0, rng, in_order=siblings == "without_replacement"
        )
        out[i] = tokens[0]
    return out


@pytest.mark.parametrize(
    ("siblings", "biased"),
    [("iid", False), ("without_replacement", False), ("top_k", True), ("dedup", True)],
)
def test_sibling_rule_bias(siblings: str, biased: bool) -> None:
    tokens = _first_tokens(siblings, 4000, seed=1)
    p_value = chi_square_gof(np.bincount(tokens, minlength=3), P3).p_value
    if biased:
        assert p_value < SIGNIFICANCE, (siblings, np.bincount(tokens) / tokens.size)
    else:
        assert p_value > SIGNIFICANCE, (siblings, np.bincount(tokens) / tokens.size)


def test_dedup_bias_is_the_missing_second_subtraction() -> None:
    """Exact output of a dedup tree on the three-token example, against the sampled one."""
    # residual after one rejection of token 0 and after two
    r1 = np.maximum(P3 - Q3, 0)
    r1 /= r1.sum()
    r2 = np.maximum(r1 - Q3, 0)
    r2 /= r2.sum()
    assert r1 == pytest.approx([0, 0.15 / 0.55, 0.40 / 0.55])
    assert r2 == pytest.approx([0, 0, 1])
    tokens = _first_tokens("dedup", 6000, seed=2)
    freq = np.bincount(tokens, minlength=3) / tokens.size
    assert freq[1] > P3[1] + 0.04  # token 1 over-weighted


def test_tree_greedy_matches_target() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(4))
    bound = _tree([2, 2, 1], drafts=2)(target)
    record = greedy_matches_target(bound, target, 9, 150, np.random.default_rng(0))
    assert record["passed"], record


def test_tree_accepts_more_per_pass_than_a_chain() -> None:
    target = make_target(32, 2, 2.0, np.random.default_rng(0))
    draft = make_draft(target, 0.6, np.random.default_rng(1))
    _, chain = take(speculative_rounds(target, draft, 0, 4, 1.0, np.random.default_rng(2)), 3000)
    _, tree = take(
        tree_rounds(target, [draft], 0, [3, 2, 1, 1], 1.0, np.random.default_rng(2)), 3000
    )
    per_chain = 3000 / len(chain)
    per_tree = 3000 / len(tree)
    assert per_tree > 1.15 * per_chain
    assert tree[0].target_tokens == 1 + 3 + 6 + 6 + 6
    assert tree[0].draft_passes == (1, 3, 6, 6)


def test_token_tree_structure() -> None:
    target = make_target(8, 1, 1.0, np.random.default_rng(0))
    tree = build_token_tree([target, target], 2, [4, 2], 1.0, np.random.default_rng(1))
    assert tree.level_sizes == [4, 8]
    assert tree.size == 12
    assert [len(c) for c in tree.children[:5]] == [4, 2, 2, 2, 2]
    assert all(tree.depth[c] == 2 for c in tree.children[1])


def test_tree_workload_runs_and_checks() -> None:
    result = clustersim.run(
        two_a100(
            "tree",
            2,
            {
                "method": "tree",
                "gamma": 3,
                "tree_width": 3,
                "tree_drafts": 2,
                "tokens": 200,
                "check_samples": 1000,
            },
        )
    )
    assert result.passed, result.checks
    m = result.metrics
    # expansion [3, 3, 1]: 3 + 9 + 9 = 21 nodes verified with the last token in one pass
    assert m["drafted_tokens"] == 21 * m["target_passes"]
    assert m["draft_passes"] == 2 * 3 * m["target_passes"]  # two drafts, three levels
