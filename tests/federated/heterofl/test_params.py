"""Bad HeteroFL input is exit code 2 with a located message."""

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
from tests.federated.heterofl.helpers import MLP, heterofl


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (heterofl(1.5), "workload.heterofl.rates: rates must be a width rate in (0, 1]"),
        (heterofl(0), "got 0.0"),
        (heterofl([1.0] * 9 + [-0.5]), "rates [9] must be a width rate in (0, 1]"),
        (heterofl([1.0] * 3), "workload.heterofl.rates: the list has 3 values for 10 clients"),
        (heterofl({"c42": 0.5}), "unknown workload.heterofl.rates client 'c42'"),
        (heterofl("half"), "workload.heterofl.rates"),
        (
            scenario({"algorithm": "heterofl", "model": MLP, "heterofl": {"levels": [1, 2]}}),
            "workload.heterofl.levels: levels [1] must be a width rate in (0, 1]",
        ),
        (
            scenario({"algorithm": "heterofl"}),
            "algorithm heterofl slices the hidden layers of the model, and model 'logistic' "
            "has none",
        ),
        (
            scenario({"model": MLP, "heterofl": {"rates": 0.5}}),
            "heterofl applies only to algorithm heterofl, got algorithm 'fedavg'",
        ),
        (
            scenario(
                {"algorithm": "heterofl", "model": MLP, "heterofl": {"compute_budget": "0 s"}}
            ),
            "compute_budget must be a positive, finite number of seconds",
        ),
    ],
)
def test_bad_input_is_located(data: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        check_scenario(data)
    assert text in str(err.value), str(err.value)


def test_validate_exits_2_on_a_rate_outside_0_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(heterofl([1.0] * 9 + [1.25])))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "workload.heterofl.rates: rates [9] must be a width rate in (0, 1]" in result.output
    assert "got 1.25" in result.output
    assert "Traceback" not in result.output


def test_rates_by_client_default_to_full_width() -> None:
    check_scenario(heterofl({"c3": 0.25, "c7": 0.5}))
