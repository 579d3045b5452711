"""SyntheticImages.sample: shapes, determinism from the seed, balance and the documented steps
(pose, blend, occlusion, noise) one at a time."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from clustersim.datasets import SyntheticImages
from clustersim.errors import InputError


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_shapes_dtypes_and_exact_label_balance() -> None:
    task = SyntheticImages(_rng(0), classes=7, size=12, channels=3)
    data = task.sample(100, _rng(1))
    assert data.x.shape == (100, 3, 12, 12) and data.x.dtype == np.float32
    assert data.y.shape == (100,) and data.y.dtype == np.int64
    counts = np.bincount(data.y, minlength=7)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 100
    assert len(data) == 100 and data.classes == 7
    assert np.all((data.difficulty >= 0) & (data.difficulty <= 1))
    assert task.templates().shape == (7, 3, 12, 12)
    assert not np.array_equal(data.y[:50], np.sort(data.y[:50]))  # shuffled


def test_same_seeds_same_bytes_other_seeds_other_data() -> None:
    a = SyntheticImages(_rng(0)).sample(64, _rng(1))
    b = SyntheticImages(_rng(0)).sample(64, _rng(1))
    assert a.x.tobytes() == b.x.tobytes() and a.y.tobytes() == b.y.tobytes()
    assert a.difficulty.tobytes() == b.difficulty.tobytes()
    assert not np.array_equal(a.x, SyntheticImages(_rng(0)).sample(64, _rng(2)).x)
    assert not np.array_equal(a.x, SyntheticImages(_rng(9)).sample(64, _rng(1)).x)


def test_difficulty_can_be_one_value_or_one_per_sample() -> None:
    task = SyntheticImages(_rng(0))
    np.testing.assert_array_equal(task.sample(5, _rng(1), 0.3).difficulty, np.full(5, 0.3))
    given = np.linspace(0, 1, 5)
    np.testing.assert_array_equal(task.sample(5, _rng(1), given).difficulty, given)
    with pytest.raises(InputError, match=r"difficulty must lie in \[0, 1\]"):
        task.sample(5, _rng(1), 1.5)


def test_noise_is_gaussian_with_the_documented_standard_deviation() -> None:
    # The noise is the last draw, so with and without noise the images differ by exactly
    # sigma(d) · N(0, 1), sigma(d) = low + (high - low) · d.
    clean = SyntheticImages(_rng(0), noise=(0.0, 0.0)).sample(400, _rng(1), 0.5)
    noisy = SyntheticImages(_rng(0), noise=(0.1, 0.5)).sample(400, _rng(1), 0.5)
    residual = (noisy.x - clean.x).astype(np.float64)
    n = residual.size  # 102,400 draws: the sample standard deviation is within 1 % of 0.3
    assert residual.std() == pytest.approx(0.3, rel=5 / np.sqrt(2 * n))
    assert abs(residual.mean()) < 5 * 0.3 / np.sqrt(n)


def test_easy_images_are_the_posed_template_and_hard_ones_blend_and_occlude() -> None:
    quiet = {"noise": (0.0, 0.0)}
    clean = SyntheticImages(_rng(0), blend=0.0, occlusion=0.0, **quiet).sample(50, _rng(1), 0.0)
    assert clean.x.min() >= 0 and clean.x.max() <= 1  # Gaussian stroke profiles, max-combined
    # The ink of each image matches its own class's template better than any other template.
    t = SyntheticImages(_rng(0)).templates().reshape(10, -1)
    flat = clean.x.reshape(50, -1)
    corr = (flat / np.linalg.norm(flat, axis=1, keepdims=True)) @ (
        t / np.linalg.norm(t, axis=1, keepdims=True)
    ).T
    assert np.mean(corr.argmax(axis=1) == clean.y) > 0.8
    covered = SyntheticImages(_rng(0), occlusion=1.0, **quiet).sample(20, _rng(1), 1.0)
    assert np.all(covered.x == 0)  # side = occlusion · d · size = the whole image
    half = SyntheticImages(_rng(0), occlusion=0.5, **quiet).sample(20, _rng(1), 1.0)
    blank = sliding_window_view(half.x[:, 0] == 0, (8, 8), axis=(1, 2)).all(axis=(-1, -2))
    assert blank.any(axis=(1, 2)).all()  # an 8x8 square of background in every image
    # At d = 1 the image is 55 % its class and 45 % the distractor: on average it matches the
    # label's template best, the distractor's next, and the eight other classes' far less.
    mixed = SyntheticImages(_rng(0), blend=0.45, occlusion=0.0, **quiet).sample(200, _rng(1), 1)
    assert mixed.x.max() <= 1.0 and np.all(mixed.distractor != mixed.y)
    flat = mixed.x.reshape(200, -1)
    corr = (flat / np.linalg.norm(flat, axis=1, keepdims=True)) @ (
        t / np.linalg.norm(t, axis=1, keepdims=True)
    ).T
    rows = np.arange(200)
    label, distractor = corr[rows, mixed.y], corr[rows, mixed.distractor]
    rest = (corr.sum(axis=1) - label - distractor) / 8
    assert label.mean() > distractor.mean() + 0.02
    assert distractor.mean() > rest.mean() + 0.1


def test_bad_settings_are_rejected() -> None:
    for kwargs, message in [
        ({"classes": 1}, "classes must be at least 2"),
        ({"channels": 2}, "channels must be 1"),
        ({"blend": 0.5}, "blend must be in"),
        ({"noise": (0.5, 0.1)}, "noise must be"),
        ({"occlusion": 1.5}, "occlusion must be in"),
        ({"size": 2}, "size must be at least 4"),
    ]:
        with pytest.raises(InputError, match=message):
            SyntheticImages(_rng(0), **kwargs)
    with pytest.raises(InputError, match="samples must be at least 1"):
        SyntheticImages(_rng(0)).sample(0, _rng(1))
