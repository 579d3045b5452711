"""The client's gradient: against finite differences, and against clustersim.nn for ReLU."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.leakage.kernels import (
    SmoothMLP,
    flatten,
    gradients,
    init_params,
    unflatten,
)
from clustersim.nn import mlp, numerical_gradient, softmax_cross_entropy


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
def test_gradient_matches_central_differences(activation, bias) -> None:
    rng = np.random.default_rng(0)
    model = SmoothMLP((6, 5, 4, 3), activation, bias)
    params = init_params(model, rng)
    x, y = rng.standard_normal((4, 6)), np.array([0, 2, 1, 2])
    grads, _ = gradients(model, params, x, y)
    for layer in range(model.layers):
        w = params[layer][0]
        numeric = numerical_gradient(lambda: float(gradients(model, params, x, y)[1]), w)
        np.testing.assert_allclose(grads[layer][0], numeric, rtol=1e-6, atol=1e-9)


def test_relu_gradient_equals_nn_backward() -> None:
    """Two implementations: the leakage kernel and clustersim.nn's Linear/ReLU backward."""
    rng = np.random.default_rng(1)
    net = mlp([7, 6, 3], rng=rng)
    model = SmoothMLP((7, 6, 3), "relu", True)
    nnp = net.parameters()
    params = [(nnp["0.weight"], nnp["0.bias"]), (nnp["2.weight"], nnp["2.bias"])]
    x, y = rng.standard_normal((5, 7)), rng.integers(0, 3, 5)
    logits, cache = net.forward(x)
    _, g = softmax_cross_entropy(logits, y)
    _, ref = net.backward(g, cache)
    ours, _ = gradients(model, params, x, y)
    np.testing.assert_allclose(ours[0][0], ref["0.weight"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1][1], ref["2.bias"], rtol=1e-12, atol=1e-14)


def test_leading_axes_are_independent_clients() -> None:
    rng = np.random.default_rng(2)
    model = SmoothMLP((4, 3, 2))
    params = init_params(model, rng)
    x, y = rng.standard_normal((3, 5, 4)), rng.integers(0, 2, (3, 5))
    batched, _ = gradients(model, params, x, y)
    for k in range(3):
        one, _ = gradients(model, params, x[k], y[k])
        np.testing.assert_allclose(flatten([(w[k], b[k]) for w, b in batched]), flatten(one))


def test_flatten_round_trips() -> None:
    model = SmoothMLP((4, 3, 2))
    params = init_params(model, np.random.default_rng(3))
    flat = flatten(params)
    assert flat.size == model.parameters
    np.testing.assert_array_equal(flatten(unflatten(flat, model)), flat)
