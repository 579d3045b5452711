"""``prepare`` (:mod:`clustersim.collectives.kind`): the checks that need the cluster, the
layout it resolves, and nothing simulated.

``clustersim validate`` runs ``prepare``, so every error here is found without running.
"""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.collectives.kind import CollectivePlan
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario, prepare_scenario
from tests.collectives.helpers import GiB, MiB, scenario, two_level


@pytest.mark.parametrize(
    ("workload", "words"),
    [
        ({"op": "reduce", "algorithm": "tree", "root": 8}, ["workload.root", "0..7"]),
        ({"op": "allreduce", "algorithm": "hierarchical"}, ["hierarchical", "two_level", "ring"]),
    ],
)
def test_bad_params_raise_input_error(workload: dict[str, Any], words: list[str]) -> None:
    spec = scenario("allreduce", "ring", 8, MiB)
    spec["workload"].update(workload)
    with pytest.raises(InputError) as info:
        clustersim.run(spec)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        ({"ranks": ["n0", "n9"]}, "workload.ranks: 'n9' is not a device"),
        ({"ranks": ["n0", "n1", "n0"]}, r"workload.ranks: a rank is listed twice \(n0\)"),
        ({"ranks": ["n3"]}, "workload.ranks: needs at least 2 ranks, got 1"),
        ({"op": "broadcast", "algorithm": "tree", "root": 8}, "workload.root: 8 is not a rank"),
        ({"algorithm": "hierarchical"}, "needs GPUs grouped into machines"),
        (
            {"size": 1 * GiB, "verify": True, "verify_memory": "4 GiB"},
            r"workload.verify: replaying 8 ranks × 1 GiB needs 8\.13 GiB .* over the limit of "
            r"4 GiB \(workload.verify_memory\); lower workload.size, use verify: sampled .* or "
            r"set verify: false",
        ),
    ],
)
def test_validate_finds_what_only_the_cluster_rejects(
    workload: dict[str, Any], message: str
) -> None:
    spec = scenario("allreduce", "ring", 8, MiB)
    spec["workload"].update(workload)
    with pytest.raises(InputError, match=message):
        check_scenario(spec)


def test_validate_finds_ranks_not_listed_machine_by_machine() -> None:
    spec = two_level(2, 2)
    spec["workload"]["ranks"] = ["n0g0", "n1g0", "n0g1", "n1g1"]
    with pytest.raises(InputError, match="machine by machine"):
        check_scenario(spec)


def test_a_timing_only_run_may_be_larger_than_a_verified_one() -> None:
    spec = scenario("allreduce", "ring", 8, 1 * GiB)
    check_scenario(spec)  # verify: false replays nothing, so no memory limit


def test_plan_holds_the_ranks_and_the_layout() -> None:
    spec = scenario("allreduce", "halving_doubling", 6, 4 * 1000, reduction="device")
    spec["workload"]["ranks"] = ["n5", "n1", "n2", "n3", "n4", "n0"]
    loaded = load_scenario(spec)
    cluster, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    assert isinstance(plan, CollectivePlan) and plan.cluster is cluster
    assert plan.ranks == ["n5", "n1", "n2", "n3", "n4", "n0"]
    assert plan.lengths.tolist() == [250] * 4  # one chunk per rank of p' = 4
    assert plan.schedule_plan.chunk_bytes.tolist() == [1000.0] * 4
    assert plan.reducer is not None and plan.reducer.gamma.size == 6


def test_prepare_simulates_nothing() -> None:
    loaded = load_scenario(scenario("allreduce", "ring", 8, MiB, verify=True))
    cluster, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    assert plan.reducer is None
    assert cluster.sim.events_processed == 0 and cluster.sim.now == 0
    assert cluster.standard_metrics()["bytes_total"] == 0
