"""Tensor parallelism: the dense kernels against finite differences, the Megatron-LM and sequence
partitions against the dense block, and the simulated layer time and traffic against the
closed forms of Shoeybi et al. 2019."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.nn import numerical_gradient
from clustersim.scenario.loader import load_scenario
from clustersim.training.tensor_parallel.kernels import (
    BlockWeights,
    _heads,
    attention_backward,
    attention_forward,
    block_dense,
    block_megatron,
    block_sequence,
    compare,
    drive,
    megatron_bytes_per_layer_per_device,
    mlp_backward,
    mlp_forward,
)


def _block(b: int = 2, s: int = 4, h: int = 8, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((b, s, h)), rng.standard_normal((b, s, h)), rng


def test_headwise_partition_shape() -> None:
    # lecture notes: (B, L, E) -> (B, M, L, E/M), head k = features [k·D, (k+1)·D)
    x = np.arange(2 * 3 * 8).reshape(2, 3, 8).astype(float)
    heads = _heads(x, 4)
    assert heads.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(heads[1, 2, 0], x[1, 0, 4:6])


def test_attention_and_mlp_backward_match_finite_differences() -> None:
    x, dy, rng = _block(b=1, s=3, h=4)
    w = BlockWeights.random(4, rng)
    _, cache = attention_forward(x, w.wq, w.wk, w.wv, w.wo, 2)
    dx, grads = attention_backward(dy, cache, w.wq, w.wk, w.wv, w.wo, 2)

    def f() -> float:
        return float((attention_forward(x, w.wq, w.wk, w.wv, w.wo, 2)[0] * dy).sum())

    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-6, atol=1e-9)
    for name in ("wq", "wk", "wv", "wo"):
        np.testing.assert_allclose(
            grads[name], numerical_gradient(f, getattr(w, name)), rtol=1e-6, atol=1e-9, err_msg=name
        )
    _, cache = mlp_forward(x, w.w1, w.w2)
    dx, grads = mlp_backward(dy, cache, w.w1, w.w2)

    def g() -> float:
        return float((mlp_forward(x, w.w1, w.w2)[0] * dy).sum())

    np.testing.assert_allclose(dx, numerical_gradient(g, x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grads["w1"], numerical_gradient(g, w.w1), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("part", ["mlp", "attention", "layer"])
@pytest.mark.parametrize("t", [1, 2, 4])
@pytest.mark.parametrize("kernel", [block_megatron, block_sequence])
def test_partitioned_block_equals_dense(part: str, t: int, kernel: Any) -> None:
    x, dy, rng = _block(b=2, s=8, h=16)
    w = BlockWeights.random(16, rng)
    dense = block_dense(x, dy, w, 4, part)
    split = drive(kernel(x, dy, w, 4, t, part))
    assert compare(dense, split)["passed"], compare(dense, split)


def test_megatron_collective_count_and_sizes() -> None:
    """2 all-reduces of B·L·E forward and 2 backward per block; 1 + 1 for a half."""
    x, dy, rng = _block(b=2, s=4, h=8)
    w = BlockWeights.random(8, rng)
    for part, count in (("layer", 4), ("attention", 2), ("mlp", 2)):
        seen: list[tuple[int, ...]] = []

        def record(partials: np.ndarray, seen: list = seen) -> np.ndarray:
            seen.append(partials.shape)
            return partials.sum(0)

        drive(block_megatron(x, dy, w, 4, 2, part), record)
        assert seen == [(2, x.size)] * count


def test_a_wrong_reduction_is_caught() -> None:
    x, dy, rng = _block()
    w = BlockWeights.random(8, rng)
    dense = block_dense(x, dy, w, 2, "layer")
    wrong = drive(block_megatron(x, dy, w, 2, 2, "layer"), lambda p: p[0])  # drops a rank
    assert not compare(dense, wrong)["passed"]


def test_bytes_formula() -> None:
    # Shoeybi et al.: 8·b·s·h·(t-1)/t elements per device per layer with a ring
    b, s, h, t = 4, 2048, 4096, 8
    assert megatron_bytes_per_layer_per_device(b, s, h, t, 2) == 8 * b * s * h * (t - 1) / t * 2
    assert megatron_bytes_per_layer_per_device(b, s, h, t, 2, "attention") == pytest.approx(
        megatron_bytes_per_layer_per_device(b, s, h, t, 2) / 2
    )


def _scenario(**workload: Any) -> dict[str, Any]:
    wl = {
        "kind": "tensor_parallel",
        "degree": 4,
        "batch": 2,
        "seq_len": 256,
        "hidden": 512,
        "heads": 8,
        "layers": 2,
        **workload,
    }
    return {
        "name": "tp-test",
        "cluster": {
            "topology": {"kind": "switch", "nodes": 4},
            "device": "A100",
            "link": "NVLink3",
        },
        "workload": wl,
    }


@pytest.mark.parametrize("part", ["attention", "mlp", "layer"])
def test_simulated_layer_equals_the_formula(part: str) -> None:
    r = clustersim.run(_scenario(part=part))
    m, a = r.metrics, r.analytic
    assert m["time_per_layer_s"] == pytest.approx(a["time_per_layer_s"], rel=1e-9)
    assert m["bytes_per_layer_per_device"] == pytest.approx(
        megatron_bytes_per_layer_per_device(2, 256, 512, 4, 2, part), rel=1e-12
    )
    assert m["allreduces_per_layer"] == (4 if part == "layer" else 2)
    assert r.checks["tensor_parallel_equals_dense"]["passed"]


def test_sequence_partition_sends_more_for_the_same_answer() -> None:
    heads = clustersim.run(_scenario(part="attention"))
    seq = clustersim.run(_scenario(part="attention", partition="sequence"))
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
    r = clustersim.run(_scenario(algorithm=algorithm, layers=1))
    assert r.checks["tensor_parallel_equals_dense"]["passed"]
    assert r.metrics["time_per_layer_s"] == pytest.approx(r.analytic["time_per_layer_s"], rel=1e-9)


def test_more_ranks_less_compute_more_communication() -> None:
    two = clustersim.run(_scenario(degree=2, verify=False))
    four = clustersim.run(_scenario(degree=4, verify=False))
    assert four.metrics["compute_time_per_layer_s"] < two.metrics["compute_time_per_layer_s"]
    assert four.metrics["bytes_per_layer_per_device"] > two.metrics["bytes_per_layer_per_device"]


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"heads": 16, "degree": 3}, "heads 16 must be divisible by degree 3"),
        ({"hidden": 500}, "hidden 500 must be divisible by heads 8"),
        ({"partition": "sequence", "seq_len": 250}, "seq_len 250 must be divisible by degree 4"),
        ({"degree": 0}, "workload.degree: must be a positive integer, got 0"),
        ({"algorithm": "carrier_pigeon"}, "unknown all-reduce algorithm 'carrier_pigeon'"),
    ],
)
def test_bad_parameters(change: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(_scenario(**change))
    assert text in str(err.value)


def test_too_few_ranks() -> None:
    with pytest.raises(InputError, match="degree is 8 but the cluster has 4"):
        clustersim.run(_scenario(degree=8))
