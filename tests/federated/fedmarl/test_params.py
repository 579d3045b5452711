"""Bad FedMARL input, including reward weights that are all zero: exit 2, located."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.federated.fedmarl.helpers import scenario


def _with_federated(**change: Any) -> dict[str, Any]:
    data = scenario()
    data["workload"]["federated"].update(change)
    return data


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (
            scenario({"weights": {"accuracy": 0, "latency": 0, "bandwidth": 0}}),
            "workload.weights: the reward weights are all zero",
        ),
        (scenario({"weights": {"latency": -1}}), "latency must be a finite weight >= 0"),
        (scenario({"agent": {"participation": 1.0}}), "participation must be in (0, 1)"),
        (scenario({"evaluation": {"drop_rates": [0.5, 1.0]}}), "drop_rates [1] must be in (0, 1)"),
        (_with_federated(fraction=0.5), "workload.federated: fraction does not apply"),
        (_with_federated(train=False), "train must be true"),
        (_with_federated(eval_every=2), "eval_every must be 1"),
        (_with_federated(rounds=0), "workload.federated"),
        (_with_federated(server="nowhere"), "unknown workload.federated.server device"),
        (_with_federated(clients=40), "workload.federated.clients: 40 clients"),
    ],
)
def test_bad_input_is_located(data: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        check_scenario(data)
    assert text in str(err.value), str(err.value)


def test_validate_exits_2_on_all_zero_weights(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario({"weights": {"accuracy": 0}})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "the reward weights are all zero" in result.output
    assert "Traceback" not in result.output
