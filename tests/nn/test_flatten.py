"""Flatten: a feature map into a vector per sample, and back in the backward pass."""

from __future__ import annotations

import numpy as np

from clustersim.nn import Flatten


def test_flatten_keeps_the_batch_and_round_trips_the_gradient() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    layer = Flatten()
    y, cache = layer.forward(x)
    assert y.shape == (2, 60)
    np.testing.assert_array_equal(y[1], x[1].ravel())  # C, H, W order, as torch.flatten
    grad, grads = layer.backward(y * 2.0, cache)
    np.testing.assert_array_equal(grad, x * 2.0)
    assert grads == {}
    assert layer.output_shape((3, 4, 5)) == (60,)
    assert layer.flops((3, 4, 5)) == 0 and layer.traffic((3, 4, 5)) == 0
