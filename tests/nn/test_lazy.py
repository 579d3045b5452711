"""Lazy weights: shapes without arrays, values independent of the order of first use, and
eager layers that draw exactly what they drew before lazy layers existed."""

from __future__ import annotations

import math

import numpy as np

from clustersim.nn import Conv2d, Linear, Sequential, mlp


def _model(lazy: bool, seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        [Conv2d(2, 3, 3, rng=rng, lazy=lazy), Linear(5, 4, rng=rng, lazy=lazy)],
    )


def test_shapes_and_counts_need_no_weights() -> None:
    model = _model(lazy=True)
    assert model.parameter_shapes() == {
        "0.weight": (3, 2, 3, 3),
        "0.bias": (3,),
        "1.weight": (5, 4),
        "1.bias": (4,),
    }
    assert model.num_parameters() == 54 + 3 + 20 + 4
    assert not any(layer.materialised for layer in model.layers)


def test_lazy_values_do_not_depend_on_which_layer_is_used_first() -> None:
    a, b = _model(lazy=True), _model(lazy=True)
    a.parameters()
    b.layers[1].parameters()  # the Linear first, then the Conv2d
    b.layers[0].parameters()
    for name, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[name])
    assert all(layer.materialised for layer in a.layers)


def test_lazy_weights_are_drawn_once_and_then_stay() -> None:
    layer = Conv2d(1, 2, 3, lazy=True)
    first = layer.weight
    first += 1.0  # in-place updates (SGD) act on the stored array
    np.testing.assert_array_equal(layer.weight, first)


def test_eager_linear_draws_the_he_normal_weights_it_always_drew() -> None:
    # The draw of an eager Linear is part of every replay's output: it must stay
    # rng.standard_normal((in, out)) * sqrt(2 / in), biases zero, in layer order.
    model = mlp([6, 5, 3], rng=np.random.default_rng(11))
    ref = np.random.default_rng(11)
    w0 = ref.standard_normal((6, 5)) * math.sqrt(2 / 6)
    w2 = ref.standard_normal((5, 3)) * math.sqrt(2 / 5)
    params = model.parameters()
    np.testing.assert_array_equal(params["0.weight"], w0)
    np.testing.assert_array_equal(params["2.weight"], w2)
    np.testing.assert_array_equal(params["0.bias"], np.zeros(5))


def test_setting_a_weight_replaces_it() -> None:
    layer = Linear(2, 2, rng=np.random.default_rng(0))
    layer.weight = np.eye(2)
    np.testing.assert_array_equal(layer(np.array([[1.0, 2.0]])), [[1.0, 2.0]])
