"""Every analytic value describes the run beside it: on a contention-free, straggler-free,
balanced tensor-parallel stack (4 A100 on one NVLink switch, each rank its own port), each
metric the analytic side also reports equals it to 1e-6 (docs/architecture.md §1)."""

from __future__ import annotations

import pytest

import clustersim
from tests.training.tensor_parallel.helpers import scenario


@pytest.mark.parametrize("algorithm", ["ring", "recursive_doubling"])
def test_every_analytic_value_is_the_simulated_one(algorithm: str) -> None:
    result = clustersim.run(scenario(algorithm=algorithm))
    shared = [n for n in result.analytic if n in result.metrics]
    assert {"time_s", "time_per_layer_s", "bytes_per_layer_per_device"} <= set(shared)
    for name in shared:
        assert result.metrics[name] == pytest.approx(result.analytic[name], rel=1e-6), name
