"""Bad CMFL input is exit code 2 with a located message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.federated.helpers import scenario


@pytest.mark.parametrize(
    ("cmfl", "text"),
    [
        ({"threshold": 1.5}, "workload.cmfl.threshold: a relevance threshold is a share"),
        ({"threshold": -0.1}, "must be in [0, 1], got -0.1"),
        ({"threshold": 0.5, "end": 2}, "workload.cmfl.end: a relevance threshold"),
        ({"treshold": 0.5}, "did you mean 'threshold'?"),
    ],
)
def test_bad_thresholds_are_located(cmfl, text) -> None:
    with pytest.raises(InputError) as err:
        check_scenario(scenario({"algorithm": "cmfl", "cmfl": cmfl}))
    assert text in str(err.value), str(err.value)


def test_cmfl_needs_the_numbers() -> None:
    with pytest.raises(InputError, match="algorithm cmfl decides from each update's numbers"):
        check_scenario(scenario({"algorithm": "cmfl", "train": False}))


def test_validate_exits_2_on_a_threshold_outside_0_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario({"algorithm": "cmfl", "cmfl": {"threshold": 1.2}})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "workload.cmfl.threshold" in result.output and "got 1.2" in result.output
    assert "Traceback" not in result.output
