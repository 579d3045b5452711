"""A worker's compute given as FLOPs pays its device's launch overhead once per kernel it
declares (``compute: {flops, bytes, kernels}``), in the simulation and the formula; a compute
given as a time is taken whole."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.hardware.presets import get_device
from tests.training.parameter_server.helpers import scenario


def _run(compute, device="H100") -> clustersim.Result:
    spec = scenario(workers=3, compute=compute)
    spec["cluster"]["device"] = device
    return clustersim.run(spec)


def test_each_declared_kernel_pays_one_launch() -> None:
    roofline = get_device("H100").roofline_time(2e12, 1e9)
    result = _run({"flops": "2 TFLOP", "bytes": "1 GB", "kernels": 200})
    assert result.metrics["compute_s"] == pytest.approx(roofline + 200 * 5e-6, rel=1e-12)
    assert result.metrics["time_per_iteration_s"] == pytest.approx(
        result.analytic["time_per_iteration_s"], rel=1e-9
    )
    off = _run(
        {"flops": "2 TFLOP", "bytes": "1 GB", "kernels": 200},
        {"preset": "H100", "launch_overhead": 0},
    )
    assert off.metrics["compute_s"] == pytest.approx(roofline, rel=1e-12)


def test_a_time_is_taken_whole() -> None:
    assert _run("20 ms").metrics["compute_s"] == pytest.approx(0.02, rel=1e-12)


def test_kernels_must_be_a_count() -> None:
    with pytest.raises(
        InputError, match="workload.compute: kernels: must be an integer >= 0, got -1"
    ):
        _run({"flops": "2 TFLOP", "kernels": -1})
