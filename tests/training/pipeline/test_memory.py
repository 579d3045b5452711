"""Peak activation memory per stage: in flight micro-batches, recomputation, GPipe against 1F1B."""

from __future__ import annotations

import pytest

from clustersim.training.pipeline import costs
from tests.training.pipeline.helpers import run


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_peak_activation_memory_and_recomputation(schedule: str) -> None:
    k, m = 4, 8
    prof = {"count": 8, "flops": "10 GFLOP", "activation": "1 MB", "input": "1 MB"}
    wl = {"schedule": schedule, "stages": k, "microbatches": m, "batch": 2 * m, "profile": prof}
    plain, rec = run(wl), run({**wl, "recompute": True})
    full, inputs = 2 * 3e6, 2 * 1e6  # per micro-batch of 2: input + 2 layer outputs / input
    held = [costs.in_flight_microbatches(schedule, k, m, d) for d in range(k)]
    assert plain.metrics["peak_activation_memory_bytes_per_stage"] == pytest.approx(
        [n * full for n in held]
    )
    assert rec.metrics["peak_activation_memory_bytes_per_stage"] == pytest.approx(
        [n * inputs + full - inputs for n in held]
    )
    assert rec.analytic["peak_activation_memory_bytes_per_stage"] == pytest.approx(
        rec.metrics["peak_activation_memory_bytes_per_stage"]
    )
    # recomputation adds one forward per micro-batch: t_stage goes from 3 f to 4 f
    assert rec.metrics["time_per_minibatch_s"] == pytest.approx(
        plain.metrics["time_per_minibatch_s"] * 4 / 3, rel=1e-6
    )
    assert rec.checks["pipeline_gradient_equals_full_batch"]["passed"]


def test_1f1b_holds_k_minus_s_where_gpipe_holds_m() -> None:
    prof = {"count": 4, "flops": "1 GFLOP", "activation": "1 MB"}
    g = run({"schedule": "gpipe", "stages": 4, "microbatches": 16, "profile": prof})
    o = run({"schedule": "1f1b", "stages": 4, "microbatches": 16, "profile": prof})
    ratio = [
        a / b
        for a, b in zip(
            g.metrics["peak_activation_memory_bytes_per_stage"],
            o.metrics["peak_activation_memory_bytes_per_stage"],
            strict=True,
        )
    ]
    assert ratio == pytest.approx([16 / 4, 16 / 3, 16 / 2, 16 / 1])
    assert o.metrics["bubble_fraction"] == pytest.approx(g.metrics["bubble_fraction"], rel=1e-3)
