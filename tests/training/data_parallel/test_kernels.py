"""The trainer's numerics in a run: the replicas equal one worker on the concatenated global
batch (and a broken all-reduce is caught), the model learns, the same seed gives the same run."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives import ring
from tests.training.data_parallel.helpers import scenario


@pytest.mark.parametrize(
    "workload",
    [
        {},
        {"algorithm": "recursive_doubling"},
        {"algorithm": "halving_doubling", "workers": 3},
        {"sync": "parameter_server", "servers": 2},
        {"overlap": True, "bucket_size": 1000, "model": [16, 32, 32, 4]},
        {"lr_scaling": "linear", "warmup": 0.5},
    ],
    ids=[
        "ring",
        "recursive_doubling",
        "halving_doubling_3",
        "ps_2_servers",
        "overlap",
        "linear_warmup",
    ],
)
def test_data_parallel_equals_single_worker(workload: dict) -> None:
    result = clustersim.run(scenario(nodes=5, **workload))
    record = result.checks["data_parallel_equals_single_worker"]
    assert record["passed"], record
    assert record["steps"] == 20
    assert record["max_abs_err"] < 1e-12


def test_check_catches_a_broken_allreduce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: a ring that skips its last reduce-scatter step sums wrongly."""
    original = ring.ring_reduce_scatter_step

    def skip_last(padded: np.ndarray, step: int) -> None:
        if step < padded.shape[0] - 2:
            original(padded, step)

    monkeypatch.setattr(ring, "ring_reduce_scatter_step", skip_last)
    result = clustersim.run(scenario(iterations=3))
    record = result.checks["data_parallel_equals_single_worker"]
    assert not record["passed"]
    assert record["max_abs_err"] > 1e-6


def test_the_model_learns() -> None:
    result = clustersim.run(
        scenario(iterations=150, dataset={"samples": 2048, "test_samples": 512})
    )
    m = result.metrics
    assert m["final_accuracy"] > 0.6  # chance is 0.1
    assert m["train_loss_curve"][-1] < 0.5 * m["train_loss_curve"][0]
    assert len(m["train_loss_curve"]) == 150
    assert m["test_accuracy_iterations"][-1] == 150


def test_teacher_dataset_learns() -> None:
    result = clustersim.run(
        scenario(
            iterations=150,
            model=[8, 64, 3],
            dataset={"kind": "teacher", "samples": 2048, "test_samples": 512},
        )
    )
    assert result.metrics["final_accuracy"] > 0.7  # chance is 1/3


def test_same_seed_same_result() -> None:
    a = clustersim.run(scenario(iterations=5)).to_json(include_wall=False)
    b = clustersim.run(scenario(iterations=5)).to_json(include_wall=False)
    assert a == b
