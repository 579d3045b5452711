"""Input errors only the cluster or the model's shapes reveal, found by ``prepare``: so
``clustersim validate`` exits 2 with a located message, before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.inference.partition.stack import spatial_stack
from clustersim.inference.partition.tiles import fdsp_tiles
from clustersim.nn import Conv2d, Sequential
from clustersim.scenario.runner import check_scenario
from tests.inference.partition.helpers import star

VGG = {"name": "vgg16", "image_size": 224}

BAD = [
    # more tiles than rows
    (
        {"partition": "spatial", "tiles": [300, 1], "workers": 8},
        8,
        "workload.tiles: 300 tile rows but the input has only 224 rows",
    ),
    ({"partition": "spatial", "tiles": [8, 1]}, 8, "owns no pixel of the 7×7 output of layer 30"),
    ({"partition": "fdsp", "tiles": [8, 1]}, 8, "8 FDSP tile rows but the last feature map"),
    # a partition count that does not match the devices
    (
        {"partition": "spatial", "tiles": [3, 3]},
        8,
        "workload.tiles: [3, 3] makes 9 tiles but there are 8 workers",
    ),
    ({"partition": "fdsp", "tiles": [2, 2]}, 8, "4 tiles for 8 workers"),
    ({"partition": "spatial", "workers": 9}, 8, "workload.workers: 9 workers asked for"),
    (
        {"partition": "channel", "model": {"name": "small_cnn", "channels": [4, 8]}},
        6,
        "6 workers but a convolution of small_cnn has only 4 output channels",
    ),
    (
        {"partition": "head", "model": {"name": "attention", "heads": 12}},
        5,
        "workload.model.heads: 12 heads do not divide among 5 workers",
    ),
    (
        {"partition": "sequence", "model": {"name": "attention", "seq_len": 100}},
        8,
        "workload.model.seq_len: 100 tokens do not divide among 8 workers",
    ),
    # a kernel larger than a tile (its halo would come from beyond the neighbours)
    (
        {"partition": "spatial", "tiles": [4, 1], "fuse": 6},
        4,
        "which is not its neighbour: the window (kernel 3) and its fused halo are larger than",
    ),
    # a device list naming a node that does not exist
    (
        {"partition": "spatial", "workers": ["pi1", "pi9"], "tiles": [2, 1]},
        8,
        "workload.workers: 'pi9' is not a device of the cluster",
    ),
    (
        {"partition": "spatial", "central": "gateway"},
        4,
        "workload.central: 'gateway' is not a device of the cluster",
    ),
    (
        {"partition": "spatial", "workers": ["central", "pi1"], "tiles": [2, 1]},
        4,
        "workload.workers: 'central' is the central node",
    ),
    ({"partition": "fdsp", "cloud": "pi1", "central": "pi1"}, 4, "'pi1' is the central node too"),
    # a model too small for its own layers
    (
        {"partition": "spatial", "model": {"name": "vgg16", "image_size": 16}},
        4,
        "workload.model: image_size 16 is too small for vgg16",
    ),
]


@pytest.mark.parametrize(("workload", "pis", "text"), BAD, ids=[b[2][:40] for b in BAD])
def test_validate_finds_the_bad_input(workload: dict[str, Any], pis: int, text: str) -> None:
    scenario = star(pis=pis, **{"model": VGG, **workload})
    with pytest.raises(InputError) as err:
        check_scenario(scenario)
    assert text in str(err.value)


def test_the_command_line_exits_2_with_one_located_paragraph(tmp_path: Path) -> None:
    scenario = star(pis=8, model=VGG, partition="spatial", tiles=[300, 1])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}: workload.tiles: 300 tile rows" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_an_fdsp_tile_smaller_than_its_kernel_is_refused() -> None:
    stack = spatial_stack(Sequential([Conv2d(1, 1, 5)]), (1, 16, 16), "float32")
    with pytest.raises(InputError, match="FDSP tile row 0 is 3 rows at the input of layer 0"):
        fdsp_tiles(stack, (4, 1), [1] * 4, [1])
