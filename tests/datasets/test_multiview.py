"""SyntheticImages.sample_views: one object seen by several cameras, composed exactly."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.datasets import Cameras, SyntheticImages
from clustersim.errors import InputError


def _rig(rotation: float = 0.0, shift=(0.0, 0.0), zoom: float = 1.0) -> Cameras:
    """Camera 0 the identity, camera 1 the given viewpoint."""
    return Cameras(
        rotation=np.array([0.0, rotation]),
        zoom=np.array([1.0, zoom]),
        shift=np.array([[0.0, 0.0], shift]),
        noise=np.ones(2),
    )


def _quiet() -> SyntheticImages:
    return SyntheticImages(np.random.default_rng(0), noise=(0.0, 0.0), blend=0.0, occlusion=0.0)


def test_shapes_labels_and_determinism() -> None:
    task = SyntheticImages(np.random.default_rng(0))
    rig = task.cameras(6, np.random.default_rng(1))
    data = task.sample_views(30, np.random.default_rng(2), rig)
    assert data.x.shape == (30, 6, 1, 16, 16) and data.views == 6 and len(rig) == 6
    assert data.view(2).x.shape == (30, 1, 16, 16)
    np.testing.assert_array_equal(data.view(2).y, data.y)
    again = task.sample_views(30, np.random.default_rng(2), rig)
    assert data.x.tobytes() == again.x.tobytes()
    assert not np.array_equal(data.x[:, 0], data.x[:, 1])  # cameras see different images
    counts = np.bincount(data.y, minlength=10)
    assert counts.max() - counts.min() <= 1


def test_an_identity_camera_sees_exactly_the_single_view_image() -> None:
    task = SyntheticImages(np.random.default_rng(0))
    identity = Cameras(np.zeros(1), np.ones(1), np.zeros((1, 2)), np.ones(1))
    single = task.sample(40, np.random.default_rng(3))
    seen = task.sample_views(40, np.random.default_rng(3), identity)
    np.testing.assert_array_equal(seen.x[:, 0], single.x)
    np.testing.assert_array_equal(seen.y, single.y)


def test_camera_shift_and_rotation_move_the_whole_object() -> None:
    task = _quiet()
    # A shift of 0.5 half-widths is 4 pixels at 16 px: columns move right by 4.
    shifted = task.sample_views(10, np.random.default_rng(4), _rig(shift=(0.5, 0.0))).x
    np.testing.assert_allclose(shifted[:, 1, ..., 4:], shifted[:, 0, ..., :-4], atol=1e-6)
    # A quarter turn about the image centre maps the pixel grid onto itself.
    turned = task.sample_views(10, np.random.default_rng(4), _rig(rotation=np.pi / 2)).x
    np.testing.assert_allclose(turned[:, 1], np.rot90(turned[:, 0], -1, axes=(2, 3)), atol=1e-6)


def test_each_camera_adds_its_own_noise_level() -> None:
    task = SyntheticImages(np.random.default_rng(0), noise=(0.2, 0.2), blend=0.0, occlusion=0.0)
    rig = Cameras(np.zeros(2), np.ones(2), np.zeros((2, 2)), np.array([1.0, 2.0]))
    x = task.sample_views(300, np.random.default_rng(5), rig).x.astype(np.float64)
    clean = _quiet().sample_views(300, np.random.default_rng(5), rig).x
    std = [(x[:, v] - clean[:, v]).std() for v in range(2)]
    assert std == pytest.approx([0.2, 0.4], rel=0.02)


def test_bad_rig() -> None:
    with pytest.raises(InputError, match="views must be at least 1"):
        _quiet().cameras(0, np.random.default_rng(0))
