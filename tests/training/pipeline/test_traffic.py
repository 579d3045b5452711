"""Bytes that cross the stage boundaries: activations forward, their gradients back."""

from __future__ import annotations

import pytest

from tests.training.pipeline.helpers import run


def test_bytes_between_stages() -> None:
    k, m, b = 4, 4, 3
    r = run(
        {
            "schedule": "1f1b",
            "stages": k,
            "microbatches": m,
            "batch": b * m,
            "profile": {"count": 8, "flops": "1 GFLOP", "activation": "1 MB"},
        }
    )
    expected = 2 * 1e6 * b * m  # activations forward and their gradients back, per boundary
    assert r.metrics["bytes_between_stages_per_boundary"] == pytest.approx([expected] * 3)
    assert r.analytic["bytes_between_stages"] == pytest.approx(3 * expected)
    assert r.metrics["bytes_total"] == pytest.approx(3 * expected)
