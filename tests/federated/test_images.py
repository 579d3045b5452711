"""The pooled generators: image-like data and Gaussian blobs, with exactly balanced classes."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.datasets import balanced_labels, blobs, images


def test_balanced_labels() -> None:
    y = balanced_labels(np.random.default_rng(0), 1003, 10)
    assert np.bincount(y).tolist() == [101, 101, 101] + [100] * 7


@pytest.mark.parametrize("make", [images, blobs])
def test_every_split_is_balanced_and_deterministic(make) -> None:
    a = make(np.random.default_rng(1), [500, 100, 30])
    b = make(np.random.default_rng(1), [500, 100, 30])
    for (x, y), (x2, y2), n in zip(a, b, [500, 100, 30], strict=True):
        assert x.shape[0] == n and np.array_equal(x, x2) and np.array_equal(y, y2)
        counts = np.bincount(y, minlength=10)
        assert counts.max() - counts.min() <= 1


def test_a_later_split_leaves_the_earlier_ones_unchanged() -> None:
    """The shared set G of data sharing is drawn last, so D and the test set do not move."""
    without = images(np.random.default_rng(2), [300, 50, 0])
    with_g = images(np.random.default_rng(2), [300, 50, 40])
    assert np.array_equal(without[0][0], with_g[0][0])
    assert np.array_equal(without[1][1], with_g[1][1])


def test_images_are_side_squared_templates_plus_noise() -> None:
    ((x, y),) = images(np.random.default_rng(3), [2000], side=6, shift=0, noise=0.0)
    assert x.shape == (2000, 36)
    # without shift or noise, a class is one template times a contrast in [0.6, 1]
    for c in range(10):
        rows = x[y == c]
        norms = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        assert np.allclose(norms, norms[0], atol=1e-12)


def test_images_are_learnable_but_not_trivial() -> None:
    """Nearest class mean: far above chance (10 %), below perfect with shifts and noise."""
    (x, y), (xt, yt) = images(np.random.default_rng(4), [5000, 1000])
    means = np.stack([x[y == c].mean(axis=0) for c in range(10)])
    guess = np.argmin(((xt[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    accuracy = float(np.mean(guess == yt))
    assert 0.4 < accuracy < 0.99
