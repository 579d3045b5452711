"""Every analytic value describes the run beside it: on a contention-free, straggler-free,
balanced pipeline, each metric the analytic side also reports equals it to 1e-6
(docs/architecture.md §1). An analytic value that drifts from its simulation fails here."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from tests.training.pipeline.helpers import scenario

# activations that cost nothing to move (1 kB at 1 PB/s): they count in memory and traffic
WITH_ACTIVATIONS = {"count": 8, "flops": "10 GFLOP", "activation": "1 kB", "params": "1 MB"}
CASES = [
    {"schedule": "naive", "stages": 4, "microbatches": 4},
    {"schedule": "gpipe", "stages": 4, "microbatches": 8},
    {"schedule": "1f1b", "stages": 4, "microbatches": 8},
    {"schedule": "interleaved_1f1b", "stages": 2, "chunks": 2, "microbatches": 4},
    {"schedule": "1f1b", "stages": 2, "microbatches": 4, "replicas": 2},
    {"schedule": "pipedream", "stages": 4, "microbatches": 8},
    {"schedule": "pipedream", "stages": [2, 1, 1], "partition": [2, 3, 3], "microbatches": 8},
    {"schedule": "gpipe", "stages": 4, "microbatches": 8, "profile": WITH_ACTIVATIONS},
]


def _agree(result: clustersim.Result) -> list[str]:
    """Names of the metrics whose analytic value differs from the simulated one."""
    out = []
    for name, predicted in result.analytic.items():
        measured = result.metrics.get(name)
        if measured is None or isinstance(predicted, (str, bool)):
            continue
        pairs = (
            zip(predicted, measured, strict=True)
            if isinstance(predicted, list)
            else [(predicted, measured)]
        )
        if any(m != pytest.approx(p, rel=1e-6, abs=1e-12) for p, m in pairs):
            out.append(f"{name}: simulated {measured}, analytic {predicted}")
    return out


@pytest.mark.parametrize("workload", CASES, ids=lambda w: f"{w['schedule']}-{w['stages']}")
def test_every_analytic_value_is_the_simulated_one(workload: dict[str, Any]) -> None:
    result = clustersim.run(scenario({**workload, "verify": False}, nodes=4))
    shared = [n for n in result.analytic if n in result.metrics]
    assert len(shared) >= 6
    assert _agree(result) == []
