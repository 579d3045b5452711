"""A fixed threshold, or a linear schedule from the first round to the last."""

from __future__ import annotations

import pytest

from clustersim.federated.cmfl import threshold_at


def test_fixed_threshold() -> None:
    assert [threshold_at(t, 5, 0.7, None) for t in range(5)] == [0.7] * 5


def test_linear_schedule_hits_both_ends() -> None:
    values = [threshold_at(t, 5, 0.6, 0.5) for t in range(5)]
    assert values[0] == 0.6 and values[-1] == pytest.approx(0.5)
    assert values == pytest.approx([0.6, 0.575, 0.55, 0.525, 0.5])


def test_one_round_uses_the_start() -> None:
    assert threshold_at(0, 1, 0.3, 0.9) == 0.3
