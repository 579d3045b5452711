"""The pipeline kind's work estimate: SimPy events within a factor 3 of the run's; a huge
value of the knob is refused by ``clustersim validate`` (checks in :mod:`tests.estimates`)."""

from __future__ import annotations

import pytest

from clustersim.training.pipeline.kind import simulated_events
from tests.estimates import (
    assert_estimate_near_the_run,
    assert_refused_naming,
    assert_validates,
    case_id,
)

CASES = [
    ("pipeline_gpipe_m4.yaml", []),
    ("pipeline_3d_parallel.yaml", ["workload.microbatches=2", "workload.verify=false"]),
    ("pipeline_pipedream_resnet50.yaml", []),
]


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=[case_id(c) for c in CASES])
def test_estimate_within_a_factor_three_of_the_run(name: str, overrides: list[str]) -> None:
    assert_estimate_near_the_run(name, overrides, simulated_events)


def test_a_huge_value_is_refused_naming_the_knob() -> None:
    # 100,000 micro-batches stay under layout.MAX_OPS (2 M ops, checked first by prepare) but
    # are about 4.8 M events: over a limit of 1 M, and under the default 10 M
    huge = ["workload.microbatches=100000", "workload.batch=100000"]
    assert_refused_naming(
        "pipeline_gpipe_m4.yaml", huge, "workload.microbatches", "--max-events", "1000000"
    )
    assert_validates("pipeline_gpipe_m4.yaml", huge)


def test_the_shipped_scenario_is_not_refused() -> None:
    assert_validates("pipeline_gpipe_m4.yaml")
