"""A sub-model is the top-left block of every hidden layer: the full model with the other units
zeroed computes exactly what the sub-model computes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from clustersim.federated.heterofl import LEVELS, scaled_width, sub_index, sub_models
from clustersim.federated.models import build_model
from clustersim.federated.params import ModelParams

SPECS = [
    (ModelParams(name="mlp", hidden=[24, 12]), (16,)),
    (ModelParams(name="cnn", channels=[8, 16], hidden=[12]), (1, 8, 8)),
]


def test_scaled_width_is_the_ceiling_of_rate_times_width() -> None:
    assert [scaled_width(16, r) for r in LEVELS] == [16, 8, 4, 2, 1]
    assert scaled_width(30, 0.1) == 3  # 0.1 * 30 is 3.0000000000000004 in binary
    assert scaled_width(10, 1 / 3) == 4
    assert scaled_width(5, 0.0625) == 1  # at least one unit


@pytest.mark.parametrize(("spec", "shape"), SPECS, ids=["mlp", "cnn"])
@pytest.mark.parametrize("rate", [0.5, 0.25, 0.0625])
def test_sub_model_equals_the_full_model_with_the_other_units_zeroed(spec, shape, rate) -> None:
    rng = np.random.default_rng(3)
    full = build_model(spec, shape, 5, rng)
    sub = sub_models(spec, shape, 5, [rate], full.layout)[rate]
    w = rng.standard_normal(full.parameters)
    masked = np.zeros_like(w)
    masked[sub.index] = w[sub.index]
    x = rng.standard_normal((7, int(np.prod(shape))))
    y = rng.integers(0, 5, 7)
    lost_full = full.sample_losses(masked, x, y)
    lost_sub = sub.model.sample_losses(w[sub.index], x, y)
    np.testing.assert_allclose(lost_sub, lost_full, rtol=1e-12, atol=1e-12)
    # and not the full model itself (the control)
    assert np.abs(full.sample_losses(w, x, y) - lost_sub).max() > 1e-3


@pytest.mark.parametrize(("spec", "shape"), SPECS, ids=["mlp", "cnn"])
def test_sub_models_are_nested_and_rate_one_is_the_whole_model(spec, shape) -> None:
    full = build_model(spec, shape, 5, np.random.default_rng(0))
    subs = sub_models(spec, shape, 5, LEVELS, full.layout)
    np.testing.assert_array_equal(subs[1.0].index, np.arange(full.parameters))
    for big, small in itertools.pairwise(LEVELS):
        assert set(subs[small].index.tolist()) < set(subs[big].index.tolist())
    for sub in subs.values():
        assert np.unique(sub.index).size == sub.index.size


def test_a_layer_that_is_not_a_block_is_refused() -> None:
    full = build_model(ModelParams(name="mlp", hidden=[8]), (4,), 3, np.random.default_rng(0))
    wider = build_model(ModelParams(name="mlp", hidden=[9]), (4,), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="is not a block"):
        sub_index(full.layout, wider.layout)
