"""Decoding passes pay their device's launch overhead per kernel (5 per block, the embedding
gather and the LM head, two per Medusa head): the device's own value, set on the device, the
same in the simulated passes and in Leviathan et al.'s T and c."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.hardware.presets import get_device
from clustersim.inference.speculative.models import get_model
from tests.inference.speculative.helpers import scenario


def _run(device: Any, **workload: Any) -> clustersim.Result:
    spec = scenario(method="autoregressive", tokens=16, prompt_tokens=128, **workload)
    spec["cluster"]["device"] = device
    return clustersim.run(spec)


def test_one_target_step_is_its_roofline_plus_its_kernels_launches() -> None:
    result = _run("A100")
    a100 = get_device("A100")
    cost = get_model("llama2-7b").forward_cost(1, context=128 + 15 / 2)  # the mean context
    assert cost.kernels == 5 * 32 + 2
    step = max(cost.flops / a100.peak_flops, cost.bytes / a100.mem_bandwidth) + 162 * 5e-6
    assert result.analytic["baseline_time_per_token_s"] == pytest.approx(step, rel=1e-12)


def test_the_devices_value_is_the_one_used() -> None:
    """Twice the overhead adds 162 launches more per token, on both sides of the table."""
    base = _run({"preset": "A100", "launch_overhead": "5 us"})
    more = _run({"preset": "A100", "launch_overhead": "10 us"})
    off = _run({"preset": "A100", "launch_overhead": 0})
    for side in ("metrics", "analytic"):
        b, m, o = (getattr(r, side)["baseline_time_per_token_s"] for r in (base, more, off))
        assert m - b == pytest.approx(162 * 5e-6, rel=1e-9), side
        assert b - o == pytest.approx(162 * 5e-6, rel=1e-9), side


def test_medusa_heads_launch_two_kernels_each() -> None:
    model = get_model("llama2-7b")
    plain = model.forward_cost(4, context=100)
    heads = model.forward_cost(4, context=100, extra_params=1.0, extra_kernels=2 * 3)
    assert heads.kernels - plain.kernels == 6
    spec = scenario(method="medusa", medusa_topk=[3, 2, 2], tokens=32)
    off = scenario(method="medusa", medusa_topk=[3, 2, 2], tokens=32)
    off["cluster"]["device"] = {"preset": "A100", "launch_overhead": 0}
    on_busy = clustersim.run(spec).metrics["target_busy_s"]
    off_result = clustersim.run(off)
    passes = off_result.metrics["target_passes"]
    launches = passes * (5 * 32 + 2 + 2 * 3)
    assert on_busy - off_result.metrics["target_busy_s"] == pytest.approx(launches * 5e-6, rel=1e-9)
