"""DDNN's aggregations of the devices' outputs (max, average, concatenation), with the devices
that are present only, and their gradients."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.early_exit.ddnn.kernels import Aggregate
from tests.nn.helpers import assert_gradient


def _x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((5, 3, 2, 4, 4))


def test_forward_values() -> None:
    x = _x()
    np.testing.assert_array_equal(Aggregate("max", 3)(x), x.max(axis=1))
    np.testing.assert_allclose(Aggregate("average", 3)(x), x.mean(axis=1), rtol=1e-15)
    cat = Aggregate("concat", 3)(x)
    assert cat.shape == (5, 6, 4, 4)
    np.testing.assert_array_equal(cat[:, 2:4], x[:, 1])


def test_a_missing_device_is_left_out() -> None:
    x = _x()
    present = np.array([True, False, True])
    agg = {m: Aggregate(m, 3) for m in ("max", "average", "concat")}
    for a in agg.values():
        a.present = present
    np.testing.assert_array_equal(agg["max"](x), x[:, [0, 2]].max(axis=1))
    np.testing.assert_allclose(agg["average"](x), x[:, [0, 2]].mean(axis=1), rtol=1e-15)
    cat = agg["concat"](x)
    assert (cat[:, 2:4] == 0).all() and np.array_equal(cat[:, 4:], x[:, 2])


@pytest.mark.parametrize("mode", ["max", "average", "concat"])
def test_gradient_matches_finite_differences(mode: str) -> None:
    x = _x()
    agg = Aggregate(mode, 3)
    agg.present = np.array([True, False, True])
    weights = np.random.default_rng(1).standard_normal(agg(x).shape)
    _, cache = agg.forward(x)
    grad, _ = agg.backward(weights, cache)
    assert_gradient(grad, lambda: float((agg(x) * weights).sum()), x, scale=50.0, err_msg=mode)
    assert (grad[:, 1] == 0).all()


def test_profile_shapes_and_flops() -> None:
    assert Aggregate("concat", 6).output_shape((6, 4, 8, 8)) == (24, 8, 8)
    assert Aggregate("max", 6).output_shape((6, 10)) == (10,)
    assert Aggregate("average", 6).flops((6, 10)) == 60
    assert Aggregate("max", 6).flops((6, 10)) == 0
