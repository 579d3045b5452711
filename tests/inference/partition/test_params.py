"""Parameter errors found by the params model, each naming the field and what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from tests.inference.partition.helpers import star

CNN = {"name": "vgg16", "image_size": 64}


@pytest.mark.parametrize(
    ("workload", "text"),
    [
        ({"partition": "spatial", "tiles": [2, 2, 1]}, "workload.tiles: expected [rows, columns]"),
        ({"partition": "spatial", "tiles": [0, 2]}, "of positive counts, got [0, 2]"),
        ({"partition": "channel", "tiles": [2, 2]}, "tiles does not apply to partition 'channel'"),
        ({"partition": "spatial", "schedule": "adaptive"}, "schedule does not apply"),
        ({"partition": "fdsp", "fuse": 2}, "fuse does not apply to partition 'fdsp'"),
        ({"partition": "spatial", "sizing": "speed", "tiles": [2, 2]}, "expected tiles [n, 1]"),
        ({"partition": "head"}, "splits an attention layer"),
        ({"partition": "spatial", "fuse": 0}, "workload.fuse: must be a positive integer"),
        ({"partition": "fdsp", "prefetch": 0}, "workload.prefetch: must be a positive integer"),
        ({"partition": "spatial", "train": {}}, "train applies to partition 'fdsp'"),
        ({"partition": "spatial", "input": "replicated"}, "input does not apply"),
        ({"partition": "spatial", "tile": [2, 2]}, "unknown key 'tile'; did you mean 'tiles'"),
    ],
)
def test_bad_cnn_parameters(workload: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(star(model=CNN, **workload))
    assert text in str(err.value)


@pytest.mark.parametrize(
    ("model", "text"),
    [
        ({"name": "attention", "embed": 100, "heads": 12}, "embed 100 must be divisible by heads"),
        ({"name": "attention", "image_size": 32}, "image_size does not apply to model 'attention'"),
        ({"name": "vgg16", "heads": 4}, "heads does not apply to model 'vgg16'"),
        ({"name": "vgg16", "channels": [4]}, "channels does not apply to model 'vgg16'"),
        ({"name": "resnet"}, "workload.model.name"),
    ],
)
def test_bad_models(model: dict[str, Any], text: str) -> None:
    partition = "head" if model["name"] == "attention" else "spatial"
    with pytest.raises(InputError) as err:
        load_scenario(star(model=model, partition=partition))
    assert text in str(err.value)
