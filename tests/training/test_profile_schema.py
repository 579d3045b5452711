"""The ``profile`` mapping: each way of describing a model builds the profile it says."""

from __future__ import annotations

import pytest

from clustersim.training.profile_schema import ProfileModel, build_profile
from clustersim.training.profiles import generated_profile


def test_schema_builds_each_kind_of_profile() -> None:
    gen = build_profile(ProfileModel(count=3, flops="1 GFLOP", activation="1 MB"))
    assert gen == generated_profile(3, 1e9, 1e6)
    explicit = build_profile(
        ProfileModel(
            layers=[{"flops": 2e9, "activation": 4, "params": 8, "backward_flops": 3e9}], input=16
        )
    )
    assert explicit.layers[0].bwd_flops == 3e9 and explicit.input_bytes == 16
    assert len(build_profile(ProfileModel(builtin="resnet50", image_size=64))) == 18
    assert build_profile(ProfileModel(builtin="vgg16", dtype="float16")).params == 2 * 138_357_544
    with pytest.raises(ValueError, match="multiple of 32"):
        ProfileModel(builtin="vgg16", image_size=100)
