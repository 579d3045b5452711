"""The simulated pipeline equals the schedule's closed form when stages are balanced and
communication is free (docs/architecture.md §1).
"""

from __future__ import annotations

import pytest

from clustersim.training.pipeline import costs
from tests.training.pipeline.helpers import GFLOP, PEAK, run

CASES = [
    ("gpipe", 4, 1, 1),
    ("gpipe", 4, 4, 1),
    ("gpipe", 4, 32, 1),
    ("gpipe", 2, 8, 1),
    ("1f1b", 4, 4, 1),
    ("1f1b", 4, 8, 1),
    ("1f1b", 8, 3, 1),
    ("naive", 4, 4, 1),
    ("interleaved_1f1b", 4, 8, 2),
    ("interleaved_1f1b", 2, 4, 4),
]


@pytest.mark.parametrize(("schedule", "k", "m", "v"), CASES)
def test_balanced_stages_free_communication_equal_the_formula(
    schedule: str, k: int, m: int, v: int
) -> None:
    wl = {
        "schedule": schedule,
        "stages": k,
        "microbatches": m,
        "chunks": v,
        "profile": {"count": 2 * k * v, "flops": "10 GFLOP", "activation": "0 B"},
    }
    r = run(wl, nodes=k)
    formula = costs.bubble_fraction(schedule, k, m, v)
    assert r.metrics["bubble_fraction"] == pytest.approx(formula, rel=1e-9, abs=1e-12)
    assert r.metrics["bubble_over_ideal_fraction"] == pytest.approx(
        costs.bubble_over_ideal_fraction(schedule, k, m, v), rel=1e-9, abs=1e-12
    )
    assert r.analytic["bubble_fraction"] == pytest.approx(formula)
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(
        r.analytic["time_per_minibatch_s"], rel=1e-9
    )
    # each device does 2 layers x v chunks x (1 + 2) x 10 GFLOP per micro-batch
    t_stage = 2 * v * 3 * 10 * GFLOP / PEAK
    assert r.analytic["time_per_minibatch_s"] == pytest.approx(
        costs.pipeline_flush_time(schedule, k, m, t_stage, v)
    )
    assert r.checks["pipeline_gradient_equals_full_batch"]["passed"]


def test_simulated_bubble_for_gpipe_k4_m4() -> None:
    r = run({"schedule": "gpipe", "stages": 4, "microbatches": 4})
    assert r.metrics["bubble_fraction"] == pytest.approx(3 / 7, rel=1e-12)
    assert r.metrics["bubble_fraction_per_stage"] == pytest.approx([3 / 7] * 4, rel=1e-12)
