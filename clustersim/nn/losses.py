"""Softmax and softmax cross-entropy with its gradient."""

from __future__ import annotations

import numpy as np

__all__ = ["softmax", "softmax_cross_entropy"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise ``exp(z) / Σ exp(z)`` over the last axis, shifted by the row maximum so that
    large logits do not overflow."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, normalizer: float | None = None
) -> tuple[float, np.ndarray]:
    """Summed negative log-likelihood of ``labels`` under ``softmax(logits)``, over ``normalizer``.

    ``logits`` is (batch, classes) and ``labels`` (batch,) integer classes. ``normalizer``
    defaults to the batch size (the mean loss). Giving the *whole* minibatch size while passing
    one micro-batch makes micro-batch gradients add up to the full-batch gradient, which is how
    gradient accumulation is normalised. Returns ``(loss, d loss / d logits)``; the gradient is
    ``(softmax - onehot) / normalizer``. The log-sum-exp is shifted by the row maximum for
    stability.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(
            f"logits must be (batch, classes) and labels (batch,), got "
            f"{logits.shape} and {labels.shape}"
        )
    norm = float(logits.shape[0] if normalizer is None else normalizer)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(logits.shape[0])
    loss = float(-log_p[rows, labels].sum() / norm)
    grad = np.exp(log_p)
    grad[rows, labels] -= 1.0
    return loss, grad / norm
