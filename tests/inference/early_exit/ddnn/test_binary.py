"""The devices' binary activation (sign, straight-through gradient) and the bits on the wire."""

from __future__ import annotations

import numpy as np

from clustersim.inference.early_exit.ddnn.kernels import Binarize, pack_features, unpack_features


def test_sign_and_straight_through_gradient() -> None:
    x = np.array([[-2.0, -0.5, 0.0, 0.3, 1.5]])
    b = Binarize()
    y, cache = b.forward(x)
    np.testing.assert_array_equal(y, [[-1, -1, 1, 1, 1]])
    grad, _ = b.backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(grad, [[0, 1, 1, 1, 0]])  # 1 where |x| <= 1


def test_feature_maps_survive_their_bits() -> None:
    rng = np.random.default_rng(0)
    f = np.where(rng.standard_normal((7, 4, 5, 5)) >= 0, 1.0, -1.0).astype(np.float32)
    packed = pack_features(f)
    assert packed.shape == (7, 13)  # 100 bits -> 13 bytes per sample
    assert np.array_equal(unpack_features(packed, (4, 5, 5), np.float32), f)
