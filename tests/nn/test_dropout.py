"""Dropout: identity at inference, inverted scaling in training, the mask reused backward."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn import Dropout, Linear, ReLU, Sequential


def test_inference_is_the_identity() -> None:
    layer = Dropout(0.5, rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).standard_normal((4, 6))
    y, cache = layer.forward(x)
    assert y is x
    assert layer.backward(x, cache)[0] is x
    assert layer.flops((6,)) == 0 and layer.traffic((6,)) == 0


def test_training_drops_a_binomial_fraction_and_rescales_the_rest() -> None:
    p, n = 0.3, 100_000
    layer = Dropout(p, rng=np.random.default_rng(2))
    y, mask = layer.forward(np.ones(n))
    dropped = np.count_nonzero(y == 0)
    # Binomial(n, p): mean n·p, standard deviation sqrt(n·p·(1-p)) = 145; allow 5 sigma.
    assert abs(dropped - n * p) < 5 * np.sqrt(n * p * (1 - p))
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p))
    grad, grads = layer.backward(np.full(n, 2.0), mask)
    assert grads == {}
    np.testing.assert_array_equal(grad, 2.0 * y)  # the same mask, the same scaling


def test_masks_come_from_the_layers_generator() -> None:
    x = np.ones((3, 50))
    a = Dropout(0.5, rng=np.random.default_rng(7))(x)
    b = Dropout(0.5, rng=np.random.default_rng(7))(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, Dropout(0.5, rng=np.random.default_rng(8))(x))


def test_eval_and_train_reach_every_layer_of_a_model() -> None:
    inner = Dropout(0.5)
    model = Sequential([Linear(4, 4), ReLU(), Sequential([inner])])
    model.eval()
    assert inner.training is False
    model.train()
    assert inner.training is True


def test_probability_must_be_in_range() -> None:
    for p in (-0.1, 1.0):
        with pytest.raises(InputError, match=r"Dropout probability p must be in \[0, 1\)"):
            Dropout(p)
