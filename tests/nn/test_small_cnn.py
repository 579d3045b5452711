"""small_cnn: its layers, its size from shapes, and a forward/backward pass at float32."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn import profile, small_cnn, softmax_cross_entropy


def test_default_layout_and_size() -> None:
    model = small_cnn()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d"] * 2 + ["Flatten", "Linear"]
    records = profile(model, (1, 16, 16))
    # conv 1->8 (3x3): 80, conv 8->16: 1,168, FC 16·4·4 -> 10: 2,570 parameters.
    assert sum(r.params for r in records) == 80 + 1168 + 2570 == model.num_parameters()
    # 2·(8·16·16·9 + 16·8·8·72 + 256·10) FLOP per image.
    assert sum(r.flops for r in records) == 2 * (8 * 256 * 9 + 16 * 64 * 72 + 2560)


def test_hidden_layer_colour_input_and_float32_training_step() -> None:
    model = small_cnn((3, 12, 12), 4, channels=(4,), hidden=6, rng=np.random.default_rng(0))
    assert [type(layer).__name__ for layer in model.layers][-3:] == ["Linear", "ReLU", "Linear"]
    x = np.random.default_rng(1).standard_normal((5, 3, 12, 12)).astype(np.float32)
    logits, cache = model.forward(x)
    assert logits.shape == (5, 4) and logits.dtype == np.float32
    _, g = softmax_cross_entropy(logits, np.arange(5) % 4)
    _, grads = model.backward(g, cache)
    assert all(v.dtype == np.float32 for v in grads.values())
    assert {k: v.shape for k, v in grads.items()} == model.parameter_shapes()


def test_bad_configurations() -> None:
    with pytest.raises(InputError, match=r"input_shape must be \(C, H, W\)"):
        small_cnn((16, 16))
    with pytest.raises(InputError, match="kernel_size must be a positive odd int"):
        small_cnn(kernel_size=2)
    with pytest.raises(InputError, match="larger than the padded input"):
        small_cnn((1, 4, 4), channels=(2, 2, 2))  # 4 -> 2 -> 1 -> no room for a 2x2 pool
