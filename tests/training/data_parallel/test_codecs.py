"""Compressed runs: their checks pass, the bytes on the wire, DGC without sparsity is momentum SGD,
negative controls fail, and DGC at 99.9 % sparsity stays close to dense with >100x fewer bytes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import clustersim
from clustersim.training.data_parallel import compression
from clustersim.training.data_parallel.compression import DGCCompressor
from tests.training.data_parallel.helpers import DGC, TERNGRAD, compressed_scenario


@pytest.mark.parametrize("sync", ["allreduce", "parameter_server"])
@pytest.mark.parametrize("method", [DGC, TERNGRAD], ids=["dgc", "terngrad"])
def test_compressed_runs_pass_their_checks(method: dict, sync: str) -> None:
    result = clustersim.run(
        compressed_scenario(
            nodes=5, compression=method, sync=sync, overlap=True, bucket_size=10_000
        )
    )
    m, checks = result.metrics, result.checks
    expected = {
        "compressed_exchange_exact",
        "dgc_residual_conserved" if method is DGC else "terngrad_unbiased",
    }
    assert set(checks) == expected
    assert all(c["passed"] for c in checks.values()), checks
    assert m["buckets"] > 1
    assert m["compression_ratio"] == pytest.approx(m["dense_bytes_total"] / m["bytes_total"])
    assert m["dense_measured_bytes_total"] == m["dense_bytes_total"]
    assert 0 < m["final_accuracy"] <= 1 and 0 < m["dense_final_accuracy"] <= 1
    assert m["bytes_total"] < m["dense_bytes_total"] / 4


def test_terngrad_bytes_are_two_bits_per_element() -> None:
    result = clustersim.run(
        compressed_scenario(compression=TERNGRAD, iterations=5, compare_dense=False)
    )
    m = result.metrics
    sizes = [16 * 64, 64, 64 * 64, 64, 64 * 4, 4]  # weights and biases: one scale each
    assert m["payload_bytes_per_worker"] == sum(math.ceil(n / 4) for n in sizes)
    assert m["gradient_compression_ratio"] == pytest.approx(16, rel=0.01)
    # ring all-gather of 4 payloads ((p-1) sends each) and the scale all-reduce (2(p-1) each)
    expected = 5 * (3 * 4 * m["payload_bytes_per_worker"] + 2 * 3 * 4 * len(sizes) / 2)
    assert m["bytes_total"] == pytest.approx(expected)


def test_dgc_without_sparsity_or_masking_is_momentum_sgd() -> None:
    """Sparsity 0, no masking, no clipping: U is the velocity, every entry is sent each step,
    and w -= lr·Σ_k U_k is momentum SGD. Only the float32 values on the wire differ."""
    result = clustersim.run(
        compressed_scenario(
            iterations=40,
            compression={
                "method": "dgc",
                "sparsity": 0.0,
                "momentum_masking": False,
                "clipping": False,
            },
        )
    )
    m = result.metrics
    np.testing.assert_allclose(m["train_loss_curve"], m["dense_train_loss_curve"], rtol=1e-6)
    assert m["final_accuracy"] == m["dense_final_accuracy"]
    # the same with masking is not: sent entries lose their velocity
    masked = clustersim.run(
        compressed_scenario(
            iterations=40, compression={"method": "dgc", "sparsity": 0.0, "clipping": False}
        )
    ).metrics
    assert abs(masked["final_loss"] - m["dense_final_loss"]) > 1e-3


def test_dgc_negative_control_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A residual that also keeps the sent entries (gradients counted twice) must fail."""
    original = compression.DGCCompressor.step

    def leaky(self: DGCCompressor, grads, epoch):  # type: ignore[no-untyped-def]
        step = original(self, grads, epoch)
        for name, (idx, values) in step.sparse.items():
            np.put(self.v[name], idx, values)
        return step

    monkeypatch.setattr(compression.DGCCompressor, "step", leaky)
    result = clustersim.run(compressed_scenario(compression=DGC, iterations=3, compare_dense=False))
    record = result.checks["dgc_residual_conserved"]
    assert not record["passed"] and record["max_abs_err"] > 100 * record["tolerance"]


def test_terngrad_negative_control_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounding instead of sampling is biased, and the check over the run notices."""

    def rounding(g, rng, scale=None):  # type: ignore[no-untyped-def]
        s = float(np.abs(g).max()) if scale is None else scale
        return s, (np.sign(g) * (np.abs(g) / s > 0.5)).astype(np.int8) if s else np.zeros(
            g.shape, dtype=np.int8
        )

    monkeypatch.setattr("clustersim.training.data_parallel.codecs.ternarize", rounding)
    result = clustersim.run(
        compressed_scenario(compression=TERNGRAD, iterations=60, compare_dense=False)
    )
    assert not result.checks["terngrad_unbiased"]["passed"]


def test_dgc_999_stays_close_to_dense_with_100x_fewer_bytes() -> None:
    """The headline of Lin et al.: 99.9 % sparsity, dense accuracy, >100x less traffic.

    A [32, 512, 512, 10] MLP has 280 k weights, so 0.1 % is 280 entries per step.
    """
    result = clustersim.run(
        compressed_scenario(
            model=[32, 512, 512, 10],
            iterations=200,
            batch_size=16,
            dataset={"samples": 1024, "test_samples": 1024},
            compression={"method": "dgc", "sparsity": 0.999, "warmup_epochs": 1},
        )
    )
    m = result.metrics
    assert all(c["passed"] for c in result.checks.values())
    assert m["final_accuracy"] > 0.7  # chance is 0.1
    assert abs(m["final_accuracy"] - m["dense_final_accuracy"]) < 0.03
    assert m["compression_ratio"] > 100
    assert m["compression_ratio_after_warmup"] > 300
    assert m["gradient_compression_ratio"] > 200
    assert m["time_per_iteration_s"] < m["dense_time_per_iteration_s"] / 4
