"""Conv2d: the im2col forward pass against a direct loop, the backward pass against finite
differences, exact tiling, and the shape errors."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn import Conv2d, conv2d
from tests.nn.helpers import assert_gradient

# (kernel, stride, padding, dilation): square and rectangular kernels, strides that skip
# pixels, symmetric, per-axis and asymmetric ((top, bottom), (left, right)) padding, dilation.
GEOMETRIES = [
    (3, 1, 1, 1),
    (3, 2, 0, 1),
    ((3, 2), (2, 1), (1, 2), (2, 1)),
    (2, (1, 3), ((0, 2), (1, 0)), (1, 2)),
    (1, 1, 0, 1),
    (5, 3, 2, 1),
]


def _direct(x, weight, bias, stride, padding, dilation):
    """The definition, one output element at a time (slow; for the test only)."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    top, bottom, left, right = padding
    xp = np.zeros((n, c, h + top + bottom, w + left + right))
    xp[:, :, top : top + h, left : left + w] = x
    ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, o, ho, wo))
    for b in range(n):
        for k in range(o):
            for i in range(ho):
                for j in range(wo):
                    acc = bias[k]
                    for ch in range(c):
                        for a in range(kh):
                            for e in range(kw):
                                r = i * stride[0] + a * dilation[0]
                                s = j * stride[1] + e * dilation[1]
                                acc += weight[k, ch, a, e] * xp[b, ch, r, s]
                    y[b, k, i, j] = acc
    return y


def _layer(geometry, seed=0, c_in=2, c_out=3):
    kernel, stride, padding, dilation = geometry
    rng = np.random.default_rng(seed)
    conv = Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, rng=rng)
    conv.bias = rng.standard_normal(c_out)
    return conv


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_forward_matches_the_direct_convolution(geometry) -> None:
    conv = _layer(geometry)
    x = np.random.default_rng(1).standard_normal((2, 2, 9, 8))
    y = conv(x)
    expected = _direct(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    assert y.shape[1:] == conv.output_shape(x.shape[1:])


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_backward_matches_finite_differences(geometry) -> None:
    conv = _layer(geometry, seed=2)
    x = np.random.default_rng(3).standard_normal((2, 2, 7, 6))
    y, cache = conv.forward(x)
    w = np.random.default_rng(4).standard_normal(y.shape)

    def f() -> float:
        return float((conv(x) * w).sum())

    grad_x, grads = conv.backward(w, cache)
    assert set(grads) == {"weight", "bias"}
    scale = float(np.abs(y * w).sum())
    assert_gradient(grad_x, f, x, scale, "x")
    for name in ("weight", "bias"):
        assert_gradient(grads[name], f, conv.parameters()[name], scale, name)


def test_explicit_params_are_the_weights_used() -> None:
    conv = _layer((3, 1, 1, 1))
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 5))
    other = {k: v * 2.0 + 1.0 for k, v in conv.parameters().items()}
    y, cache = conv.forward(x, other)
    np.testing.assert_allclose(
        y, _direct(x, other["weight"], other["bias"], conv.stride, conv.padding, conv.dilation)
    )
    own, _ = conv.backward(np.ones_like(y), conv.forward(x)[1])
    with_other, _ = conv.backward(np.ones_like(y), cache, other)
    assert not np.allclose(own, with_other)


def test_no_bias_layer_has_only_a_weight() -> None:
    conv = Conv2d(2, 3, 3, bias=False, rng=np.random.default_rng(0))
    assert set(conv.parameters()) == {"weight"} and conv.bias is None
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 4))
    y, cache = conv.forward(x)
    assert set(conv.backward(np.ones_like(y), cache)[1]) == {"weight"}
    np.testing.assert_allclose(y, _direct(x, conv.weight, np.zeros(3), (1, 1), (0,) * 4, (1, 1)))


def test_function_and_layer_agree() -> None:
    conv = _layer(GEOMETRIES[2])
    x = np.random.default_rng(6).standard_normal((2, 2, 9, 8))
    y = conv2d(
        x, conv.weight, conv.bias, stride=(2, 1), padding=(1, 2), dilation=(2, 1)
    )  # the same geometry, spelled out
    np.testing.assert_array_equal(y, conv(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_tile_with_its_halo_gives_exactly_the_whole_maps_rows(dtype) -> None:
    # What a spatial partition relies on: the top strip, given one halo row and zero padding
    # only where the map really ends, reproduces the whole map's rows bit for bit; so does a
    # batch of one against a batch of four (same arithmetic per output element).
    rng = np.random.default_rng(7)
    conv = Conv2d(8, 16, 3, padding=1, rng=rng, dtype=dtype)
    conv.bias = rng.standard_normal(16).astype(dtype)
    x = rng.standard_normal((4, 8, 20, 20)).astype(dtype)
    whole = conv(x)
    top = conv2d(x[:, :, :11], conv.weight, conv.bias, padding=((1, 0), (1, 1)))
    np.testing.assert_array_equal(top, whole[:, :, :10])
    np.testing.assert_array_equal(conv(x[:1]), whole[:1])
    assert whole.dtype == dtype


def test_shape_errors_name_what_is_wrong() -> None:
    conv = Conv2d(3, 4, 5, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match=r"3 input channels.*got shape \(1, 1, 8, 8\)"):
        conv(np.zeros((1, 1, 8, 8)))
    with pytest.raises(InputError, match="larger than the padded input height 4"):
        conv(np.zeros((1, 3, 4, 8)))
    with pytest.raises(InputError, match="dilation 3: it spans 7 pixels"):
        Conv2d(1, 1, 3, dilation=3).output_shape((1, 6, 9))
    with pytest.raises(InputError, match=r"expects a \(3, H, W\)"):
        conv.output_shape((2, 9, 9))
    with pytest.raises(InputError, match="stride must be at least 1"):
        Conv2d(1, 1, 3, stride=0)
    with pytest.raises(InputError, match="padding must be at least 0"):
        Conv2d(1, 1, 3, padding=-1)
    with pytest.raises(InputError, match="kernel_size must be an int or a pair"):
        Conv2d(1, 1, (3, 3, 3))
    with pytest.raises(InputError, match="positive in_channels"):
        Conv2d(0, 1, 3)
