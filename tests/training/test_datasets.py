"""The synthetic datasets and the global-batch sampler."""

from __future__ import annotations

import numpy as np

from clustersim.training import datasets


def test_workers_batches_concatenate_to_the_global_batch() -> None:
    sampler = datasets.GlobalBatchSampler(100, 3, 8, np.random.default_rng(0))
    assert sampler.iterations_per_epoch == 4
    seen = np.concatenate([sampler.batch(k).ravel() for k in range(4)])
    assert len(set(seen.tolist())) == 96  # an epoch never repeats a sample
    assert sampler.batch(4).shape == (3, 8)  # next epoch reshuffles


def test_datasets_are_deterministic_and_shaped() -> None:
    a = datasets.gaussian_blobs(np.random.default_rng(1), 50, 10, 4, 3)
    b = datasets.gaussian_blobs(np.random.default_rng(1), 50, 10, 4, 3)
    assert np.array_equal(a.x_train, b.x_train) and a.x_test.shape == (10, 4)
    t = datasets.teacher_dataset(np.random.default_rng(2), 200, 20, 5, 4, hidden=16)
    assert set(np.unique(t.y_train)) <= set(range(4)) and t.features == 5
