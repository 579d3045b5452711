"""The two attacks on a transmitted gradient, and how well a reconstruction matches.

:func:`dlg` runs Deep Leakage from Gradients (Zhu, Liu & Han, NeurIPS 2019, Algorithm 1) with
the hand-written matching gradient of :func:`~clustersim.federated.leakage.kernels.matching`
and the L-BFGS of :mod:`~clustersim.federated.leakage.lbfgs`; :func:`analytic` the exact
recovery through the first layer's bias (:func:`~clustersim.federated.leakage.kernels.
analytic_input`) and iDLG's label. :func:`score` pairs the reconstructions with the private
samples (:func:`~clustersim.federated.leakage.kernels.best_match`) and reports the mean squared
error, the PSNR against the batch's dynamic range, and the share of labels recovered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clustersim.federated.leakage.kernels import (
    Grads,
    Params,
    SmoothMLP,
    analytic_input,
    analytic_label,
    best_match,
    matching,
    psnr,
)
from clustersim.federated.leakage.lbfgs import minimize

__all__ = ["Reconstruction", "Score", "analytic", "dlg", "score"]


@dataclass
class Reconstruction:
    """What an attack recovered: inputs (n, features), labels (n,), and the effort."""

    x: np.ndarray
    labels: np.ndarray
    iterations: int = 0
    evaluations: int = 0
    matching_loss: float = 0.0
    history: list[float] | None = None


@dataclass
class Score:
    """A reconstruction against the private batch."""

    mse: float
    psnr_db: float
    label_rate: float
    order: np.ndarray


def dlg(
    model: SmoothMLP,
    params: Params,
    target: Grads,
    batch: int,
    rng: np.random.Generator,
    *,
    iterations: int,
    memory: int,
    tolerance: float,
) -> Reconstruction:
    """DLG: dummy inputs and label logits ``~ N(0, 1)`` optimised to match ``target``."""
    features, classes = model.sizes[0], model.sizes[-1]
    cut = batch * features
    start = np.concatenate([rng.standard_normal(cut), rng.standard_normal(batch * classes)])

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        d, gx, gy = matching(
            model, params, v[:cut].reshape(batch, features), v[cut:].reshape(batch, classes),
            target,
        )  # fmt: skip
        return d, np.concatenate([gx.ravel(), gy.ravel()])

    result = minimize(fun, start, max_iter=iterations, memory=memory, tol=tolerance)
    x = result.x[:cut].reshape(batch, features)
    labels = np.argmax(result.x[cut:].reshape(batch, classes), axis=1)
    return Reconstruction(
        x, labels, result.iterations, result.evaluations, result.f, result.history
    )


def analytic(target: Grads) -> Reconstruction:
    """The first layer's ``∇W[:, i] / ∇b[i]`` and iDLG's label: one reconstruction."""
    return Reconstruction(analytic_input(target)[None, :], np.array([analytic_label(target)]))


def score(recon: Reconstruction, x: np.ndarray, y: np.ndarray) -> Score:
    """Mean over the reconstructions of the matched pairs' MSE, the PSNR of that mean against
    the batch's range (max - min), and the share of matched labels that are right."""
    order, mse = best_match(recon.x, x)
    peak = float(x.max() - x.min()) or 1.0
    mean = float(mse.mean())
    rate = float(np.mean(recon.labels == y[order]))
    return Score(mean, float(psnr(mean, peak)), rate, order)
