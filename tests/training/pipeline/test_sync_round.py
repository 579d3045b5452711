"""The timed round model (:mod:`~clustersim.training.pipeline.sync_round`) against the runtime.

The model plays the plan's op lists on a fluid of the placement's links; the simulator runs
them on the FlowNetwork, with the numerics and the metrics. They follow the same rules, so the
model's round is the simulated one: two engines that must agree.
"""

from __future__ import annotations

import pytest

from clustersim.training.pipeline.kind import _run, _throughput
from clustersim.training.pipeline.layout import device_order, pipedream_layout
from clustersim.training.pipeline.steady_state import PlacementCosts
from clustersim.training.pipeline.sync_round import RoundPlan, sync_rounds
from tests.training.pipeline.helpers import prepared
from tests.training.pipeline.test_planner_brute_force import LINK, TOPOLOGIES, _workload


def _plan(
    topology: str,
    activation: str,
    params: str,
    counts: list[int],
    replicas: list[int],
    recompute: bool = False,
):
    workload = {**_workload(activation, params), "recompute": recompute}
    cluster, plan = prepared(workload, topology=TOPOLOGIES[topology], link=LINK)
    workload = plan.params
    devices = device_order(cluster, workload, 1)
    costs = PlacementCosts(cluster, devices, workload.allreduce_algorithm)
    layout = pipedream_layout(
        cluster, workload, plan.layout.profile, counts, replicas, devices, costs
    )
    run = _run(cluster.fresh(), workload, layout, verify=False).metrics
    return costs, layout, run


@pytest.mark.parametrize(
    ("topology", "counts", "replicas", "recompute", "stage", "round_ms"),
    [
        # a 2-replica middle stage: both neighbours' bursts and streams (link loads: 6 ms)
        ("switch", [1, 2, 1], [1, 2, 1], False, 1, 8.003),
        # the same with recomputation: the forward re-runs before each backward
        ("switch", [1, 2, 1], [1, 2, 1], True, 1, 8.102),
        # a 3-replica last stage behind two servers' shared NICs (link loads: 11.7 ms)
        ("shared_nic", [3, 1], [1, 3], False, 1, 13.875),
    ],
)
def test_the_model_times_the_rounds_the_runtime_runs(
    topology: str,
    counts: list[int],
    replicas: list[int],
    recompute: bool,
    stage: int,
    round_ms: float,
) -> None:
    _, layout, run = _plan(topology, "10 MB", "20 MB", counts, replicas, recompute)
    simulated = run["sync_round_s_per_stage"][stage]
    assert simulated * 1e3 == pytest.approx(round_ms, rel=1e-3)
    assert layout.steady.bottleneck == f"sync rounds stage {stage}"
    assert layout.steady.period_s * replicas[stage] == pytest.approx(simulated, rel=1e-3)
    assert run["throughput_samples_per_s"] == pytest.approx(_throughput(layout), rel=1e-3)


def test_without_activations_a_round_is_the_all_reduce_alone() -> None:
    """Nothing shares the ring's links: every step runs at its links' speed."""
    costs, layout, _ = _plan("switch", "0 B", "20 MB", [1, 3], [1, 3])
    steady = layout.steady
    plan = RoundPlan(
        [0, 1, 4],
        [1, 3],
        [c / 3 for c in steady.compute_s],
        [2 * c / 3 for c in steady.compute_s],
        [0.0, 0.0],
        list(steady.warmup),
        [5e6, 15e6],
        [[], costs.sync_steps(1, 4, 15e6)],
    )
    alone = costs.sync_time(1, 4, 15e6)
    assert sync_rounds(costs.links, plan)[1] == pytest.approx(alone, rel=1e-9)


def test_answers_are_kept_under_what_they_depend_on() -> None:
    costs, layout, _ = _plan("switch", "10 MB", "20 MB", [1, 2, 1], [1, 2, 1])
    steady = layout.steady
    plan = RoundPlan(
        [0, 1, 3, 4],
        [1, 2, 1],
        [c / 3 for c in steady.compute_s],
        [2 * c / 3 for c in steady.compute_s],
        [10e6, 10e6, 0.0],
        list(steady.warmup),
        [5e6, 5e6, 5e6],
        [[], costs.sync_steps(1, 3, 5e6), []],
    )
    first = sync_rounds(costs.links, plan)
    assert set(first) == {1}  # only stage 1 synchronises
    assert sync_rounds(costs.links, plan) is first
    assert costs.links.rounds[plan.key()] is first
