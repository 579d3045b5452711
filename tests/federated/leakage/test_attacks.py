"""The analytic recovery is exact for one sample; DLG recovers a sample and its label."""

from __future__ import annotations

import numpy as np

from clustersim.federated.leakage import attack
from clustersim.federated.leakage.kernels import (
    PSNR_CAP_DB,
    SmoothMLP,
    analytic_input,
    analytic_label,
    best_match,
    gradients,
    init_params,
    psnr,
)


def _setup(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    model = SmoothMLP((16, 12, 5))
    params = init_params(model, rng)
    x, y = rng.uniform(0, 1, (batch, 16)), rng.integers(0, 5, batch)
    return model, params, x, y, gradients(model, params, x, y)[0]


def test_analytic_recovery_of_one_sample_is_exact_and_idlg_finds_the_label() -> None:
    _, _, x, y, grads = _setup(1)
    np.testing.assert_allclose(analytic_input(grads), x[0], rtol=1e-12)
    assert analytic_label(grads) == y[0]


def test_analytic_recovery_of_a_batch_is_a_blend_of_its_samples() -> None:
    _, _, x, _, grads = _setup(3)
    blend = analytic_input(grads)
    assert min(np.abs(blend - xi).max() for xi in x) > 1e-3
    # the blend lies in the samples' span: x̂ = Σ c_b x_b with Σ c_b = 1
    coeffs, *_ = np.linalg.lstsq(x.T, blend, rcond=None)
    np.testing.assert_allclose(x.T @ coeffs, blend, atol=1e-10)
    np.testing.assert_allclose(coeffs.sum(), 1.0, atol=1e-10)


def test_dlg_recovers_one_sample_and_its_label() -> None:
    model, params, x, y, grads = _setup(1, seed=2)
    recon = attack.dlg(model, params, grads, 1, np.random.default_rng(7),
                       iterations=300, memory=10, tolerance=1e-24)  # fmt: skip
    score = attack.score(recon, x, y)
    assert score.mse < 1e-12 and score.label_rate == 1.0
    assert score.psnr_db > 100
    assert recon.matching_loss < 1e-20 and recon.evaluations >= recon.iterations


def test_best_match_pairs_each_reconstruction_with_its_original() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6))
    order, mse = best_match(x[[2, 0, 3, 1]] + 1e-3, x)
    np.testing.assert_array_equal(order, [2, 0, 3, 1])
    np.testing.assert_allclose(mse, 1e-6)


def test_psnr_of_a_perfect_match_is_capped() -> None:
    assert psnr(0.0, 1.0) == PSNR_CAP_DB
    assert psnr(0.01, 1.0) == 20.0
