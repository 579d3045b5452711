"""Partitioning: even and balanced splits, and PipeDream's planner on hand-sized problems."""

from __future__ import annotations

import pytest

from clustersim.core.simulation import Simulation
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.spec import DeviceSpec
from clustersim.hardware.topology import switch
from clustersim.training.pipeline.planner import (
    balanced_partition,
    even_partition,
    notation,
    plan_pipedream,
)
from clustersim.training.pipeline.steady_state import PlacementCosts

BW = 1e9


def _costs(n: int, bw: float = BW) -> PlacementCosts:
    """n devices behind one switch of ``bw`` per link direction, no latency, ring all-reduce."""
    spec = DeviceSpec("test", 100e12, 1e15, 80e9)
    cluster = Cluster(Simulation(0), switch(nodes=n, bandwidth=bw, latency=0.0), spec)
    return PlacementCosts(cluster, cluster.ranks, "ring")


def _ring(m: int, size: float, compute: float, bw: float = BW) -> float:
    """A stand-in for data parallelism: compute, then a ring all-reduce, per micro-batch."""
    return (compute + (2 * (m - 1) / m * size / bw if m > 1 else 0.0)) / m


def test_even_and_balanced_partitions() -> None:
    assert even_partition(10, 4) == [3, 3, 2, 2]
    # the classic linear partition: 1..9 into 3 parts has a best maximum of 17 (15, 13, 17)
    counts = balanced_partition(list(range(1, 10)), 3)
    assert counts == [5, 2, 2]
    assert balanced_partition([1.0] * 8, 4) == [2, 2, 2, 2]
    # a stage of 3 replicas takes 3 times the layers of a stage of 1
    assert balanced_partition([1.0] * 8, 2, [3, 1]) == [6, 2]
    with pytest.raises(ValueError):
        even_partition(3, 4)


def test_notation() -> None:
    assert notation([15, 1]) == "15-1"
    assert notation([1, 1, 1, 1]) == "straight"
    assert notation([16]) == "16"
    assert notation([2, 1, 1]) == "2-1-1"


def test_compute_bound_model_is_data_parallel() -> None:
    plan = plan_pipedream(
        [1.0, 1.0, 1.0], [1.0] * 3, [0.0] * 3, _costs(4), lambda m: _ring(m, 0.0, 3.0)
    )
    assert plan.notation == "4" and plan.counts == (3,)
    assert plan.time_per_microbatch_s == pytest.approx(3.0 / 4)
    assert plan.exhaustive


def test_heavy_weights_go_to_one_unreplicated_stage() -> None:
    """Layer 0: all the compute, no weights; layer 1: little compute, 1 GB of weights. Data
    parallelism would all-reduce 1 GB per round; 3-1 replicates only the cheap layer."""
    plan = plan_pipedream(
        [1.0, 0.1], [1e3, 1e3], [0.0, 1e9], _costs(4), lambda m: _ring(m, 1e9, 1.1)
    )
    assert plan.notation == "3-1" and plan.counts == (1, 1)
    # the stage of 3 replicas: 1/3 s per micro-batch; the boundary: 1 kB each way, negligible
    assert plan.time_per_microbatch_s == pytest.approx(1.0 / 3)
    assert plan.time_per_microbatch_s < _ring(4, 1e9, 1.1)


def test_big_weights_everywhere_give_a_straight_pipeline() -> None:
    plan = plan_pipedream(
        [1.0] * 4, [1.0] * 4, [1e10] * 4, _costs(4), lambda m: _ring(m, 4e10, 4.0)
    )
    assert plan.notation == "straight" and plan.counts == (1, 1, 1, 1)
    assert plan.time_per_microbatch_s == pytest.approx(1.0)


def test_fat_activations_keep_a_single_stage() -> None:
    # a boundary costing more than the whole compute is never worth cutting
    plan = plan_pipedream(
        [1.0, 1.0], [1e12, 1.0], [1e10, 1e10], _costs(2), lambda m: _ring(m, 2e10, 2.0)
    )
    assert plan.counts == (2,)


def test_a_middle_stage_pays_for_its_activations_and_its_gradients_on_one_uplink() -> None:
    """The issue's AlexNet-like case in miniature: a straight 3-stage pipeline whose middle
    device sends its activations forward and its input gradients back over its one link to
    the switch. PipeDream's DP prices each boundary alone (1 s, under the 1.5 s of compute);
    the link carries both (2 s), and so does the simulated runtime."""
    plan = plan_pipedream(
        [1.5] * 3, [1e9] * 3, [1e12] * 3, _costs(3), lambda m: _ring(m, 3e12, 4.5)
    )
    assert plan.notation == "straight"
    assert plan.time_per_microbatch_s == pytest.approx(2.0)


def test_a_plan_that_does_not_fit_in_memory_is_not_chosen() -> None:
    costs = _costs(4)

    def dp(m: int) -> float:
        return _ring(m, 1e9, 1.1)

    def no_pipelines(counts: object, replicas: object, warmup: object) -> bool:
        return len(counts) == 1  # type: ignore[arg-type]

    free = plan_pipedream([1.0, 0.1], [1e3, 1e3], [0.0, 1e9], costs, dp)
    tight = plan_pipedream([1.0, 0.1], [1e3, 1e3], [0.0, 1e9], costs, dp, no_pipelines)
    assert free.notation == "3-1"
    assert tight.counts == (2,) and tight.fits

    def nothing(counts: object, replicas: object, warmup: object) -> bool:
        return False

    none = plan_pipedream([1.0, 0.1], [1e3, 1e3], [0.0, 1e9], costs, dp, nothing)
    assert not none.fits and none.notation == "3-1"  # the fastest of those that do not fit
