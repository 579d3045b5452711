"""A whole CNN (conv, ReLU, max-pool, strided dilated conv, average-pool, Flatten, Linear) under
softmax cross-entropy: every parameter's gradient against finite differences, and micro-batch
gradients that add up to the full-batch gradient."""

from __future__ import annotations

import numpy as np

from clustersim.nn import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    softmax_cross_entropy,
)
from tests.nn.helpers import assert_gradient, assert_micro_batch_gradients_sum


def _cnn() -> Sequential:
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            Conv2d(2, 3, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2d(2),
            Conv2d(3, 4, 3, stride=2, padding=2, dilation=2, rng=rng),
            ReLU(),
            AvgPool2d(2, 1),
            Flatten(),
            Linear(4, 3, rng=rng),
        ]
    )
    for name, p in model.parameters().items():
        if name.endswith("bias"):
            p[:] = rng.standard_normal(p.shape) * 0.1
    return model


def test_every_parameter_gradient_matches_finite_differences() -> None:
    model = _cnn()
    x = np.random.default_rng(1).standard_normal((3, 2, 8, 8))
    labels = np.array([0, 2, 1])
    logits, caches = model.forward(x)
    _, g = softmax_cross_entropy(logits, labels)
    grad_x, grads = model.backward(g, caches)
    params = model.parameters()
    assert (
        set(grads)
        == set(params)
        == {
            "0.weight",
            "0.bias",
            "3.weight",
            "3.bias",
            "7.weight",
            "7.bias",
        }
    )

    def f() -> float:
        return softmax_cross_entropy(model(x), labels)[0]

    scale = float(np.abs(logits).sum())  # the loss's rounding error follows the logits'
    for name, p in params.items():
        assert_gradient(grads[name], f, p, scale, name)
    assert_gradient(grad_x, f, x, scale, "input")


def test_micro_batch_gradients_sum_to_the_full_batch_gradient() -> None:
    x = np.random.default_rng(2).standard_normal((8, 2, 8, 8))
    labels = np.random.default_rng(3).integers(0, 3, 8)
    assert_micro_batch_gradients_sum(_cnn(), x, labels)
