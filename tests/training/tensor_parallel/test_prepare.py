"""Input errors only the cluster can reveal, found by ``prepare``: so ``clustersim validate``
reports them without simulating (docs/architecture.md §8)."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario, prepare_scenario
from clustersim.training.tensor_parallel.kind import KIND, TensorParallelPlan
from tests.training.tensor_parallel.helpers import scenario


def test_too_few_ranks() -> None:
    with pytest.raises(InputError, match="degree is 8 but the cluster has 4"):
        clustersim.run(scenario(degree=8))


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"degree": 8}, "degree is 8 but the cluster has 4"),
        ({"degree": 2, "ranks": ["n0", "n1", "n2"]}, "degree is 2 but workload.ranks lists 3"),
        ({"ranks": ["n0", "n0", "n1", "n2"]}, r"workload.ranks: a rank is listed twice \(n0\)"),
        ({"degree": 2, "ranks": ["n0", "x"]}, "workload.ranks: 'x' is not a device"),
    ],
)
def test_validate_finds_rank_errors(change: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError, match=text):
        check_scenario(scenario(**change))


def test_the_plan_holds_the_ranks_and_one_blocks_steps() -> None:
    loaded = load_scenario(scenario(degree=2, ranks=["n3", "n1"], part="attention"))
    _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    assert isinstance(plan, TensorParallelPlan)
    assert plan.ranks == ["n3", "n1"]
    assert [s.kind for s in plan.fwd] == ["compute", "allreduce"]
    assert plan.allreduce_sizes == [2 * 256 * 512 * 2] * 2  # g forward, f backward: b·s·h fp16
    result = KIND.simulate(plan)
    assert result.metrics["time_per_layer_s"] == pytest.approx(
        KIND.analytic(plan)["time_per_layer_s"], rel=1e-9
    )
