"""Partitioning: even and balanced splits, and PipeDream's planner on hand-sized problems."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.training.pipeline.planner import (
    balanced_partition,
    even_partition,
    notation,
    plan_pipedream,
)


class UniformCosts:
    """n devices on one uniform network of bandwidth ``bw`` (no latency), ring all-reduce."""

    def __init__(self, n: int, bw: float) -> None:
        self.devices = [f"d{i}" for i in range(n)]
        self.bw = bw

    def boundary_tables(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.devices)
        return np.full((n + 1,) * 3, self.bw), np.zeros((n + 1,) * 3)

    def sync_time(self, start: int, stop: int, size: float) -> float:
        p = stop - start
        return 0.0 if p < 2 else 2 * (p - 1) / p * size / self.bw


def test_even_and_balanced_partitions() -> None:
    assert even_partition(10, 4) == [3, 3, 2, 2]
    # the classic linear partition: 1..9 into 3 parts has a best maximum of 17 (15, 13, 17)
    counts = balanced_partition(list(range(1, 10)), 3)
    assert counts == [5, 2, 2]
    assert balanced_partition([1.0] * 8, 4) == [2, 2, 2, 2]
    with pytest.raises(ValueError):
        even_partition(3, 4)


def test_notation() -> None:
    assert notation([15, 1]) == "15-1"
    assert notation([1, 1, 1, 1]) == "straight"
    assert notation([16]) == "16"
    assert notation([2, 1, 1]) == "2-1-1"


def test_compute_bound_model_is_data_parallel() -> None:
    plan = plan_pipedream([1.0, 1.0, 1.0], [1.0] * 3, [0.0] * 3, UniformCosts(4, 1e9))
    assert plan.notation == "4" and plan.counts == (3,)
    assert plan.time_per_microbatch_s == pytest.approx(3.0 / 4)


def test_heavy_weights_go_to_one_unreplicated_stage() -> None:
    """Layer 0: all the compute, no weights; layer 1: little compute, 1 GB of weights. Data
    parallelism would all-reduce 1 GB per round; 3-1 replicates only the cheap layer."""
    bw = 1e9
    plan = plan_pipedream([1.0, 0.1], [1e3, 1e3], [0.0, 1e9], UniformCosts(4, bw))
    assert plan.notation == "3-1" and plan.counts == (1, 1)
    assert plan.time_per_microbatch_s == pytest.approx(1.0 / 3)  # max(1/3, 0.1, 1e3/bw)
    data_parallel = max(1.1, 2 * 3 / 4 * 1e9 / bw) / 4
    assert plan.time_per_microbatch_s < data_parallel


def test_big_weights_everywhere_give_a_straight_pipeline() -> None:
    plan = plan_pipedream([1.0] * 4, [1.0] * 4, [1e10] * 4, UniformCosts(4, 1e9))
    assert plan.notation == "straight" and plan.counts == (1, 1, 1, 1)
    assert plan.time_per_microbatch_s == pytest.approx(1.0)


def test_fat_activations_keep_a_single_stage() -> None:
    # a boundary costing more than the whole compute is never worth cutting
    plan = plan_pipedream([1.0, 1.0], [1e12, 1.0], [1e10, 1e10], UniformCosts(2, 1e9))
    assert plan.counts == (2,)
