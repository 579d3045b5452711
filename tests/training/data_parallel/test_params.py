"""The workload's input errors (found by ``validate`` as well as ``run``) and its defaults."""

from __future__ import annotations

import math

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from clustersim.training.data_parallel.params import DataParallelParams
from tests.training.data_parallel.helpers import compressed_scenario, scenario


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        ({"warmup": 1}, "lr_scaling"),
        ({"iterations": 5, "epochs": 1}, "not both"),
        ({"model": [16, 8, 4], "dataset": {"features": 10}}, "dataset.features"),
        ({"model": [16]}, "MLP layer sizes"),
        ({"servers": 2}, "parameter_server"),
        ({"algorithm": "nope"}, "unknown all-reduce algorithm"),
        ({"workers": 9}, "more than"),
        ({"batch_size": 512}, "global batch"),
        ({"dataset": {"kind": "teacher", "separation": 2}}, "separation"),
    ],
)
def test_input_errors(workload: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clustersim.run(scenario(**workload))


def test_default_iterations_and_sizes() -> None:
    params = DataParallelParams()
    assert params.mlp_sizes() == [32, 64, 10]
    assert math.isclose(params.lr, 0.05)


def test_epochs_set_the_iterations() -> None:
    result = clustersim.run(scenario(iterations=None, epochs=1.5))
    # 1024 samples / (4 workers × 32) = 8 iterations per epoch
    assert result.metrics["iterations"] == 12
    assert result.metrics["epochs"] == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("comp", "message"),
    [
        ({"method": "zip"}, "method"),
        ({"method": "dgc", "sparsity": 1.0}, "sparsity"),
        ({"method": "terngrad", "sparsity": 0.9}, "sparsity"),
    ],
)
def test_compression_input_errors(comp: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clustersim.run(compressed_scenario(compression=comp))


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        ({"workers": 9}, "more than"),
        ({"batch_size": 512}, "global batch"),
        ({"sync": "parameter_server", "servers": 4}, "leaves no worker"),
    ],
)
def test_validate_finds_what_only_the_cluster_rejects(workload: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_scenario(scenario(**workload))
