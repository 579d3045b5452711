"""Input errors only the cluster or the built profile can reveal, found by ``prepare``: so
``clustersim validate`` reports them without simulating (docs/architecture.md §8)."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario, prepare_scenario
from clustersim.training.pipeline.kind import KIND, PipelinePlan
from clustersim.training.pipeline.layout import MAX_OPS
from tests.training.pipeline.helpers import run, scenario

IMPOSSIBLE = [
    ({"stages": 8}, 4, "needs 8 devices"),
    ({"stages": 16}, 16, "16 stages x 1 chunks need at least 16 layers"),
    ({"partition": [4, 3, 1, 1]}, 4, "sum to 9 but the profile has 8 layers"),
    ({"devices": ["n0", "n1", "n9", "n3"]}, 4, "'n9' is not a device"),
    ({"devices": ["n0", "n1", "n1", "n3"]}, 4, r"a device is listed twice \(n1\)"),
]


@pytest.mark.parametrize(("change", "nodes", "text"), IMPOSSIBLE)
def test_impossible_placements_are_input_errors(
    change: dict[str, Any], nodes: int, text: str
) -> None:
    with pytest.raises(InputError, match=text):
        run({"schedule": "gpipe", "stages": 4, "microbatches": 4, **change}, nodes=nodes)


@pytest.mark.parametrize(("change", "nodes", "text"), IMPOSSIBLE)
def test_validate_finds_them_too(change: dict[str, Any], nodes: int, text: str) -> None:
    wl = {"schedule": "gpipe", "stages": 4, "microbatches": 4, **change}
    with pytest.raises(InputError, match=text):
        check_scenario(scenario(wl, nodes=nodes))


def test_too_many_ops_is_an_input_error_before_simulating() -> None:
    # 2 ops (F, B) x 4 stages x 250,001 micro-batches
    wl = {"schedule": "gpipe", "stages": 4, "microbatches": MAX_OPS // 8 + 1, "verify": False}
    with pytest.raises(InputError, match=f"over the limit of {MAX_OPS}"):
        check_scenario(scenario(wl))


def test_the_plan_carries_what_simulate_and_analytic_share() -> None:
    """The planner runs once, in prepare; analytic needs no simulation before it."""
    loaded = load_scenario(
        scenario(
            {
                "schedule": "pipedream",
                "partition": "planner",
                "microbatches": 4,
                "profile": {"count": 6, "flops": "10 GFLOP", "activation": "1 MB"},
            },
            link={"bandwidth": "10 GB/s", "latency": "5 us"},
        )
    )
    _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    assert isinstance(plan, PipelinePlan)
    assert plan.layout.search is not None and plan.layout.period_s is not None
    assert [name for name, _ in plan.baselines] == ["data_parallel", "even_split"]
    before = KIND.analytic(plan)
    outcome = KIND.simulate(plan)
    assert KIND.analytic(plan) == before
    assert outcome.metrics["plan"] == before["plan"]
    assert outcome.metrics["throughput_samples_per_s"] == pytest.approx(
        before["throughput_samples_per_s"], rel=1e-6
    )
