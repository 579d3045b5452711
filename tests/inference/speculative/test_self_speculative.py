"""Self-speculative decoding (Draft & Verify, LayerSkip, Kangaroo): an early exit of the target
drafts, costing its layers only; what reusing its cache saves."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.hardware.presets import get_device
from clustersim.inference.speculative.models import get_model
from tests.inference.speculative.helpers import two_a100


def _scenario(**workload: Any) -> dict[str, Any]:
    return two_a100(
        "m", 4, {"tokens": 300, "gamma": 4, "draft_quality": 0.75, "check_samples": 600, **workload}
    )


def test_self_speculative_draft_costs_its_layers() -> None:
    result = clustersim.run(_scenario(method="self_speculative", exit_layer=8, verify=False))
    model = get_model("llama2-7b")
    ctx = 128 + (300 - 1) / 2  # the mean context of 300 one-token steps
    full = model.forward_cost(1, context=ctx)
    draft = model.truncated(8).forward_cost(1, context=ctx)
    c = result.metrics["cost_coefficient"]
    # memory-bound on A100: bytes over bandwidth, plus 5 us per kernel (5 per block, the
    # embedding and the LM head)
    a100 = get_device("A100")
    seconds = [a100.mem_bandwidth**-1 * x.bytes + 5e-6 * x.kernels for x in (draft, full)]
    assert (draft.kernels, full.kernels) == (5 * 8 + 2, 5 * 32 + 2)
    assert c == pytest.approx(seconds[0] / seconds[1], rel=1e-6)
    assert c == pytest.approx(result.analytic["cost_coefficient"])
    assert 0.25 < c < 0.3  # 8 of 32 layers plus the LM head


def test_self_speculative_reusing_the_exit_cache_makes_verification_cheaper() -> None:
    reuse = clustersim.run(_scenario(method="self_speculative", verify=False)).metrics
    full = clustersim.run(
        _scenario(method="self_speculative", verify=False, reuse_exit_cache=False)
    ).metrics
    assert reuse["target_passes"] == full["target_passes"]
    assert reuse["target_busy_s"] < 0.85 * full["target_busy_s"]
    assert reuse["speedup"] > full["speedup"]


def test_self_speculative_deeper_exit_drafts_better() -> None:
    shallow = clustersim.run(
        _scenario(
            method="self_speculative", exit_layer=4, draft_quality=None, verify=False, tokens=1500
        )
    )
    deep = clustersim.run(
        _scenario(
            method="self_speculative", exit_layer=24, draft_quality=None, verify=False, tokens=1500
        )
    )
    assert deep.analytic["alpha"] > shallow.analytic["alpha"] + 0.1
    assert deep.metrics["alpha"] > shallow.metrics["alpha"]
    assert deep.metrics["cost_coefficient"] > 2 * shallow.metrics["cost_coefficient"]


def test_self_speculative_checks_pass() -> None:
    result = clustersim.run(_scenario(method="self_speculative"))
    assert result.passed, result.checks
    assert set(result.checks) == {"output_matches_target", "greedy_matches_target"}
