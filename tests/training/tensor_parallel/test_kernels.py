"""The tensor-parallel kernels: the dense block against finite differences, and the Megatron-LM
and sequence partitions against the dense block."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from clustersim.nn import numerical_gradient
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
