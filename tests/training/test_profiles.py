"""Built-in layer profiles against the published layer shapes and counts."""

from __future__ import annotations

import pytest

from clustersim.training.profiles import resnet50_profile, transformer_profile, vgg16_profile


def test_vgg16_matches_the_paper_and_torchvision() -> None:
    v = vgg16_profile()
    assert len(v) == 16
    assert v.params / 4 == 138_357_544  # torchvision vgg16: 138,357,544 parameters
    assert v.flops / 2 == pytest.approx(15.47e9, rel=1e-3)  # 15.5 G multiply-adds
    fc = v.layers[13:]
    assert sum(layer.params for layer in fc) / v.params > 0.89  # the FC layers hold the weights
    assert sum(layer.flops for layer in fc) / v.flops < 0.01  # ... and almost none of the work
    assert v.layers[12].activation == 7 * 7 * 512 * 4  # pool5 output crosses to the FC stage


def test_resnet50_matches_the_paper_and_torchvision() -> None:
    r = resnet50_profile()
    assert len(r) == 18
    assert r.params / 4 == 25_557_032  # torchvision resnet50: 25,557,032 parameters
    assert r.flops / 2 == pytest.approx(3.86e9, rel=1e-2)  # He et al. Table 1: 3.8e9 "FLOPs"


def test_transformer_block_formulas() -> None:
    h, s, a = 1024, 2048, 16
    t = transformer_profile(2, h, s, a, dtype_bytes=2)
    block = t.layers[0]
    assert block.flops == 24 * s * h * h + 4 * s * s * h  # Narayanan et al. SC 2021 §5.1
    assert block.params == (12 * h * h + 13 * h) * 2
    assert block.stash_bytes == s * h * (34 + 5 * a * s / h)  # Korthikanti et al. eq. 1
    assert block.bwd_flops == 2 * block.flops
