"""What the tensor-parallel scenario file claims in its description."""

from __future__ import annotations

import pytest

import clustersim
from tests.paths import SCENARIOS


def _run(name: str, *overrides: str) -> clustersim.Result:
    return clustersim.run(SCENARIOS / name, list(overrides))


def test_tensor_parallel_attention_scenario() -> None:
    heads = _run("tensor_parallel_attention.yaml")
    assert heads.checks["tensor_parallel_equals_dense"]["passed"]
    assert heads.metrics["time_per_layer_s"] == pytest.approx(
        heads.analytic["time_per_layer_s"], rel=1e-9
    )
    b, s, h, t = 1, 256, 1024, 4
    assert heads.metrics["bytes_per_layer_per_device"] == pytest.approx(
        4 * (t - 1) / t * b * s * h * 2
    )
    seq = _run("tensor_parallel_attention.yaml", "workload.partition=sequence")
    assert seq.checks["tensor_parallel_equals_dense"]["passed"]
    assert seq.metrics["bytes_per_layer_per_device"] > heads.metrics["bytes_per_layer_per_device"]
