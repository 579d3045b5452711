"""A small CNN learns the synthetic task well above chance in a few seconds of CPU."""

from __future__ import annotations

import numpy as np

from clustersim.nn import accuracy, predict_proba
from tests.datasets.helpers import single_view_classifier


def test_a_small_cnn_reaches_well_above_chance() -> None:
    trained = single_view_classifier()
    test = trained.task.sample(2000, np.random.default_rng(3))
    acc = accuracy(predict_proba(trained.model, test.x), test.y)
    # Measured 0.74 over difficulties drawn uniformly in [0, 1]; chance is 0.10.
    assert acc > 0.6
    assert trained.losses[-1] < 0.6 * trained.losses[0]
