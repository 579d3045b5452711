"""The fixed-order convolution the tiles use: clustersim.nn.conv2d's arithmetic within
rounding, and position-independent to the last bit (nn.conv2d's BLAS product is not for tiny
tiles here: OpenBLAS takes a small-matrix path, so a 14x14 tile of 4 channels differed from the
whole map in the last bit on this machine, which is why the tiles do not use it)."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.partition.kernels import conv2d_direct, higham_bound
from clustersim.nn import conv2d


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"),
    [
        ((1, 1), (1, 1, 1, 1), (1, 1)),
        ((2, 1), (0, 2, 1, 0), (1, 2)),
        ((4, 4), (2, 2, 2, 2), (1, 1)),
    ],
)
def test_direct_convolution_is_nn_conv2d_within_higham(stride, padding, dilation) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 17, 13))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    pads = ((padding[0], padding[1]), (padding[2], padding[3]))
    ref = conv2d(x, w, b, stride=stride, padding=pads, dilation=dilation)
    got = conv2d_direct(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert got.shape == ref.shape
    mag = conv2d(np.abs(x), np.abs(w), np.abs(b), stride=stride, padding=pads, dilation=dilation)
    bound = higham_bound(3 * 3 * 3 + 1, mag, 2.0**-53)
    assert (np.abs(got - ref) <= bound).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_tile_with_its_halo_is_bit_exact(dtype) -> None:
    # a 14x14 map of 4 channels cut in 4 strips of rows and 2 of columns
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4, 14, 14)).astype(dtype)
    w = rng.standard_normal((4, 4, 3, 3)).astype(dtype)
    whole_direct = conv2d_direct(x, w, None, stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1))
    for r0, r1 in ((0, 3), (3, 7), (7, 10), (10, 14)):
        for c0, c1 in ((0, 7), (7, 14)):
            lo, hi, left, right = max(r0 - 1, 0), min(r1 + 1, 14), max(c0 - 1, 0), min(c1 + 1, 14)
            pad = (int(r0 == 0), int(r1 == 14), int(c0 == 0), int(c1 == 14))
            tile = x[:, :, lo:hi, left:right]
            direct = conv2d_direct(tile, w, None, stride=(1, 1), padding=pad, dilation=(1, 1))
            np.testing.assert_array_equal(direct, whole_direct[:, :, r0:r1, c0:c1])
