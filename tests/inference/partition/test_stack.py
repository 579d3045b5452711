"""A CNN seen by a partition: its spatial layers, split off its fully connected head, with the
published per-layer costs."""

from __future__ import annotations

import pytest

from clustersim.errors import InputError
from clustersim.inference.partition.stack import spatial_stack
from clustersim.nn import Flatten, Linear, Sequential, alexnet, small_cnn, vgg16


def test_vgg16_splits_after_its_last_pooling() -> None:
    stack = spatial_stack(vgg16(), (3, 224, 224), "float32")
    assert len(stack.layers) == 31 and len(stack.conv_layers()) == 13
    assert stack.out_shape == (512, 7, 7) and stack.output_bytes == 512 * 7 * 7 * 4
    assert [c.layer for c in stack.head][:2] == ["Flatten()", "Linear(25088, 4096)"]
    assert stack.logits_bytes == 1000 * 4 and stack.dtype_bytes == 4
    # torchvision's 15.47 G multiply-adds; the head's are its three weight matrices
    conv = sum(g.cost.flops for g in stack.layers) / 2
    head = sum(c.flops for c in stack.head) / 2
    assert conv + head == pytest.approx(15.47e9, rel=1e-3)
    assert head == 25088 * 4096 + 4096 * 4096 + 4096 * 1000


def test_alexnet_and_the_small_cnn() -> None:
    alex = spatial_stack(alexnet(), (3, 224, 224), "float16")
    assert alex.layers[0].window.kernel == (11, 11) and alex.layers[0].window.stride == (4, 4)
    assert alex.out_shape == (256, 6, 6) and alex.dtype_bytes == 2
    small = spatial_stack(small_cnn(), (1, 16, 16), "float32")
    assert [g.op for g in small.layers] == ["conv", "pointwise", "maxpool"] * 2


def test_a_model_without_spatial_layers_is_refused() -> None:
    with pytest.raises(InputError, match="starts with a convolution or pooling layer"):
        spatial_stack(Sequential([Flatten(), Linear(4, 2)]), (1, 2, 2), "float32")
