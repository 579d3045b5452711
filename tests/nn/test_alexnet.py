"""AlexNet (torchvision's single-tower "one weird trick" variant): shapes and totals."""

from __future__ import annotations

import pytest

from clustersim.nn import alexnet, profile


def test_totals_and_feature_map_sizes() -> None:
    records = profile(alexnet(), (3, 224, 224), "float32")
    assert len(records) == 21
    # torchvision alexnet: 61,100,840 parameters and "0.71 GFLOPS" (multiply-adds).
    assert sum(r.params for r in records) == 61_100_840
    assert sum(r.flops for r in records) / 2 == pytest.approx(0.714e9, rel=1e-3)
    convs = [r for r in records if r.layer.startswith("Conv2d")]
    assert [r.output_shape for r in convs] == [
        (64, 55, 55),  # (224 + 2·2 - 11) // 4 + 1
        (192, 27, 27),
        (384, 13, 13),
        (256, 13, 13),
        (256, 13, 13),
    ]
    flatten = next(r for r in records if r.layer == "Flatten()")
    assert flatten.output_shape == (256 * 6 * 6,)
    # The fully connected layers hold 96 % of the weights and 8 % of the work.
    fc = [r for r in records if r.layer.startswith("Linear")]
    assert sum(r.params for r in fc) / 61_100_840 == pytest.approx(0.9596, abs=1e-4)
    assert sum(r.flops for r in fc) / sum(r.flops for r in records) < 0.09


def test_layer_order_is_torchvisions() -> None:
    # torchvision's classifier puts dropout before each hidden FC layer (vision issue 549).
    kinds = [r.layer.split("(")[0] for r in profile(alexnet(), (3, 224, 224))]
    assert kinds[:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    assert kinds[-8:] == [
        "Flatten",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Linear",
    ]
