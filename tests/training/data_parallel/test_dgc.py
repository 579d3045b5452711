"""The DGC kernel: the warm-up schedule, top-k, residuals, momentum correction and masking, local
clipping, and the conservation error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.training.data_parallel.compression import (
    DGCCompressor,
    dgc_keep_fraction,
    topk_indices,
)


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
