"""The sharded aggregation equals the sum, a lost shard is caught, and a timing-only run moves no
data."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.training.parameter_server import kernels
from tests.training.parameter_server.helpers import run


@pytest.mark.parametrize(
    ("mode", "extra"),
    [
        ("sync", {}),
        ("sync", {"backup_workers": 1, "stragglers": [1, 2, 3]}),
        ("async", {"stragglers": {"dist": "exponential"}}),
        ("ssp", {"staleness": 1}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_aggregate_equals_sum(mode: str, extra: dict, dtype: str) -> None:
    result = run(
        workers=3, servers=2, model_size=8 * 1001, dtype=dtype, mode=mode, verify=True, **extra
    )
    record = result.checks["ps_aggregate_equals_sum"]
    assert record["passed"], record
    assert record["pushes"] == 3 * 3 - result.metrics["gradients_dropped"]


def test_verification_catches_a_lost_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    original = kernels.ps_push

    def drop_last_shard(accumulators, gradient, lengths):
        original(accumulators[:-1], gradient, lengths[:-1])

    monkeypatch.setattr(kernels, "ps_push", drop_last_shard)
    result = run(workers=3, servers=2, model_size=4 * 1000, verify=True)
    assert not result.checks["ps_aggregate_equals_sum"]["passed"]
    assert not result.passed


def test_verify_false_moves_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object) -> None:
        raise AssertionError("kernel called in a timing-only run")

    monkeypatch.setattr(kernels, "ps_push", forbidden)
    assert run(workers=3).checks == {}


def test_kernel_sums_shards() -> None:
    grads = np.arange(12, dtype=np.float64).reshape(3, 4)
    lengths = np.array([3, 1])
    np.testing.assert_array_equal(kernels.ps_aggregate(grads, lengths), grads.sum(axis=0))
