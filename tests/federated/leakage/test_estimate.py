"""The leakage kind's work estimate: SimPy events within a factor 3 of the run's; a huge
value of the knob is refused by ``clustersim validate`` (checks in :mod:`tests.estimates`)."""

from __future__ import annotations

import pytest

from clustersim.federated.leakage.kind import simulated_events
from tests.estimates import (
    assert_estimate_near_the_run,
    assert_refused_naming,
    assert_validates,
    case_id,
)

CASES = [
    (
        "federated_leakage.yaml",
        ["workload.targets=1", "workload.attack.iterations=20", "workload.utility.rounds=5"],
    ),
    (
        "federated_leakage.yaml",
        ["workload.targets=3", "workload.attack.method=analytic", "workload.utility.rounds=2"],
    ),
]


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=[case_id(c) for c in CASES])
def test_estimate_within_a_factor_three_of_the_run(name: str, overrides: list[str]) -> None:
    assert_estimate_near_the_run(name, overrides, simulated_events)


def test_a_huge_value_is_refused_naming_the_knob() -> None:
    assert_refused_naming(
        "federated_leakage.yaml",
        ["workload.attack.iterations=1000000000"],
        "workload.attack.iterations",
    )


def test_the_shipped_scenario_is_not_refused() -> None:
    assert_validates("federated_leakage.yaml")
