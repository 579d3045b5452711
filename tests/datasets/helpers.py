"""Small CNNs trained once per test session on the synthetic images (a few seconds each)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from clustersim.datasets import Cameras, SyntheticImages
from clustersim.nn import Sequential, small_cnn, train_classifier
from clustersim.training.data_parallel.blas import single_threaded_blas

TRAIN_SAMPLES = 3000
EPOCHS = 5


@dataclass(frozen=True)
class Trained:
    task: SyntheticImages
    model: Sequential
    losses: list[float]


@functools.cache
def single_view_classifier() -> Trained:
    """small_cnn() trained on 3,000 images of uniformly drawn difficulty, 5 epochs of SGD."""
    task = SyntheticImages(np.random.default_rng(1))
    data = task.sample(TRAIN_SAMPLES, np.random.default_rng(2))
    model = small_cnn(rng=np.random.default_rng(4))
    with single_threaded_blas():
        losses = train_classifier(
            model,
            data.x,
            data.y,
            epochs=EPOCHS,
            batch_size=32,
            lr=0.05,
            rng=np.random.default_rng(5),
        )
    return Trained(task, model, losses)


@functools.cache
def multi_view_classifier() -> tuple[Trained, Cameras]:
    """small_cnn() trained on every view of 600 objects seen by 6 cameras, 4 epochs."""
    task = SyntheticImages(np.random.default_rng(1))
    rig = task.cameras(6, np.random.default_rng(2))
    data = task.sample_views(600, np.random.default_rng(3), rig)
    x = data.x.reshape(-1, *data.x.shape[2:])
    model = small_cnn(rng=np.random.default_rng(5))
    with single_threaded_blas():
        losses = train_classifier(
            model,
            x,
            np.repeat(data.y, 6),
            epochs=4,
            batch_size=32,
            lr=0.05,
            rng=np.random.default_rng(6),
        )
    return Trained(task, model, losses), rig
