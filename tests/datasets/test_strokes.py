"""Stroke rendering: Gaussian line profiles in resolution-independent coordinates."""

from __future__ import annotations

import numpy as np

from clustersim.datasets.strokes import pixel_centres, place, render


def test_a_dot_is_a_gaussian_and_a_segment_is_bright_along_its_length() -> None:
    size = 16
    # A dot at the centre of pixel (8, 8) with width one pixel (2/16 in image units).
    c = pixel_centres(size)[8]
    dot = render(np.array([[[c, c]]]), np.array([[[c, c]]]), np.array([[2 / size]]), size)[0]
    assert dot[8, 8] == 1.0
    np.testing.assert_allclose(dot[8, 9], np.exp(-0.5))  # one width away
    np.testing.assert_allclose(dot[8, 7], dot[9, 8])  # round
    line = render(np.array([[[-0.5, c]]]), np.array([[[0.5, c]]]), np.array([[0.1]]), size)[0]
    inside = (pixel_centres(size) > -0.5) & (pixel_centres(size) < 0.5)
    np.testing.assert_allclose(line[8, inside], 1.0)
    assert line[8, 0] < 0.01 and line[0, 8] < 1e-10


def test_the_same_strokes_look_the_same_at_every_resolution() -> None:
    starts, ends, widths = np.array([[[-0.4, -0.2]]]), np.array([[[0.3, 0.5]]]), np.array([[0.1]])
    small = render(starts, ends, widths, 16)[0]
    big = render(starts, ends, widths, 64)[0]
    pooled = big.reshape(16, 4, 16, 4).mean(axis=(1, 3))
    assert np.abs(pooled - small).max() < 0.15
    assert abs(pooled.sum() - small.sum()) / small.sum() < 0.02  # the same amount of ink


def test_place_applies_zoom_rotation_then_shift() -> None:
    points = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    out = place(points, np.array([np.pi / 2]), np.array([2.0]), np.array([[0.5, -0.5]]))
    np.testing.assert_allclose(out, [[[0.5, 1.5], [-1.5, -0.5]]], atol=1e-12)
