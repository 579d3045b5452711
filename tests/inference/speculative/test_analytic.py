"""Every analytic value describes the run beside it: decoding on one A100, no link, no
straggler. Plain decoding equals its closed form to 1e-9 (each step is memory-bound, so its
time is linear in the context and the step at the mean context is the mean step). Greedy
speculative decoding equals it exactly in every count, and in time up to what Leviathan et al.
leave out: a verify pass of gamma + 1 tokens also reads their KV, not one token's
(docs/architecture.md §1)."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.inference.speculative.models import get_model
from tests.inference.speculative.helpers import scenario


def test_autoregressive_decoding_equals_its_closed_form() -> None:
    r = clustersim.run(scenario(method="autoregressive", tokens=200, prompt_tokens=64))
    m, a = r.metrics, r.analytic
    shared = [n for n in a if n in m]
    assert {"time_per_token_s", "baseline_time_per_token_s", "speedup", "target_passes"} <= set(
        shared
    )
    for name in shared:
        assert m[name] == pytest.approx(a[name], rel=1e-9), name


def test_greedy_speculative_decoding_equals_it_up_to_the_verify_pass_kv() -> None:
    gamma = 5
    r = clustersim.run(scenario(temperature=0.0, gamma=gamma, tokens=256, prompt_tokens=128))
    m, a = r.metrics, r.analytic
    for name in ("alpha", "tokens_per_step", "target_passes", "draft_passes", "cost_coefficient"):
        assert m[name] == pytest.approx(a[name], rel=1e-12), name
    # a verify pass reads the KV of gamma + 1 new tokens where Leviathan's T reads one (gamma
    # tokens' KV more per round, over the 7B target's weights), and the draft passes run at the
    # contexts of their round rather than the run's mean: at most gamma + 1 tokens' KV
    target = get_model("llama2-7b")
    kv_per_token = 2 * target.layers * target.kv_dim * 2  # K and V, fp16
    bound = (gamma + 1) * kv_per_token / (target.params * 2)
    assert m["time_per_token_s"] == pytest.approx(a["time_per_token_s"], rel=bound)
    assert m["speedup"] == pytest.approx(a["speedup"], rel=bound)
