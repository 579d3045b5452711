"""profile(): per-layer records from shapes, by hand, and against a real forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn import (
    GELU,
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    profile,
)
from clustersim.nn.profile import dtype_bytes


def _model() -> Sequential:
    return Sequential(
        [
            Conv2d(3, 8, 3, stride=2, padding=1, lazy=True),
            ReLU(),
            MaxPool2d(2),
            Sequential([AvgPool2d(3, 1, 1), Flatten()]),
            Dropout(0.5),
            Linear(32, 10, lazy=True),
            GELU(),
        ]
    )


def test_records_by_hand() -> None:
    records = profile(_model(), (3, 9, 9), "float32")
    assert [r.name for r in records] == ["0", "1", "2", "3.0", "3.1", "4", "5", "6"]
    conv, relu, pool, avg, flat, drop, fc, gelu = records
    # Conv: Ho = (9 + 2 - 3) // 2 + 1 = 5; 8·5·5 outputs with fan-in 3·3·3 = 27.
    assert conv.output_shape == (8, 5, 5)
    assert conv.flops == 2 * 8 * 5 * 5 * 27
    assert conv.params == 8 * 27 + 8 and conv.param_bytes == 4 * (8 * 27 + 8)
    assert conv.input_bytes == 4 * 3 * 81 and conv.output_bytes == 4 * 200
    assert conv.traffic_bytes == 4 * (243 + 200)
    assert conv.bytes_moved(batch=8) == 8 * 4 * (243 + 200) + 4 * 224
    assert (relu.flops, relu.output_shape, relu.traffic_bytes) == (0, (8, 5, 5), 4 * 400)
    assert (pool.flops, pool.output_shape) == (0, (8, 2, 2))  # floor(5 / 2) = 2
    assert (avg.flops, avg.output_shape) == (9 * 32, (8, 2, 2))  # k² FLOP per output
    assert (flat.output_shape, flat.flops, flat.traffic_bytes) == ((32,), 0, 0)
    assert (drop.flops, drop.traffic_bytes) == (0, 0)
    assert (fc.flops, fc.params, fc.output_bytes) == (2 * 32 * 10, 330, 40)
    assert gelu.flops == 9 * 10
    assert conv.layer == "Conv2d(3, 8, kernel_size=3, stride=2, padding=1)"


def test_shapes_agree_with_a_real_forward_pass() -> None:
    model = _model()
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9))
    records = profile(model, (3, 9, 9), "float64")
    h = x
    for record, (_, layer) in zip(records[:3], model.named_children()[:3], strict=True):
        h = layer(h)
        assert h.shape[1:] == record.output_shape
        assert h[0].nbytes == record.output_bytes
    assert model(x).shape[1:] == records[-1].output_shape


def test_dtype_sets_the_bytes_but_not_the_flops() -> None:
    half = profile(_model(), (3, 9, 9), "bfloat16")
    full = profile(_model(), (3, 9, 9), np.float64)
    assert [r.flops for r in half] == [r.flops for r in full]
    assert [4 * r.output_bytes for r in half] == [r.output_bytes for r in full]
    assert dtype_bytes("float16") == 2 and dtype_bytes(np.float32) == 4
    with pytest.raises(InputError, match="unknown dtype 'int4'"):
        dtype_bytes("int4")


def test_profiling_allocates_no_weights() -> None:
    model = _model()
    profile(model, (3, 9, 9))
    assert not model.layers[0].materialised and not model.layers[5].materialised


def test_shape_errors_name_the_layer() -> None:
    with pytest.raises(InputError, match=r"layer 0 Conv2d\(3, 8.*\(1, 9, 9\).*3, H, W"):
        profile(_model(), (1, 9, 9))  # channel mismatch
    with pytest.raises(InputError, match=r"layer 2 MaxPool2d.*\(8, 1, 1\).*larger than"):
        profile(_model(), (3, 1, 1))  # the map shrinks below the pooling window
    with pytest.raises(InputError, match=r"layer 5 Linear\(32, 10\).*\(72,\)"):
        profile(_model(), (3, 12, 12))  # 8·3·3 features into a 32-input Linear
    with pytest.raises(InputError, match=r"flatten the feature map first"):
        profile(Sequential([Linear(4, 2)]), (3, 4, 2))
    with pytest.raises(InputError, match="kernel's height 5"):
        profile(Conv2d(1, 1, 5), (1, 4, 8))
    with pytest.raises(InputError, match="input_shape must be a tuple of positive ints"):
        profile(_model(), (3, 0, 9))
