"""The closed forms of early-exit latency, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.early_exit import costs


def test_exit_path_latencies_add_segments_and_branches_up_to_the_exit() -> None:
    # segments 1, 2, 4 s; branches 0.5, 0.25 s: exits at 1.5, 3.75, 7.75 s
    path = costs.exit_path_latencies(np.array([1.0, 2.0, 4.0]), np.array([0.5, 0.25]))
    np.testing.assert_allclose(path, [1.5, 3.75, 7.75])
    assert costs.expected_latency(np.array([0.5, 0.25, 0.25]), path) == pytest.approx(
        0.75 + 0.9375 + 1.9375
    )
    assert costs.speedup(7.0, 3.5) == 2.0


def test_batch_latencies_wait_for_the_batch_mates_still_present() -> None:
    # stage time = b seconds per present sample for segment m (times m + 1), branch 0.1·b
    b = np.arange(3)
    segment = np.stack([1.0 * b, 2.0 * b])
    branch = np.stack([0.1 * b])
    exit_of = np.array([0, 1, 1, 0])  # batches [0, 1] and [1, 0]
    got = costs.batch_latencies(exit_of, 2, segment, branch)
    # batch 1: segment 0 (2 samples) 2 s, branch 0.2 s -> sample 0 leaves at 2.2;
    # segment 1 with 1 sample 2 s -> sample 1 at 4.2. Batch 2 is the same, mirrored.
    np.testing.assert_allclose(got, [2.2, 4.2, 4.2, 2.2])
    np.testing.assert_allclose(costs.main_latencies(5, 2, segment), [6.0, 6.0, 6.0, 6.0, 3.0])
