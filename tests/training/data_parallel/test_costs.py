"""The closed forms: gradient buckets in backward order, Goyal et al.'s learning-rate rules, the
expected compressed payload sizes."""

from __future__ import annotations

import math

import pytest

from clustersim.training.data_parallel.costs import (
    LayerCost,
    buckets_of,
    expected_payload_bytes,
    learning_rate,
)
from clustersim.training.data_parallel.params import DataParallelParams


def test_buckets_follow_backward_order() -> None:
    layers = [LayerCost(f"l{i}", n, 0, 0, 0, 0) for i, n in enumerate([10, 300, 5, 200, 50])]
    assert buckets_of(layers, 1000, 4, overlap=False) == [[4, 3, 2, 1, 0]]
    # 4 B per element: 50 -> 200 B, +200 -> 1000 B closes; 5 + 300 -> 1220 B closes; 10 left
    assert buckets_of(layers, 1000, 4, overlap=True) == [[4, 3], [2, 1], [0]]


def test_linear_scaling_and_warmup() -> None:
    params = DataParallelParams(lr=0.1, batch_size=32, lr_scaling="linear", warmup=2)
    per_epoch = 10
    # Goyal et al. §2.2: start at lr, add a constant each iteration, reach k·lr after warm-up
    assert learning_rate(params, 0, 8, per_epoch) == pytest.approx(0.1)
    assert learning_rate(params, 10, 8, per_epoch) == pytest.approx(0.1 + 0.7 * 10 / 20)
    assert learning_rate(params, 20, 8, per_epoch) == pytest.approx(0.8)
    assert learning_rate(params, 500, 8, per_epoch) == pytest.approx(0.8)
    base256 = DataParallelParams(lr=0.1, batch_size=32, lr_scaling="linear", base_batch=256)
    assert learning_rate(base256, 0, 32, per_epoch) == pytest.approx(0.1 * 32 * 32 / 256)
    flat = DataParallelParams(lr=0.1)
    assert learning_rate(flat, 0, 8, per_epoch) == learning_rate(flat, 99, 8, per_epoch) == 0.1


def test_expected_payload_sizes() -> None:
    assert expected_payload_bytes(1001, 0.001, 8, "terngrad") == (251, math.ceil(1001 * 5 / 8))
    push, pull = expected_payload_bytes(10_000, 0.01, 4, "dgc")
    assert push == 4 + 100 * (4 + 1)  # gaps of ~99 fit one varint byte
    union = 1 - 0.99**4  # four workers' independent choices
    assert pull == 4 + math.ceil(union * 10_000) * (4 + 1)
