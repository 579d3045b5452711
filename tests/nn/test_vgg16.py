"""VGG-16 built from layers: the published totals, and layer-for-layer agreement with the
pipeline kind's hand-derived profile (clustersim.training.profiles.vgg16_profile)."""

from __future__ import annotations

import tracemalloc

import pytest

from clustersim.nn import Conv2d, Linear, MaxPool2d, profile, vgg16
from clustersim.training.profiles import vgg16_profile


def _grouped(records):
    """The 16 weight layers, each with the ReLU, pooling, Flatten and Dropout after it: the
    granularity of the pipeline profile (a block's last convolution includes its max-pool)."""
    groups = []
    for record in records:
        if record.layer.startswith(("Conv2d", "Linear")):
            groups.append([record])
        else:
            groups[-1].append(record)
    return groups


def test_totals_match_the_paper_and_torchvision() -> None:
    model = vgg16()
    records = profile(model, (3, 224, 224), "float32")
    assert len(records) == 39
    assert sum(isinstance(layer, Conv2d) for layer in model.layers) == 13
    assert sum(isinstance(layer, Linear) for layer in model.layers) == 3
    assert sum(isinstance(layer, MaxPool2d) for layer in model.layers) == 5
    # torchvision vgg16: 138,357,544 parameters; "15.47 GFLOPS" there are multiply-adds.
    assert sum(r.params for r in records) == 138_357_544
    assert sum(r.flops for r in records) / 2 == pytest.approx(15.47e9, rel=1e-3)
    assert records[-1].output_shape == (1000,)
    pool5 = next(r for r in reversed(records) if r.layer.startswith("MaxPool2d"))
    assert pool5.output_shape == (512, 7, 7)  # Table 1: five 2x2 pools, 224 / 32 = 7


@pytest.mark.parametrize("image_size", [224, 64])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_every_layer_agrees_with_the_pipeline_profile(image_size, dtype) -> None:
    width = {"float32": 4, "float16": 2}[dtype]
    ours = _grouped(profile(vgg16(image_size=image_size), (3, image_size, image_size), dtype))
    theirs = vgg16_profile(image_size, width).layers
    assert len(ours) == len(theirs) == 16
    for group, layer in zip(ours, theirs, strict=True):
        assert sum(r.flops for r in group) == layer.flops, layer.name
        assert sum(r.param_bytes for r in group) == layer.params, layer.name
        assert group[-1].output_bytes == layer.activation, layer.name
    assert ours[0][0].input_bytes == vgg16_profile(image_size, width).input_bytes


def test_building_and_profiling_allocate_no_weights() -> None:
    # 138 M float32 parameters are 553 MB; building and profiling must stay far below that.
    tracemalloc.start()
    try:
        model = vgg16()
        profile(model, (3, 224, 224))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5e6, f"peak {peak / 1e6:.1f} MB"
    assert not any(getattr(layer, "materialised", False) for layer in model.layers)
