"""Bad input is exit code 2 with a located message (load, validate and the CLI agree)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.federated.helpers import scenario


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (
            {"clients_per_round": 12},
            "workload.clients_per_round: 12 clients per round, but there are only 10 clients",
        ),
        ({"fraction": 1.5}, "workload.fraction: fraction C must be in (0, 1]"),
        (
            {"partition": {"kind": "dirichlet", "alpha": 0}},
            "workload.partition: alpha must be a positive, finite Dirichlet concentration, got 0",
        ),
        ({"partition": {"kind": "dirichlet", "alpha": -1}}, "got -1"),
        (
            {"partition": {"kind": "shards", "shards": 7, "shards_per_client": 2}},
            "workload.partition.shards: 7 shards do not divide the 600 samples",
        ),
        (
            {"partition": {"kind": "shards", "shards_per_client": 7}},
            "workload.partition: 70 shards (10 clients x 7) do not divide the 600 samples",
        ),
        (
            {"partition": {"kind": "classes", "classes_per_client": 7}},
            "expected samples divisible by 70 and 70 divisible by the 10 classes",
        ),
        (
            {"deadline": 0},
            "workload.deadline: deadline must be a positive, finite number of seconds, got 0",
        ),
        ({"deadline": "-2 s"}, "got -2.0"),
        (
            {"network": {"packet_loss": 1.0}},
            "workload.network.packet_loss: packet_loss must be a rate in [0, 1), got 1.0",
        ),
        (
            {"network": {"packet_loss": [0.1] * 9 + [-0.1]}},
            "packet_loss [9] must be a rate in [0, 1), got -0.1",
        ),
        (
            {"network": {"packet_loss": [0.1] * 3}},
            "workload.network.packet_loss: the list has 3 values for 10 clients",
        ),
        (
            {"network": {"packet_loss": {"c99": 0.1}}},
            "unknown workload.network.packet_loss client 'c99'",
        ),
        ({"errors": {"update_loss": 1.2}}, "workload.errors.update_loss: must be a rate in [0, 1)"),
        ({"errors": {"bit_error_rate": "1e-5"}}, None),  # YAML's 1e-5 is a string: accepted
        ({"availability": {"dropout_probability": 1}}, "must be a probability in [0, 1)"),
        ({"availability": {"offline": {"c1": [[5, 2]]}}}, "0 <= start < end"),
        ({"mu": 0.5}, "mu (0.5) applies only to algorithm fedprox"),
        (
            {"dataset": {"name": "synthetic"}, "partition": {"kind": "iid"}},
            "partition 'iid' does not apply to dataset 'synthetic'",
        ),
        ({"dataset": {"name": "blobs", "samples": 601}}, "must be a multiple of classes"),
        (
            {"dataset": {"name": "images", "separation": 2}},
            "separation does not apply to name 'images'",
        ),
        ({"partition": {"kind": "iid", "alpha": 2}}, "alpha does not apply to kind 'iid'"),
        ({"model": {"name": "mlp"}}, "model 'mlp' needs hidden widths"),
        ({"clients": 11}, "workload.clients: 11 clients, but the cluster has only 10"),
        ({"clients": ["c1", "server"]}, "'server' is the server, not a client"),
        ({"server": "nowhere"}, "unknown workload.server device 'nowhere'"),
        (
            {"compare": {"fedavg": {"algorithm": "fedavg", "lr": -1}}},
            "compare.fedavg.lr: Input should be greater than 0",
        ),
        ({"compare": {"Bad Label": {"lr": 0.2}}}, "label 'Bad Label' must be lower-case"),
        ({"stragglers": 1.5}, "stragglers must be a share in [0, 1]"),
    ],
)
def test_bad_input_is_located(change: dict[str, Any], text: str | None) -> None:
    data = scenario(change)
    if text is None:
        check_scenario(data)
        return
    with pytest.raises(InputError) as err:
        check_scenario(data)
    assert text in str(err.value), str(err.value)


def test_validate_exits_2_with_one_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario({"clients_per_round": 20})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "workload.clients_per_round: 20 clients per round" in result.output
    assert "Traceback" not in result.output


def test_good_scenarios_validate(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(scenario({"clients_per_round": 5, "deadline": "2 s"})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
