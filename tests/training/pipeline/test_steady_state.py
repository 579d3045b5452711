"""PipeDream's steady state: the cost model the planner minimises against the simulated runtime,
which overlaps communication with compute (SOSP 2019 §3.2; docs/architecture.md §1)."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.training.pipeline.schedules import pipedream_warmup
from clustersim.training.pipeline.steady_state import boundary_pairs, warmups
from tests.training.pipeline.helpers import prepared, run

LINK = {"bandwidth": "10 GB/s", "latency": "1 us"}


def _straight(activation: str) -> dict[str, object]:
    return {
        "schedule": "pipedream",
        "stages": 4,
        "microbatches": 8,
        "verify": False,
        "profile": {"count": 4, "flops": "10 GFLOP", "activation": activation, "params": "1 MB"},
    }


@pytest.mark.parametrize("activation", ["1 MB", "10 MB", "30 MB", "100 MB"])
def test_a_straight_pipeline_runs_at_its_busiest_resource(activation: str) -> None:
    """Compute 0.3 ms per stage; a middle device's link carries its activation and its input
    gradient (2·a / 10 GB/s). With enough micro-batches in flight the transfers hide behind
    the compute, or the compute behind them: the period is the larger, not their sum."""
    r = run(_straight(activation), link=LINK)
    a = float(activation.split()[0]) * 1e6
    period = max(0.3e-3, 2 * a / 10e9)
    assert r.analytic["throughput_samples_per_s"] == pytest.approx(1 / period, rel=1e-9)
    assert r.metrics["throughput_samples_per_s"] == pytest.approx(1 / period, rel=0.01)


def test_the_bottleneck_names_the_resource() -> None:
    _, plan = prepared(_straight("100 MB"), link=LINK)
    assert plan.layout.steady.bottleneck.startswith("link ")
    _, plan = prepared(_straight("1 MB"), link=LINK)
    assert plan.layout.steady.bottleneck.startswith("compute stage")


def test_without_communication_the_warm_up_is_noam() -> None:
    assert warmups([1, 1, 1, 1], [1.0] * 4, [(0.0, 0.0)] * 3, 1.0) == [3, 2, 1, 0]
    # 15-1: NOAM = ceil(16/15) = 2 in flight on each input replica, plus one slot on the stage
    # the 15 replicas feed (their bursts arrive out of micro-batch order)
    assert pipedream_warmup([15, 1]) == [1, 0]
    assert warmups([15, 1], [15.0, 1.0], [(0.0, 0.0)], 1.0) == [1, 1]


def test_transfers_deepen_the_warm_up() -> None:
    """A transfer of one period each way on every boundary: a micro-batch's round trip from
    stage s grows by two periods per boundary below it, so 1F1B needs that many more in
    flight to keep every resource busy."""
    free = warmups([1, 1, 1], [1.0] * 3, [(0.0, 0.0)] * 2, 1.0)
    slow = warmups([1, 1, 1], [1.0] * 3, [(1.0, 1.0)] * 2, 1.0)
    assert free == [2, 1, 0]
    assert slow == [6, 3, 0]


def test_boundary_pairs_spread_micro_batches_round_robin() -> None:
    # 2 replicas feeding 3: lcm 6 micro-batches, each of the 6 pairs carries one
    share = boundary_pairs(5, 0, 2, 2, 3)
    assert share.sum() == pytest.approx(1.0)
    assert np.count_nonzero(share) == 6 and share.max() == pytest.approx(1 / 6)
    # 2 feeding 4: micro-batch j goes from j mod 2 to j mod 4: replica 0 only reaches 0 and 2
    share = boundary_pairs(6, 0, 2, 2, 4)
    assert share[0, 2] == share[0, 4] == pytest.approx(1 / 4) and share[0, 3] == 0.0
