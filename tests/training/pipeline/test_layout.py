"""The layout ``prepare`` resolves: which layers, which devices, how many ops a run schedules."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.core.simulation import Simulation
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from clustersim.training.pipeline.kind import PipelinePlan
from clustersim.training.pipeline.layout import microbatches_simulated
from clustersim.training.pipeline.process import op_lists
from tests.training.pipeline.helpers import scenario


def _plan(workload: dict[str, Any], **kw: Any) -> PipelinePlan:
    loaded = load_scenario(scenario(workload, **kw))
    return prepare_scenario(loaded, Simulation(loaded.seed))[1]


def test_tensor_parallel_rank_varies_fastest_then_replica_then_position() -> None:
    plan = _plan(
        {"schedule": "1f1b", "stages": 2, "microbatches": 2, "replicas": 2, "tensor_parallel": 2},
        nodes=8,
    )
    assert plan.layout.groups == [
        [["n0", "n1"], ["n2", "n3"]],
        [["n4", "n5"], ["n6", "n7"]],
    ]
    assert plan.layout.placement == [f"n{i}" for i in range(8)]


def test_explicit_devices_set_the_placement_order() -> None:
    plan = _plan(
        {
            "schedule": "gpipe",
            "partition": [1, 2, 3, 2],
            "microbatches": 2,
            "devices": ["n3", "n2", "n1", "n0"],
        }
    )
    assert plan.layout.counts == [1, 2, 3, 2]
    assert [g[0][0] for g in plan.layout.groups] == ["n3", "n2", "n1", "n0"]
    assert [s.layers for s in plan.layout.stages] == [(0, 1), (1, 3), (3, 6), (6, 8)]


@pytest.mark.parametrize(
    "workload",
    [
        {"schedule": "gpipe", "stages": 4, "microbatches": 3},
        {"schedule": "naive", "stages": 2, "microbatches": 5, "replicas": 2},
        {"schedule": "interleaved_1f1b", "stages": 2, "chunks": 2, "microbatches": 4},
        {"schedule": "1f1b", "stages": 2, "microbatches": 4, "tensor_parallel": 2},
        {"schedule": "pipedream", "stages": 2, "microbatches": 3, "replicas": 2},
    ],
)
def test_the_op_count_prepare_checks_is_theop_lists_length(workload: dict[str, Any]) -> None:
    plan = _plan(workload, nodes=8)
    layout, params = plan.layout, plan.params
    ops, _, total = op_lists(layout, params)
    assert total == microbatches_simulated(layout, params)
    built = sum(len(o) for position in ops for o in position) * layout.t
    assert built == 2 * total * layout.p * layout.v * layout.t
