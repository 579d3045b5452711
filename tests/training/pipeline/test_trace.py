"""The traced compute spans draw the schedule's staircase."""

from __future__ import annotations

import pytest

import clustersim
from tests.training.pipeline.helpers import GFLOP, PEAK, scenario


def test_trace_has_the_staircase() -> None:
    r = clustersim.run(
        scenario({"schedule": "gpipe", "stages": 4, "microbatches": 4, "recompute": True}),
        trace=True,
    )
    spans = [s for s in r.trace.spans if s.lane[1] == "compute"]
    assert {s.category for s in spans} == {"forward", "backward", "recompute"}
    first_forward = {s.lane[0]: s.start for s in reversed(spans) if s.name == "F0"}
    f = 2 * 10 * GFLOP / PEAK
    assert [first_forward[f"n{k}"] for k in range(4)] == pytest.approx([k * f for k in range(4)])
