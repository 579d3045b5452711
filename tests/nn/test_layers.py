"""The numpy layers: analytic gradients against central finite differences, SGD, splitting."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.nn import (
    GELU,
    SGD,
    Linear,
    ReLU,
    Sequential,
    mlp,
    numerical_gradient,
    softmax_cross_entropy,
)
from tests.nn.helpers import assert_micro_batch_gradients_sum


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _loss_of(model, x, labels, normalizer=None):
    def f() -> float:
        return softmax_cross_entropy(model(x), labels, normalizer)[0]

    return f


@pytest.mark.parametrize("layer", [ReLU(), GELU()])
def test_activation_backward_matches_finite_differences(layer) -> None:
    x = _rng(1).standard_normal((3, 5)) + 0.05  # keep ReLU away from its kink at 0
    w = _rng(2).standard_normal((3, 5))
    _, cache = layer.forward(x)
    grad_x, grads = layer.backward(w, cache)
    assert grads == {}
    numeric = numerical_gradient(lambda: float((layer(x) * w).sum()), x)
    np.testing.assert_allclose(grad_x, numeric, rtol=1e-7, atol=1e-9)


def test_linear_backward_matches_finite_differences_with_batch_dims() -> None:
    layer = Linear(4, 3, rng=_rng())
    layer.bias[:] = _rng(3).standard_normal(3)
    x = _rng(4).standard_normal((2, 5, 4))  # two leading batch dimensions
    w = _rng(5).standard_normal((2, 5, 3))

    def f() -> float:
        return float((layer(x) * w).sum())

    _, cache = layer.forward(x)
    grad_x, grads = layer.backward(w, cache)
    np.testing.assert_allclose(grad_x, numerical_gradient(f, x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(grads["weight"], numerical_gradient(f, layer.weight), rtol=1e-7)
    np.testing.assert_allclose(grads["bias"], numerical_gradient(f, layer.bias), rtol=1e-7)


def test_softmax_cross_entropy_value_and_gradient() -> None:
    logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    labels = np.array([0, 1])
    loss, grad = softmax_cross_entropy(logits, labels)
    # -log(1/2) and -log(1/4), averaged.
    assert loss == pytest.approx((np.log(2) + np.log(4)) / 2)
    numeric = numerical_gradient(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-10)
    big = logits * 1e3  # the shifted log-sum-exp must not overflow
    assert np.isfinite(softmax_cross_entropy(big, labels)[0])


def test_mlp_gradients_match_finite_differences() -> None:
    model = mlp([5, 7, 6, 3], rng=_rng(), activation="gelu")
    x = _rng(6).standard_normal((4, 5))
    labels = np.array([0, 2, 1, 2])
    logits, caches = model.forward(x)
    _, g = softmax_cross_entropy(logits, labels)
    _, grads = model.backward(g, caches)
    params = model.parameters()
    assert (
        set(grads)
        == set(params)
        == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
    )
    for name, p in params.items():
        numeric = numerical_gradient(_loss_of(model, x, labels), p)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_split_stages_compose_to_the_whole_model() -> None:
    model = mlp([6, 8, 8, 8, 4], rng=_rng())
    stages = model.split([3, 2, 2])
    assert [s.offset for s in stages] == [0, 3, 5]
    x = _rng(7).standard_normal((5, 6))
    h = x
    for s in stages:
        h = s(h)
    np.testing.assert_array_equal(h, model(x))
    names = set()
    for s in stages:
        names |= set(s.parameters())
    assert names == set(model.parameters())
    with pytest.raises(ValueError, match="do not partition"):
        model.split([3, 3])


def test_explicit_params_are_the_weights_used() -> None:
    model = Sequential([Linear(3, 2, rng=_rng())])
    x = _rng(8).standard_normal((4, 3))
    other = {k: v + 1.0 for k, v in model.parameters().items()}
    y, cache = model.forward(x, other)
    np.testing.assert_allclose(y, x @ other["0.weight"] + other["0.bias"])
    grad_x, _ = model.backward(np.ones_like(y), cache, other)
    np.testing.assert_allclose(grad_x, np.ones_like(y) @ other["0.weight"].T)


def test_micro_batch_gradients_sum_to_the_full_batch_gradient() -> None:
    x = _rng(9).standard_normal((8, 5))
    labels = _rng(10).integers(0, 3, 8)
    assert_micro_batch_gradients_sum(mlp([5, 9, 3], rng=_rng()), x, labels)


def test_sgd_momentum_matches_the_recurrence() -> None:
    p = {"w": np.array([1.0, -2.0])}
    opt = SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)
    g1, g2 = np.array([0.5, 0.5]), np.array([-1.0, 2.0])
    opt.step({"w": g1})
    v1 = g1 + 0.01 * np.array([1.0, -2.0])
    w1 = np.array([1.0, -2.0]) - 0.1 * v1
    np.testing.assert_allclose(p["w"], w1)
    opt.step({"w": g2})
    v2 = 0.9 * v1 + g2 + 0.01 * w1
    np.testing.assert_allclose(p["w"], w1 - 0.1 * v2)
    assert opt.steps == 2


def test_sgd_trains_an_mlp_on_a_separable_problem() -> None:
    rng = _rng(11)
    x = rng.standard_normal((64, 2))
    labels = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = mlp([2, 16, 2], rng=rng)
    opt = SGD(model.parameters(), lr=0.5, momentum=0.9)
    first = None
    for _ in range(60):
        logits, caches = model.forward(x)
        loss, g = softmax_cross_entropy(logits, labels)
        first = loss if first is None else first
        _, grads = model.backward(g, caches)
        opt.step(grads)
    assert loss < 0.2 * first
    assert (model(x).argmax(axis=1) == labels).mean() > 0.95


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="activation"):
        mlp([2, 2], activation="tanh")
    with pytest.raises(ValueError, match="lr"):
        SGD({}, lr=0)
    with pytest.raises(ValueError, match="logits"):
        softmax_cross_entropy(np.zeros(3), np.zeros(3, dtype=int))
