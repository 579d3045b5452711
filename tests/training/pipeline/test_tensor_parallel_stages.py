"""Stages split tensor-parallel ways: compute divides, all-reduces appear, the time adds up."""

from __future__ import annotations

import pytest

from tests.training.pipeline.helpers import run


def test_tensor_parallel_stages() -> None:
    wl = {
        "schedule": "1f1b",
        "stages": 2,
        "microbatches": 4,
        "profile": {
            "builtin": "transformer",
            "count": 4,
            "hidden": 256,
            "seq_len": 128,
            "heads": 8,
        },
    }
    one = run(
        wl, nodes=4, topology="fully_connected", link={"bandwidth": "100 GB/s", "latency": "1 us"}
    )
    two = run(
        {**wl, "tensor_parallel": 2},
        nodes=4,
        topology="fully_connected",
        link={"bandwidth": "100 GB/s", "latency": "1 us"},
    )
    assert two.metrics["stage_compute_time_s"] == pytest.approx(
        [x / 2 for x in one.metrics["stage_compute_time_s"]]
    )
    assert two.metrics["tensor_parallel_comm_time_fraction"] > 0
    # the analytic time leaves out the point-to-point latencies between stages
    assert two.analytic["time_per_minibatch_s"] < two.metrics["time_per_minibatch_s"]
    assert two.metrics["time_per_minibatch_s"] == pytest.approx(
        two.analytic["time_per_minibatch_s"], rel=5e-2
    )
    fractions = [
        two.metrics[k]
        for k in (
            "compute_time_fraction",
            "tensor_parallel_comm_time_fraction",
            "data_parallel_sync_time_fraction",
            "idle_time_fraction",
        )
    ]
    assert sum(fractions) == pytest.approx(1.0) and min(fractions) >= -1e-12
    assert two.checks["pipeline_gradient_equals_full_batch"]["passed"]
