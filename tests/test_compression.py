"""Gradient compression: the DGC kernel (top-k, residuals, momentum correction and masking,
local clipping, warm-up), the run-length encoding, TernGrad's unbiasedness, and the
``data_parallel`` workload with compression (checks, negative controls, byte counts, timing
against the formula, and DGC's accuracy at 99.9 % sparsity)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.training.data_parallel import compression
from clustersim.training.data_parallel.compression import (
    DGCCompressor,
    decode_sparse,
    dgc_keep_fraction,
    encode_sparse,
    hoeffding_bound,
    pack_levels,
    pack_ternary,
    sparse_layer_bytes,
    ternarize,
    terngrad_clip,
    topk_indices,
    unpack_levels,
    unpack_ternary,
    varint_decode,
    varint_encode,
    varint_sizes,
)
from clustersim.training.data_parallel.kind import expected_payload_bytes

GBPS = 1e9 / 8


# ------------------------------------------------------------------------------- encoding
def test_varint_round_trip_and_sizes() -> None:
    values = np.array([0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**40], dtype=np.uint64)
    assert varint_sizes(values).tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 6]
    data = varint_encode(values)
    assert data.size == varint_sizes(values).sum()
    assert varint_encode(np.array([300])).tolist() == [0xAC, 0x02]  # the protobuf example
    decoded, used = varint_decode(np.concatenate([data, [7, 7]]).astype(np.uint8), values.size)
    assert decoded.tolist() == values.tolist() and used == data.size


def test_sparse_encoding_round_trip() -> None:
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(50_000, 60, replace=False))
    vals = rng.standard_normal(60)
    dense = np.arange(3.0)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    payload = encode_sparse([(idx, vals), dense, empty])
    assert payload.size == sparse_layer_bytes(idx) + 3 * 4 + 4
    (got_idx, got_vals), got_dense, (none, _) = decode_sparse(
        payload, [(50_000, True), (3, False), (10, True)]
    )
    assert np.array_equal(got_idx, idx)
    assert np.array_equal(got_vals, vals.astype(np.float32))  # float32 on the wire, exactly
    assert np.array_equal(got_dense, dense) and none.size == 0
    with pytest.raises(ValueError, match="trailing"):
        decode_sparse(
            np.concatenate([payload, [0]]).astype(np.uint8),
            [(50_000, True), (3, False), (10, True)],
        )


def test_run_length_encoding_size_at_999_sparsity() -> None:
    """0.1 % of a million entries: gaps of ~1000 take 2 varint bytes, so ~6 bytes per entry."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    idx = np.sort(rng.choice(n, n // 1000, replace=False))
    size = sparse_layer_bytes(idx)
    assert 5.5 * idx.size < size < 6.2 * idx.size
    assert 4 * n / size > 600
    push, _ = expected_payload_bytes(n, 0.001, 4, "dgc")
    assert push == pytest.approx(size, rel=0.05)


@pytest.mark.parametrize("bits", range(1, 9))
def test_level_packing_round_trip(bits: int) -> None:
    rng = np.random.default_rng(bits)
    for n in (0, 1, 9, 1001):
        levels = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), n)
        packed = pack_levels(levels, bits)
        assert packed.size == math.ceil(n * bits / 8)
        assert np.array_equal(unpack_levels(packed, n, bits), levels)
    t = np.array([-1, 0, 1, 1, 0, -1, 1], dtype=np.int8)
    assert pack_ternary(t).size == 2 and np.array_equal(unpack_ternary(pack_ternary(t), 7), t)


# ------------------------------------------------------------------------------ DGC kernel
def test_warmup_schedule_is_the_papers() -> None:
    """Lin et al. §3.4: 75 %, 93.75 %, 98.4375 %, 99.6 %, then 99.9 % in the fifth epoch."""
    sparsity = [1 - dgc_keep_fraction(e + 0.5, 0.999, 4) for e in range(6)]
    paper = [0.75, 0.9375, 0.984375, 0.996, 0.999, 0.999]
    assert sparsity == pytest.approx(paper, abs=0.002)
    assert dgc_keep_fraction(0, 0.999, 0) == pytest.approx(0.001)
    assert dgc_keep_fraction(3.99, 0.9, 4) > dgc_keep_fraction(4, 0.9, 4) == pytest.approx(0.1)


def test_fractional_warmup_is_cut_into_stages() -> None:
    assert dgc_keep_fraction(0.2, 0.999, 0.5) == pytest.approx(0.001**0.5)
    assert dgc_keep_fraction(0.5, 0.999, 0.5) == pytest.approx(0.001)
    stages = [dgc_keep_fraction(e, 0.999, 1.5) for e in (0.1, 0.8, 1.6)]
    assert stages == pytest.approx([0.1, 0.01, 0.001])


def test_expected_payload_sizes() -> None:
    assert expected_payload_bytes(1001, 0.001, 8, "terngrad") == (251, math.ceil(1001 * 5 / 8))
    push, pull = expected_payload_bytes(10_000, 0.01, 4, "dgc")
    assert push == 4 + 100 * (4 + 1)  # gaps of ~99 fit one varint byte
    union = 1 - 0.99**4  # four workers' independent choices
    assert pull == 4 + math.ceil(union * 10_000) * (4 + 1)


def test_topk_picks_largest_magnitudes() -> None:
    values = np.array([0.1, -5.0, 3.0, -0.2, 4.0, 0.0])
    assert topk_indices(values, 3).tolist() == [1, 2, 4]
    assert topk_indices(values, 0).size == 0 and topk_indices(values, 9).size == 6


def compressor(n: int = 1000, workers: int = 1, momentum: float = 0.0, **kwargs) -> DGCCompressor:
    kwargs.setdefault("sparsity", 0.99)
    return DGCCompressor(
        {"a": (n,), "b": (n // 2,)}, frozenset({"a", "b"}), workers, momentum, **kwargs
    )


def test_residual_keeps_what_was_not_sent_every_step() -> None:
    rng = np.random.default_rng(2)
    comp = compressor(momentum=0.9)
    for k in range(30):
        grads = {"a": rng.standard_normal(1000), "b": rng.standard_normal(500)}
        before = {n: comp.v[n] + 0.9 * comp.u[n] + grads[n] for n in grads}
        step = comp.step(grads, epoch=k)
        for n in grads:
            idx, values = step.sparse[n]
            assert idx.size == math.ceil(0.01 * grads[n].size)
            np.testing.assert_allclose(step.accumulated[n], before[n], rtol=1e-12)
            assert np.all(comp.v[n][idx] == 0)  # sent entries leave the residual
            assert np.all(comp.u[n][idx] == 0)  # momentum factor masking
            assert np.all(np.abs(values).min() >= np.abs(comp.v[n]).max())  # top-k
        assert comp.conservation_error(step, step.sparse) == 0.0


def test_lecture_notes_algorithm_is_the_uncorrected_special_case() -> None:
    """Momentum 0, no correction, no clipping: G accumulates; Σ sent + residual = Σ G."""
    rng = np.random.default_rng(3)
    comp = compressor(momentum_correction=False)
    total = {"a": np.zeros(1000), "b": np.zeros(500)}
    sent = {"a": np.zeros(1000), "b": np.zeros(500)}
    for k in range(50):
        grads = {"a": rng.standard_normal(1000), "b": rng.standard_normal(500)}
        step = comp.step(grads, epoch=k)
        for n in grads:
            total[n] += grads[n]
            np.add.at(sent[n], *step.sparse[n])
    for n in total:
        np.testing.assert_allclose(sent[n] + comp.v[n], total[n], atol=1e-12)
        assert not comp.u[n].any()


def test_momentum_correction_by_hand() -> None:
    comp = DGCCompressor({"w": (3,)}, frozenset({"w"}), 1, 0.5, sparsity=0.6)  # k = 2 of 3
    step = comp.step({"w": np.array([1.0, 0.1, -2.0])}, 0)
    # U = G, V = U: send the two largest (-2 and 1), keep 0.1; masking zeroes U there
    assert step.sparse["w"][0].tolist() == [0, 2]
    np.testing.assert_allclose(comp.v["w"], [0, 0.1, 0])
    np.testing.assert_allclose(comp.u["w"], [0, 0.1, 0])
    step = comp.step({"w": np.array([0.0, 0.0, 0.3])}, 0)
    # U = 0.5·[0, 0.1, 0] + [0, 0, 0.3] = [0, 0.05, 0.3]; V = [0, 0.1, 0] + U = [0, 0.15, 0.3]
    np.testing.assert_allclose(step.accumulated["w"], [0, 0.15, 0.3])
    assert step.sparse["w"][0].tolist() == [1, 2]


def test_local_clipping_threshold_scales_with_inverse_sqrt_workers() -> None:
    comp = compressor(workers=4, clip_norm=2.0)
    g = {"a": np.full(1000, 10 / math.sqrt(1500)), "b": np.full(500, 10 / math.sqrt(1500))}
    step = comp.step(g, 0)  # ‖G‖ = 10, local threshold 2 / sqrt(4) = 1
    assert step.clip_factor == pytest.approx(0.1)
    small = compressor(workers=4, clip_norm=2.0).step({k: v / 100 for k, v in g.items()}, 0)
    assert small.clip_factor == 1.0


def test_conservation_error_sees_a_lost_entry() -> None:
    comp = compressor()
    step = comp.step({"a": np.arange(1000.0), "b": np.ones(500)}, 0)
    idx, values = step.sparse["a"]
    broken = dict(step.sparse, a=(idx[1:], values[1:]))
    assert comp.conservation_error(step, broken) == pytest.approx(abs(values[0]))


# ------------------------------------------------------------------------------- TernGrad
def test_ternary_values_and_clipping() -> None:
    rng = np.random.default_rng(4)
    g = rng.standard_normal(10_000)
    g[0] = 50.0  # an outlier
    clipped = terngrad_clip(g, 2.5)
    assert clipped.max() == pytest.approx(2.5 * g.std())
    s, t = ternarize(clipped, rng)
    assert s == pytest.approx(np.abs(clipped).max())
    assert set(np.unique(t)) <= {-1, 0, 1}
    assert np.all(t[clipped > 0] >= 0) and np.all(t[clipped < 0] <= 0)
    with pytest.raises(ValueError, match="scale"):
        ternarize(clipped, rng, scale=0.5 * s)


def _mean_error(
    draw, g: np.ndarray, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    s = float(np.abs(g).max())
    total = np.zeros_like(g)
    for _ in range(draws):
        total += draw(g, rng, s) - g
    bound = hoeffding_bound(draws * s * s, g.size, 1e-6)  # each draw in [min(0, s·sign), ...]
    return np.abs(total), float(bound)


def _terngrad(g: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    scale, t = ternarize(g, rng, s)
    return scale * t


def _rounded(g: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Negative control: deterministic rounding to the nearest of {-s, 0, s}: biased."""
    return s * np.sign(g) * (np.abs(g) / s > 0.5)


def test_terngrad_is_unbiased_within_the_hoeffding_bound() -> None:
    rng = np.random.default_rng(5)
    g = rng.standard_normal(2000) * 0.01
    error, bound = _mean_error(_terngrad, g, 3000, rng)
    assert error.max() <= bound
    # and the mean error shrinks like 1/sqrt(draws)
    few, _ = _mean_error(_terngrad, g, 100, np.random.default_rng(6))
    ratio = (few.mean() / 100) / (error.mean() / 3000)
    assert ratio == pytest.approx(math.sqrt(30), rel=0.15)


def test_biased_rounding_fails_the_bound() -> None:
    rng = np.random.default_rng(5)
    g = rng.standard_normal(2000) * 0.01
    error, bound = _mean_error(_rounded, g, 3000, rng)
    assert error.max() > 3 * bound


# ---------------------------------------------------------------------- the workload kind
def scenario(
    nodes: int = 4,
    topology: str = "switch",
    bandwidth: float = GBPS,
    latency: float = 50e-6,
    device: str = "RaspberryPi4",
    **workload,
) -> dict:
    base = {
        "kind": "data_parallel",
        "iterations": 30,
        "model": [16, 64, 64, 4],
        "dataset": {"samples": 512, "test_samples": 256},
        "batch_size": 16,
    }
    base.update(workload)
    return {
        "name": "compression-test",
        "seed": 5,
        "cluster": {
            "topology": {"kind": topology, "nodes": nodes},
            "device": device,
            "link": {"bandwidth": bandwidth, "latency": latency},
        },
        "workload": base,
    }


DGC = {"method": "dgc", "sparsity": 0.99, "warmup_epochs": 1}
TERNGRAD = {"method": "terngrad"}


@pytest.mark.parametrize("sync", ["allreduce", "parameter_server"])
@pytest.mark.parametrize("method", [DGC, TERNGRAD], ids=["dgc", "terngrad"])
def test_compressed_runs_pass_their_checks(method: dict, sync: str) -> None:
    result = clustersim.run(
        scenario(nodes=5, compression=method, sync=sync, overlap=True, bucket_size=10_000)
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
    result = clustersim.run(scenario(compression=TERNGRAD, iterations=5, compare_dense=False))
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
        scenario(
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
        scenario(iterations=40, compression={"method": "dgc", "sparsity": 0.0, "clipping": False})
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
    result = clustersim.run(scenario(compression=DGC, iterations=3, compare_dense=False))
    record = result.checks["dgc_residual_conserved"]
    assert not record["passed"] and record["max_abs_err"] > 100 * record["tolerance"]


def test_terngrad_negative_control_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounding instead of sampling is biased, and the check over the run notices."""

    def rounding(g, rng, scale=None):  # type: ignore[no-untyped-def]
        s = float(np.abs(g).max()) if scale is None else scale
        return s, (np.sign(g) * (np.abs(g) / s > 0.5)).astype(np.int8) if s else np.zeros(
            g.shape, dtype=np.int8
        )

    monkeypatch.setattr("clustersim.training.data_parallel.kind.ternarize", rounding)
    result = clustersim.run(scenario(compression=TERNGRAD, iterations=60, compare_dense=False))
    assert not result.checks["terngrad_unbiased"]["passed"]


@pytest.mark.parametrize("sync", ["allreduce", "parameter_server"])
@pytest.mark.parametrize("method", ["dgc", "terngrad"])
def test_timing_only_compression_matches_formula(method: str, sync: str) -> None:
    """A profile model: expected payload sizes in simulation and formula alike."""
    result = clustersim.run(
        scenario(
            nodes=5,
            bandwidth=10 * GBPS,
            device="V100",
            model={"builtin": "resnet50"},
            batch_size=32,
            iterations=12,
            sync=sync,
            compression={"method": method},
            dataset={"samples": 1024},
            workers=4,
        )
    )
    m, a = result.metrics, result.analytic
    assert not result.checks and "final_accuracy" not in m
    # exact for the all-gather; the parameter-server formula rounds a payload up to whole
    # 4-byte elements (at most 3 bytes per phase)
    rel = 1e-9 if sync == "allreduce" else 1e-6
    assert m["time_per_iteration_s"] == pytest.approx(a["time_per_iteration_s"], rel=rel)
    assert m["dense_time_per_iteration_s"] > 1.5 * m["time_per_iteration_s"]


def test_dgc_999_stays_close_to_dense_with_100x_fewer_bytes() -> None:
    """The headline of Lin et al.: 99.9 % sparsity, dense accuracy, >100x less traffic.

    A [32, 512, 512, 10] MLP has 280 k weights, so 0.1 % is 280 entries per step.
    """
    result = clustersim.run(
        scenario(
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


@pytest.mark.parametrize(
    ("comp", "message"),
    [
        ({"method": "zip"}, "method"),
        ({"method": "dgc", "sparsity": 1.0}, "sparsity"),
        ({"method": "terngrad", "sparsity": 0.9}, "sparsity"),
    ],
)
def test_compression_input_errors(comp: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clustersim.run(scenario(compression=comp))
