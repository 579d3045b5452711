"""MaxPool2d and AvgPool2d: forward against a direct loop, backward against finite differences
(overlapping windows and padding included), and the geometry errors."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn import AvgPool2d, MaxPool2d
from tests.nn.helpers import assert_gradient

# (kernel, stride, padding): non-overlapping, overlapping (AlexNet's 3x3/2), rectangular with
# padding, and a stride larger than the kernel.
GEOMETRIES = [(2, None, 0), (3, 2, 0), ((3, 2), (1, 2), (1, 1)), (2, 3, 1)]


def _direct(x, kernel, stride, padding, reduce, fill):
    n, c, h, w = x.shape
    kh, kw = kernel
    top, bottom, left, right = padding
    xp = np.full((n, c, h + top + bottom, w + left + right), fill)
    xp[:, :, top : top + h, left : left + w] = x
    ho = (xp.shape[2] - kh) // stride[0] + 1
    wo = (xp.shape[3] - kw) // stride[1] + 1
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r, s = i * stride[0], j * stride[1]
            y[:, :, i, j] = reduce(xp[:, :, r : r + kh, s : s + kw], axis=(2, 3))
    return y


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_forward_matches_the_direct_loop(kind, geometry) -> None:
    layer_type, reduce, fill = {
        "max": (MaxPool2d, np.max, -np.inf),
        "avg": (AvgPool2d, np.mean, 0.0),
    }[kind]
    layer = layer_type(*geometry)
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    y = layer(x)
    expected = _direct(x, layer.kernel_size, layer.stride, layer.padding, reduce, fill)
    np.testing.assert_allclose(y, expected, rtol=1e-14, atol=1e-15)
    assert y.shape[1:] == layer.output_shape(x.shape[1:])


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("layer_type", [MaxPool2d, AvgPool2d])
def test_backward_matches_finite_differences(layer_type, geometry) -> None:
    layer = layer_type(*geometry)
    # Distinct values spaced far beyond the finite-difference step: no ties for the maximum.
    x = np.random.default_rng(1).permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) * 0.01
    y, cache = layer.forward(x)
    w = np.random.default_rng(2).standard_normal(y.shape)
    grad_x, grads = layer.backward(w, cache)
    assert grads == {}
    assert_gradient(grad_x, lambda: float((layer(x) * w).sum()), x, float(np.abs(y * w).sum()))


def test_overlapping_max_windows_add_the_gradients_of_every_window_won() -> None:
    x = np.zeros((1, 1, 3, 5))
    x[0, 0, 1, 2] = 1.0  # inside both 3x3 windows of stride 2
    layer = MaxPool2d(3, 2)
    y, cache = layer.forward(x)
    assert y.shape == (1, 1, 1, 2) and np.all(y == 1.0)
    grad_x, _ = layer.backward(np.array([[[[2.0, 3.0]]]]), cache)
    assert grad_x[0, 0, 1, 2] == 5.0 and grad_x.sum() == 5.0


def test_float32_stays_float32() -> None:
    x = np.random.default_rng(3).standard_normal((1, 2, 6, 6)).astype(np.float32)
    for layer in (MaxPool2d(2), AvgPool2d(3, 1, 1)):
        y, cache = layer.forward(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y), cache)[0].dtype == np.float32


def test_geometry_errors() -> None:
    with pytest.raises(InputError, match="at most half the kernel"):
        MaxPool2d(2, padding=2)
    with pytest.raises(InputError, match="larger than the padded input width 2"):
        MaxPool2d(3).output_shape((4, 9, 2))
    with pytest.raises(InputError, match=r"\(N, C, H, W\)"):
        AvgPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(InputError, match="stride must be at least 1"):
        AvgPool2d(2, 0)
