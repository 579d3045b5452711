"""FDSP's accuracy on a trained small CNN: lower than the whole model's with the same weights,
mostly recovered by fine-tuning under the same padding (ADCNN retrains), which a model trained
whole for as many epochs does not explain."""

from __future__ import annotations

import pytest

import clustersim
from tests.paths import SCENARIOS

SMALL = [
    "workload.train.samples=1000",
    "workload.train.test_samples=600",
    "workload.train.epochs=3",
    "workload.train.finetune_epochs=2",
]


@pytest.fixture(scope="module")
def result() -> clustersim.Result:
    return clustersim.run(SCENARIOS / "partition_adcnn_accuracy.yaml", SMALL)


def test_fdsp_costs_accuracy_and_fine_tuning_wins_it_back(result: clustersim.Result) -> None:
    m = result.metrics
    assert m["accuracy_whole"] > 0.5  # ten classes: chance is 0.1
    assert m["accuracy_fdsp"] < m["accuracy_whole"] - 0.05
    assert m["accuracy_fdsp_finetuned"] > m["accuracy_fdsp"] + 0.05
    assert m["accuracy_fdsp_finetuned"] > m["accuracy_whole_same_epochs"] - 0.05


def test_the_replay_runs_the_trained_model(result: clustersim.Result) -> None:
    assert result.checks["fdsp_interior_equals_whole"]["passed"]
    assert result.metrics["max_rel_err"] > 0.05  # the trained features change at tile borders
