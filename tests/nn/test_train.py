"""train_classifier and predict_proba: determinism, learning, modes."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn import Dropout, Linear, ReLU, Sequential, accuracy, predict_proba
from clustersim.nn import train_classifier as fit


def _problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR of the signs: needs the hidden layer


def _model(seed: int = 1) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        [Linear(2, 32, rng=rng), ReLU(), Dropout(0.1, rng=rng), Linear(32, 2, rng=rng)]
    )


def test_same_seed_same_weights_bit_for_bit() -> None:
    x, y = _problem()
    a, b = _model(), _model()
    la = fit(a, x, y, epochs=3, batch_size=16, lr=0.1, rng=np.random.default_rng(2))
    lb = fit(b, x, y, epochs=3, batch_size=16, lr=0.1, rng=np.random.default_rng(2))
    assert la == lb
    for name, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[name])


def test_it_learns_and_prediction_runs_in_inference_mode() -> None:
    x, y = _problem()
    model = _model()
    losses = fit(model, x, y, epochs=60, batch_size=20, lr=0.1, rng=np.random.default_rng(3))
    assert losses[-1] < 0.4 * losses[0]
    assert model.training  # left in training mode
    p = predict_proba(model, x, batch_size=64)  # several batches
    assert model.training  # ... and restored after prediction
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p, predict_proba(model, x))  # dropout off: deterministic
    assert accuracy(p, y) > 0.9


def test_bad_arguments() -> None:
    x, y = _problem()
    with pytest.raises(InputError, match="same positive number of samples"):
        fit(_model(), x, y[:-1], epochs=1, batch_size=4, lr=0.1, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="epochs and batch_size must be positive"):
        fit(_model(), x, y, epochs=0, batch_size=4, lr=0.1, rng=np.random.default_rng(0))
