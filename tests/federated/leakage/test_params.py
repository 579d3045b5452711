"""Bad leakage input, including an attack on a model it cannot attack: exit 2, located."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.federated.leakage.defences import DEFENCES
from clustersim.federated.leakage.params import DefenceParams
from clustersim.scenario.runner import check_scenario
from tests.federated.leakage.helpers import scenario


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (
            {"model": {"bias": False}},
            "workload.model.bias: attack.method 'both' includes the analytic attack",
        ),
        (
            {"model": {"activation": "relu"}, "attack": {"method": "dlg"}},
            "workload.model.activation: DLG descends the gradient of the matching loss",
        ),
        ({"dataset": {"name": "blobs"}}, "workload.dataset.name: the attacks reconstruct images"),
        ({"defences": [{"kind": "prune", "sparsity": 1.0}]}, "sparsity must be a share in [0, 1)"),
        ({"defences": [{"kind": "noise", "variance": 0}]}, "variance must be positive"),
        ({"defences": [{"kind": "gzip"}]}, "workload.defences.0.kind"),
        ({"defences": []}, "defences: the list is empty"),
        ({"client": "server"}, "workload.client: 'server' is the server"),
        ({"server": "nowhere"}, "unknown workload.server device 'nowhere'"),
        ({"utility": {"clients": 500}}, "200 samples cannot give each of the 500 utility"),
    ],
)
def test_bad_input_is_located(change: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        check_scenario(scenario(change))
    assert text in str(err.value), str(err.value)


def test_relu_models_can_still_be_attacked_analytically() -> None:
    check_scenario(scenario({"model": {"activation": "relu"}, "attack": {"method": "analytic"}}))


def test_validate_exits_2_on_an_attack_the_model_does_not_allow(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario({"model": {"bias": False}})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "workload.model.bias" in result.output and "Traceback" not in result.output


def test_the_params_name_every_defence_the_kernels_know() -> None:
    literal = DefenceParams.model_fields["kind"].annotation.__args__
    assert set(literal) == set(DEFENCES)
