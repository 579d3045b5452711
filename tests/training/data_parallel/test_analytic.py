"""Every analytic value describes the run beside it: contention-free (fully connected, each
pair its own link), straggler-free data parallelism, with and without the all-reduce
overlapping the backward pass: each metric the analytic side also reports equals it to 1e-6
(docs/architecture.md §1)."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from tests.training.data_parallel.helpers import RESNET, scenario

CASES: list[dict[str, Any]] = [
    {"algorithm": "ring", "iterations": 3},
    {"algorithm": "recursive_doubling", "iterations": 3},
    {"algorithm": "ring", "iterations": 2, "overlap": True, "model": RESNET, "batch_size": 8},
]


@pytest.mark.parametrize("workload", CASES, ids=["ring", "recursive_doubling", "overlap"])
def test_every_analytic_value_is_the_simulated_one(workload: dict[str, Any]) -> None:
    result = clustersim.run(scenario(topology="fully_connected", **workload))
    shared = [n for n in result.analytic if n in result.metrics]
    assert {"time_per_iteration_s", "compute_s", "communication_s", "bytes_total"} <= set(shared)
    for name in shared:
        assert result.metrics[name] == pytest.approx(result.analytic[name], rel=1e-6), name
