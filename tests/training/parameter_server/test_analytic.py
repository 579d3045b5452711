"""Every analytic value describes the run beside it: one server, straggler-free workers on a
switch (each its own port): each metric the analytic side also reports equals it to 1e-6
(docs/architecture.md §1)."""

from __future__ import annotations

import pytest

from tests.training.parameter_server.helpers import run


@pytest.mark.parametrize("workers", [2, 4])
def test_every_analytic_value_is_the_simulated_one(workers: int) -> None:
    result = run(workers=workers)
    shared = [n for n in result.analytic if n in result.metrics]
    assert {"time_per_iteration_s", "bytes_total", "communication_s"} <= set(shared)
    for name in shared:
        assert result.metrics[name] == pytest.approx(result.analytic[name], rel=1e-6), name
