"""Bad early-exit input is exit 2 with a message naming the field (docs/architecture.md §5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.inference.early_exit.helpers import scenario


def _validate(tmp_path: Path, **workload: object):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(**workload)))
    return CliRunner().invoke(app, ["validate", str(path)])


def test_an_exit_after_a_layer_that_does_not_exist_is_exit_2(tmp_path: Path) -> None:
    result = _validate(tmp_path, exits=[{"after": 40, "threshold": 0.5}])
    assert result.exit_code == 2
    assert "workload.exits.0.after: layer 40 does not exist" in result.output
    assert "has 8 layers" in result.output


def test_a_negative_threshold_is_exit_2(tmp_path: Path) -> None:
    result = _validate(tmp_path, exits=[{"after": 2, "threshold": -0.1}])
    assert result.exit_code == 2
    assert "workload.exits.0.threshold" in result.output and "-0.1" in result.output


@pytest.mark.parametrize(
    ("workload", "text"),
    [
        ({"exits": [{"after": 7, "threshold": 0.5}]}, "exits.0.after: layer 7 is the main"),
        (
            {"exits": [{"after": 5, "threshold": 0.5}, {"after": 2, "threshold": 0.5}]},
            "exits.1.after: 2 must come after the previous exit's layer 5",
        ),
        ({"exits": []}, "workload.exits: needs at least one side exit"),
        ({"sweep": [0.1, -1.0]}, "workload.sweep: point 1: a threshold must be a non-negative"),
        ({"sweep": [[0.1, 0.2]]}, "workload.sweep.0: 2 thresholds for 1 exits"),
        ({"device": "edge9"}, "workload.device: 'edge9' is not a device"),
        ({"model": {"channels": [4, 4, 4, 4, 4]}}, "workload.model.channels: 5 conv blocks"),
        ({"exits": [{"after": 2, "threshold": 0.5, "weight": 0}]}, "exits.0.weight"),
    ],
)
def test_validate_finds(workload: dict, text: str) -> None:
    with pytest.raises(InputError, match=text.replace("(", r"\(").replace(")", r"\)")):
        check_scenario(scenario(**workload))
