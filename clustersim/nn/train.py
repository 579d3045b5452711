"""A minibatch training loop and batched prediction for classifiers built from these layers.

:func:`train_classifier` runs plain epochs of SGD (momentum, weight decay) on the mean softmax
cross-entropy: each epoch is one permutation of the training set drawn from ``rng``, cut into
batches of ``batch_size`` (the last one smaller). Same model, data and ``rng`` state, same
weights afterwards, bit for bit. :func:`predict_proba` runs the model in inference mode (dropout
off) in batches and returns class probabilities.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from clustersim.errors import InputError
from clustersim.nn.layers import Module, Params
from clustersim.nn.losses import softmax, softmax_cross_entropy
from clustersim.nn.optim import SGD

__all__ = ["accuracy", "predict_proba", "train_classifier", "train_epochs"]


def train_epochs(
    parameters: Params,
    loss_and_grads: Callable[[np.ndarray, np.ndarray], tuple[float, Params]],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> list[float]:
    """Epochs of minibatch SGD on any loss: each epoch one permutation of ``(x, y)`` from
    ``rng`` cut into batches, ``loss_and_grads(x_batch, y_batch)`` giving the batch's mean
    loss and its gradients for ``parameters`` (updated in place). Returns each epoch's mean
    loss. :func:`train_classifier` and the early-exit models' joint losses share it."""
    optimiser = SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_and_grads(x[batch], y[batch])
            optimiser.step(grads)
            total += loss * len(batch)
        losses.append(total / len(x))
    return losses


def train_classifier(
    model: Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> list[float]:
    """Train ``model`` in place on ``(x, y)``; returns the mean training loss of each epoch.

    The model is left in training mode, as a loop in PyTorch leaves it.
    """
    if len(x) != len(y) or len(x) == 0:
        raise InputError(
            f"x and y must hold the same positive number of samples, got {len(x)} and {len(y)}"
        )
    if epochs < 1 or batch_size < 1:
        raise InputError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    model.train()

    def loss_and_grads(xb: np.ndarray, yb: np.ndarray) -> tuple[float, Params]:
        logits, cache = model.forward(xb)
        loss, grad = softmax_cross_entropy(logits, yb)
        _, grads = model.backward(grad.astype(logits.dtype, copy=False), cache)
        return loss, grads

    return train_epochs(
        model.parameters(),
        loss_and_grads,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        rng=rng,
        momentum=momentum,
        weight_decay=weight_decay,
    )


def predict_proba(model: Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Softmax probabilities (samples, classes) of ``model`` on ``x``, in inference mode; the
    model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        parts = [softmax(model(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(parts, axis=0)


def accuracy(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Fraction of samples whose most probable class is the label."""
    return float(np.mean(np.argmax(probabilities, axis=1) == y))
