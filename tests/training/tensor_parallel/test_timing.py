"""The simulated tensor-parallel layer against its closed form: time, traffic, collectives."""

from __future__ import annotations

import pytest

import clustersim
from clustersim.training.tensor_parallel.costs import megatron_bytes_per_layer_per_device
from tests.training.tensor_parallel.helpers import scenario


@pytest.mark.parametrize("part", ["attention", "mlp", "layer"])
def test_simulated_layer_equals_the_formula(part: str) -> None:
    r = clustersim.run(scenario(part=part))
    m, a = r.metrics, r.analytic
    assert m["time_per_layer_s"] == pytest.approx(a["time_per_layer_s"], rel=1e-9)
    assert m["bytes_per_layer_per_device"] == pytest.approx(
        megatron_bytes_per_layer_per_device(2, 256, 512, 4, 2, part), rel=1e-12
    )
    assert m["allreduces_per_layer"] == (4 if part == "layer" else 2)
    assert r.checks["tensor_parallel_equals_dense"]["passed"]


def test_sequence_partition_sends_more_for_the_same_answer() -> None:
    heads = clustersim.run(scenario(part="attention"))
    seq = clustersim.run(scenario(part="attention", partition="sequence"))
    assert seq.checks["tensor_parallel_equals_dense"]["passed"]
    act = 2 * 256 * 512 * 2  # one (B, L, E) buffer in float16
    weights = 4 * 512 * 512 * 2
    expected = 2 * 3 / 4 * (4 * act + weights)  # K, V, dV, dK and the weight gradients
    assert seq.metrics["bytes_per_layer_per_device"] == pytest.approx(expected)
    assert (
        seq.metrics["bytes_per_layer_per_device"] > 2 * heads.metrics["bytes_per_layer_per_device"]
    )
    assert seq.metrics["params_bytes_per_device"] == 4 * heads.metrics["params_bytes_per_device"]
    assert seq.metrics["time_per_layer_s"] == pytest.approx(
        seq.analytic["time_per_layer_s"], rel=1e-9
    )


@pytest.mark.parametrize("algorithm", ["recursive_doubling", "halving_doubling"])
def test_other_allreduce_algorithms_carry_the_numbers_too(algorithm: str) -> None:
    r = clustersim.run(scenario(algorithm=algorithm, layers=1))
    assert r.checks["tensor_parallel_equals_dense"]["passed"]
    assert r.metrics["time_per_layer_s"] == pytest.approx(r.analytic["time_per_layer_s"], rel=1e-9)


def test_more_ranks_less_compute_more_communication() -> None:
    two = clustersim.run(scenario(degree=2, verify=False))
    four = clustersim.run(scenario(degree=4, verify=False))
    assert four.metrics["compute_time_per_layer_s"] < two.metrics["compute_time_per_layer_s"]
    assert four.metrics["bytes_per_layer_per_device"] > two.metrics["bytes_per_layer_per_device"]
