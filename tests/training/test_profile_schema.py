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


def test_the_new_builtins_and_their_knobs() -> None:
    assert build_profile(ProfileModel(builtin="alexnet")).params == 4 * 61_100_840
    gnmt = build_profile(ProfileModel(builtin="gnmt", count=8, seq_len=30, vocab=1000))
    assert len(gnmt) == 8 + 3 and gnmt.meta == {
        "layers": 8,
        "hidden": 1024,
        "vocab": 1000,
        "seq_len": 30,
    }
    assert len(build_profile(ProfileModel(builtin="amoebanet", count=6, filters=64))) == 6 + 6
    tiled = build_profile(ProfileModel(count=2, flops="1 GFLOP", activation="1 MB", rows=49))
    assert [layer.rows for layer in tiled.layers] == [49, 49]


@pytest.mark.parametrize(
    ("profile", "text"),
    [
        ({"builtin": "gnmt", "count": 7}, "GNMT splits its LSTM layers evenly"),
        ({"builtin": "amoebanet", "count": 10}, "3 equal stacks"),
        ({"builtin": "vgg16", "vocab": 100}, "profile.vocab applies only to builtin gnmt"),
        ({"builtin": "resnet50", "filters": 64}, "profile.filters applies only to builtin"),
        ({"builtin": "alexnet", "heads": 4}, "profile.heads applies only to builtin transformer"),
    ],
)
def test_bad_builtin_knobs_name_the_field(profile: dict[str, object], text: str) -> None:
    with pytest.raises(ValueError, match=text):
        ProfileModel(**profile)
