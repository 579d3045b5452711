"""The data-parallel iteration pays the device's launch overhead once per kernel: one forward
kernel per layer, two backward kernels per layer with parameters (one without), one per layer
of each compression pass, one update; with the overhead on, the simulation still equals the
analytic bucket recurrence on a contention-free cluster."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.training.profile_schema import ProfileModel, build_profile
from tests.training.data_parallel.helpers import DGC, RESNET, scenario

OFF = {"preset": "H100", "launch_overhead": 0.0}


def _compute(device: Any, slowdown: float | None = None, **workload: Any) -> clustersim.Result:
    spec = scenario(topology="fully_connected", **workload)
    spec["cluster"]["device"] = device
    if slowdown is not None:
        spec["cluster"]["slowdown"] = {"n1": slowdown}
    return clustersim.run(spec)


def _launches(on: clustersim.Result, off: clustersim.Result) -> float:
    """Kernels per iteration, read from the compute the overhead added (5 us each)."""
    return (on.metrics["compute_s"] - off.metrics["compute_s"]) / 5e-6


def test_an_mlp_launches_three_kernels_per_layer_and_one_update() -> None:
    workload = {"iterations": 3, "model": [32, 64, 64, 10]}
    on, off = _compute("H100", **workload), _compute(OFF, **workload)
    assert _launches(on, off) == pytest.approx(3 * 3 + 1, rel=1e-9)


POOLED = {
    "layers": [
        {"flops": 2e6, "activation": 4096, "params": 8192},
        {"flops": 1e3, "activation": 1024, "params": 0},  # a pooling layer: no weights
        {"flops": 2e5, "activation": 40, "params": 4000},
    ]
}


def test_a_profile_layer_without_parameters_has_one_backward_kernel() -> None:
    layers = build_profile(ProfileModel.model_validate(POOLED)).layers
    assert [bool(layer.params) for layer in layers] == [True, False, True]
    workload = {"iterations": 2, "model": POOLED, "batch_size": 8}
    on, off = _compute("H100", **workload), _compute(OFF, **workload)
    assert _launches(on, off) == pytest.approx(3 + (2 + 1 + 2) + 1, rel=1e-9)


def test_compression_launches_one_kernel_per_layer_of_its_bucket() -> None:
    workload = {"iterations": 3, "model": [32, 64, 64, 10], "compression": DGC}
    on, off = _compute("H100", **workload), _compute(OFF, **workload)
    assert _launches(on, off) == pytest.approx(3 * 3 + 1 + 3, rel=1e-9)


def test_a_straggler_launches_at_its_slowdown_too() -> None:
    workload = {"iterations": 3, "model": [32, 64, 64, 10]}
    on, off = _compute("H100", 2.0, **workload), _compute(OFF, 2.0, **workload)
    assert _launches(on, off) == pytest.approx(2 * (3 * 3 + 1), rel=1e-9)


@pytest.mark.parametrize(
    "workload",
    [
        {"iterations": 3, "model": [32, 64, 64, 10]},
        {"iterations": 2, "overlap": True, "model": RESNET, "batch_size": 8},
        {"iterations": 2, "model": POOLED, "batch_size": 8, "overlap": True, "bucket_size": 1},
    ],
    ids=["mlp", "overlap", "buckets"],
)
def test_with_the_overhead_on_the_simulation_is_the_analytic_iteration(
    workload: dict[str, Any],
) -> None:
    result = _compute({"preset": "H100", "launch_overhead": "20 us"}, **workload)
    for name in ("time_per_iteration_s", "compute_s", "scaling_efficiency"):
        assert result.metrics[name] == pytest.approx(result.analytic[name], rel=1e-9), name


def test_compressed_compute_is_the_analytic_one() -> None:
    """DGC's exchange is priced at its expected payload (not equal to the drawn one), but the
    compute, compression kernels and their launches included, is the same on both sides."""
    workload = {"iterations": 3, "model": [32, 64, 64, 10], "compression": DGC}
    result = _compute({"preset": "H100", "launch_overhead": "20 us"}, **workload)
    assert result.metrics["compute_s"] == pytest.approx(result.analytic["compute_s"], rel=1e-9)
