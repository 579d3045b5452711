"""Built-in layer profiles against the published layer shapes and counts."""

from __future__ import annotations

import pytest

from clustersim.training.profiles import (
    alexnet_profile,
    amoebanet_profile,
    gnmt_profile,
    resnet50_profile,
    transformer_profile,
    vgg16_profile,
)


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


def test_alexnet_matches_torchvision() -> None:
    a = alexnet_profile()
    assert len(a) == 8
    assert a.params / 4 == 61_100_840  # torchvision alexnet: 61,100,840 parameters
    assert a.flops / 2 == pytest.approx(0.714e9, rel=1e-3)  # 714 M multiply-adds
    fc = a.layers[5:]
    assert sum(layer.params for layer in fc) / a.params > 0.959  # the FC layers: 96 % of weights
    assert sum(layer.flops for layer in fc) / a.flops < 0.09  # ... and a twelfth of the work
    assert a.layers[4].activation == 6 * 6 * 256 * 4  # pool5 output crosses to the FC stage
    assert [layer.rows for layer in a.layers[:5]] == [55 * 55, 27 * 27, 169, 169, 169]


def test_gnmt_layers_follow_wu_et_al() -> None:
    h = 1024
    g = gnmt_profile(16, hidden=h, vocab=32320, seq_len=50)
    names = [layer.name for layer in g.layers]
    assert names[0] == "embed_enc" and names[9] == "embed_dec" and names[-1] == "classifier"
    assert sum(n.startswith("enc") for n in names) == 8
    assert sum(n.startswith("dec") for n in names) == 8
    lstm = 4 * h * (h + h) + 8 * h  # four gates over [x, h], two bias vectors (PyTorch)
    assert g.layers[3].params == lstm * 4  # enc3: LSTM(h -> h), fp32
    assert g.layers[1].params == 2 * lstm * 4  # enc1: bidirectional
    assert g.layers[3].flops == pytest.approx(2 * 4 * h * 2 * h * 50)  # per token, 50 tokens
    assert g.layers[-1].flops == pytest.approx(2 * h * 32320 * 50)
    assert gnmt_profile(8).params < g.params
    with pytest.raises(ValueError, match="even number"):
        gnmt_profile(7)


def test_amoebanet_stacks_trade_resolution_for_filters() -> None:
    m = amoebanet_profile(18, 256)
    assert len(m) == 18 + 2 + 2 + 2  # cells, stem reductions, stack reductions, stem and head
    cells = {layer.name: layer for layer in m.layers}
    first, last = cells["normal1_1"], cells["normal3_6"]
    assert first.flops == pytest.approx(last.flops)  # s halves as F doubles: same work
    assert last.params == 16 * first.params  # 4F x 4F against F x F
    assert last.activation == first.activation / 4
    assert (first.rows, last.rows) == (28 * 28, 7 * 7)
