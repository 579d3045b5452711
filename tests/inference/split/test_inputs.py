"""Bad split input is exit 2 with a message naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.inference.split.helpers import scenario


def _validate(tmp_path: Path, **workload: object):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(**workload)))
    return CliRunner().invoke(app, ["validate", str(path)])


def test_a_split_out_of_range_is_exit_2(tmp_path: Path) -> None:
    result = _validate(tmp_path, split=45)
    assert result.exit_code == 2
    assert "workload.split: 45 is out of range; vgg16 has 39 layers" in result.output


def test_a_negative_power_is_exit_2(tmp_path: Path) -> None:
    power = {"dev0": {"compute_w": 6.4, "idle_w": -1.0, "transmit_w": 3.0}}
    result = _validate(tmp_path, power=power)
    assert result.exit_code == 2
    assert "workload.power.dev0.idle_w: must be a non-negative power" in result.output


@pytest.mark.parametrize(
    ("workload", "text"),
    [
        ({"split": -1}, "workload.split: -1 is out of range"),
        ({"layer_times": {"dev0": [0.001] * 38 + [-0.5]}}, r"workload.layer_times: dev0.38: a"),
        ({"layer_times": {"edge0": [0.001] * 39}}, "workload.layer_times.edge0: not one of"),
        ({"mobile": "cloud"}, "workload.cloud: 'cloud' is also the mobile device"),
        ({"mobile": "phone"}, "workload.mobile: 'phone' is not a device"),
        ({"power": {"dev9": {"compute_w": 1, "idle_w": 1, "transmit_w": 1}}}, "power.dev9"),
        ({"model": "alexnet", "image_size": 32}, "workload.image_size: alexnet cannot take"),
        ({"verify": True, "verify_image_size": 16}, "workload.verify_image_size: vgg16"),
        ({"model": "vgg16", "channels": 1}, "workload.channels: vgg16 takes 3-channel"),
    ],
)
def test_validate_finds(workload: dict, text: str) -> None:
    with pytest.raises(InputError, match=text):
        check_scenario(scenario(**workload))


def test_the_energy_objective_needs_a_power_model() -> None:
    s = scenario(objective="energy")
    s["cluster"]["devices"]["dev0"] = "RaspberryPi5"  # no power preset
    with pytest.raises(InputError, match="workload.power.dev0: the energy objective needs"):
        check_scenario(s)
