"""Synthetic, class-conditional images with a per-sample difficulty, drawn from a seed.

Nothing is downloaded. A :class:`SyntheticImages` task draws, once, a template per class: a few
strokes and one dot at random positions, orientations and lengths (:mod:`.strokes`), each class
with its own colour when there are three channels. A sample of class ``y`` with difficulty
``d`` in ``[0, 1]`` is then made in four steps:

1. **pose**: the class template under a random similarity transform (rotation ``N(0, 0.2)``
   rad, zoom ``U(0.85, 1.15)``, shift ``U(-0.15, 0.15)²`` of the half-width): intra-class
   variety that does not depend on ``d``;
2. **blend**: mixed with another, uniformly drawn class's template (its own pose) at weight
   ``β = blend · d``: at ``d = 1`` and the default ``blend = 0.45`` the image is 55 % its class,
   45 % a distractor;
3. **occlusion**: a square of side ``occlusion · d · size`` pixels at a random place set to
   the background (0);
4. **noise**: i.i.d. Gaussian pixel noise of standard deviation
   ``noise[0] + (noise[1] - noise[0]) · d``.

So ``d = 0`` gives a clean, centred-ish drawing of its class and ``d = 1`` a noisy, half
occluded superposition of two classes: the easy and hard samples of the lecture notes'
CIFAR10-Easy/CIFAR10-Hard picture (BranchyNet, Teerapittayanon, McDanel & Kung, ICPR 2016:
"easy" samples can be classified by a few layers, "hard" ones need the whole network), with the
difficulty known per sample. Images are float32 with background 0 and strokes near 1 (plus
noise, not clipped); labels are exactly balanced (counts differ by at most one) and shuffled.

Multi-view (:meth:`SyntheticImages.sample_views`): the same object, posed once, is seen by
``V`` cameras (:class:`Cameras`), each a fixed similarity transform (camera ``v`` sees the
object shifted by up to 0.35 of the half-width, zoomed 0.8-1.2×, rotated ±0.35 rad, so strokes
leave some frames: different crops) with its own noise level (0.75-1.5× the sample's) and its
own occluder: the multi-camera setting of DDNN (Teerapittayanon, McDanel & Kung, "Distributed
Deep Neural Networks over the Cloud, the Edge and End Devices", ICDCS 2017, §IV-A: six
cameras, each seeing the object from its own viewpoint; one view alone is often not enough).

Every random number comes from the generator passed in, in a fixed order, so a seed fixes the
data bit for bit; a task's templates and a data set drawn from it use separate generators, so a
training and a test set share the classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clustersim.datasets.strokes import place, render
from clustersim.errors import InputError

__all__ = ["Cameras", "ImageSet", "MultiViewSet", "SyntheticImages"]

_POSE_ROTATION = 0.2
_POSE_ZOOM = (0.85, 1.15)
_POSE_SHIFT = 0.15
_CAMERA_SHIFT = 0.35
_CAMERA_ZOOM = (0.8, 1.2)
_CAMERA_ROTATION = 0.35
_CAMERA_NOISE = (0.75, 1.5)


@dataclass(frozen=True)
class ImageSet:
    """Images ``x`` (N, C, H, W) float32, labels ``y`` (N,) int64, each sample's
    ``difficulty`` (N,) in [0, 1] and the class it was blended with, ``distractor`` (N,)."""

    x: np.ndarray
    y: np.ndarray
    difficulty: np.ndarray
    distractor: np.ndarray
    classes: int

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class MultiViewSet:
    """Views ``x`` (N, V, C, H, W) float32 of N objects by V cameras, labels ``y`` (N,), the
    objects' ``difficulty`` (N,) and ``distractor`` classes (N,)."""

    x: np.ndarray
    y: np.ndarray
    difficulty: np.ndarray
    distractor: np.ndarray
    classes: int

    def __len__(self) -> int:
        return len(self.y)

    @property
    def views(self) -> int:
        return int(self.x.shape[1])

    def view(self, v: int) -> ImageSet:
        """What camera ``v`` saw, as an ImageSet."""
        return ImageSet(self.x[:, v], self.y, self.difficulty, self.distractor, self.classes)


@dataclass(frozen=True)
class Cameras:
    """A rig of ``V`` fixed cameras: per camera a rotation (rad), zoom, shift (2,) in image
    half-widths and a noise multiplier. Draw one with :meth:`SyntheticImages.cameras`."""

    rotation: np.ndarray
    zoom: np.ndarray
    shift: np.ndarray
    noise: np.ndarray

    def __len__(self) -> int:
        return len(self.zoom)


@dataclass(frozen=True)
class _Poses:
    """Per-object similarity transforms."""

    rotation: np.ndarray
    zoom: np.ndarray
    shift: np.ndarray


class SyntheticImages:
    """A classification task of ``classes`` stroke templates on ``size × size`` images with
    ``channels`` channels (1 or 3), drawn from ``rng``.

    A template has ``strokes - 1`` line strokes, each centred uniformly in ``[-0.55, 0.55]²``
    at a uniform orientation with half-length ``U(0.3, 0.55)`` and width ``U(0.07, 0.12)``,
    and one dot of width ``U(0.14, 0.2)`` (image coordinates ``[-1, 1]``, so at 16 px one
    pixel is 0.125 wide). With three channels each class gets a colour in ``[0.2, 1]³``
    scaled so that its brightest channel is 1.

    ``strokes`` primitives per template (the last one a dot); ``noise`` the pixel-noise standard
    deviation at difficulty 0 and 1; ``blend`` the distractor weight at difficulty 1 (below 0.5,
    so the label is always the dominant class); ``occlusion`` the occluder's side at difficulty 1
    as a fraction of the image side.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        classes: int = 10,
        size: int = 16,
        channels: int = 1,
        strokes: int = 3,
        noise: tuple[float, float] = (0.05, 0.6),
        blend: float = 0.45,
        occlusion: float = 0.5,
    ) -> None:
        if classes < 2:
            raise InputError(f"classes must be at least 2, got {classes}")
        if size < 4:
            raise InputError(f"size must be at least 4 pixels, got {size}")
        if channels not in (1, 3):
            raise InputError(f"channels must be 1 (grey) or 3 (colour), got {channels}")
        if strokes < 1:
            raise InputError(f"strokes must be at least 1, got {strokes}")
        if not (0 <= noise[0] <= noise[1]):
            raise InputError(f"noise must be (low, high) with 0 <= low <= high, got {noise}")
        if not 0 <= blend < 0.5:
            raise InputError(f"blend must be in [0, 0.5) so the label stays dominant, got {blend}")
        if not 0 <= occlusion <= 1:
            raise InputError(f"occlusion must be in [0, 1], got {occlusion}")
        self.classes = classes
        self.size = size
        self.channels = channels
        self.noise = (float(noise[0]), float(noise[1]))
        self.blend = float(blend)
        self.occlusion = float(occlusion)
        lines = strokes - 1
        centre = rng.uniform(-0.55, 0.55, (classes, strokes, 2))
        angle = rng.uniform(0.0, np.pi, (classes, lines))
        half = rng.uniform(0.3, 0.55, (classes, lines))[..., None]
        direction = np.stack((np.cos(angle), np.sin(angle)), axis=-1)
        self.starts = centre.copy()
        self.ends = centre.copy()
        self.starts[:, :lines] -= half * direction
        self.ends[:, :lines] += half * direction
        self.widths = np.concatenate(
            (rng.uniform(0.07, 0.12, (classes, lines)), rng.uniform(0.14, 0.2, (classes, 1))),
            axis=1,
        )
        colour = rng.uniform(0.2, 1.0, (classes, channels)) if channels == 3 else None
        self.colours = (
            colour / colour.max(axis=1, keepdims=True)
            if colour is not None
            else np.ones((classes, 1))
        )

    # ----------------------------------------------------------------------- public API
    def templates(self) -> np.ndarray:
        """The clean class templates (classes, C, H, W), unposed."""
        ink = render(self.starts, self.ends, self.widths, self.size)
        return (ink[:, None] * self.colours[:, :, None, None]).astype(np.float32)

    def sample(
        self,
        samples: int,
        rng: np.random.Generator,
        difficulty: float | np.ndarray | None = None,
    ) -> ImageSet:
        """``samples`` images with balanced labels. ``difficulty`` is one value for all, one per
        sample, or ``None``: drawn uniformly in [0, 1] per sample."""
        y, other, d = self._objects(samples, rng, difficulty)
        poses, other_poses = self._pose(rng, samples), self._pose(rng, samples)
        x = self._draw(y, other, d, poses, other_poses, rng, noise_scale=np.ones(samples))
        return ImageSet(x, y, d, other, self.classes)

    def cameras(self, views: int, rng: np.random.Generator) -> Cameras:
        """A rig of ``views`` cameras with their fixed viewpoints and noise levels."""
        if views < 1:
            raise InputError(f"views must be at least 1, got {views}")
        return Cameras(
            rotation=rng.uniform(-_CAMERA_ROTATION, _CAMERA_ROTATION, views),
            zoom=rng.uniform(*_CAMERA_ZOOM, views),
            shift=rng.uniform(-_CAMERA_SHIFT, _CAMERA_SHIFT, (views, 2)),
            noise=rng.uniform(*_CAMERA_NOISE, views),
        )

    def sample_views(
        self,
        samples: int,
        rng: np.random.Generator,
        cameras: Cameras,
        difficulty: float | np.ndarray | None = None,
    ) -> MultiViewSet:
        """``samples`` objects, each posed once and seen by every camera of ``cameras``: views
        ``(N, V, C, H, W)``. Blend and difficulty belong to the object; occluders and noise to
        each view."""
        y, other, d = self._objects(samples, rng, difficulty)
        poses, other_poses = self._pose(rng, samples), self._pose(rng, samples)
        v = len(cameras)

        def seen(p: _Poses) -> _Poses:  # the object pose composed with every camera's
            rotation = p.rotation[:, None] + cameras.rotation[None, :]
            zoom = p.zoom[:, None] * cameras.zoom[None, :]
            c, s = np.cos(cameras.rotation), np.sin(cameras.rotation)
            sx, sy = p.shift[:, None, 0], p.shift[:, None, 1]
            shift = np.stack(
                (
                    cameras.zoom * (c * sx - s * sy) + cameras.shift[:, 0],
                    cameras.zoom * (s * sx + c * sy) + cameras.shift[:, 1],
                ),
                axis=-1,
            )
            return _Poses(rotation.reshape(-1), zoom.reshape(-1), shift.reshape(-1, 2))

        x = self._draw(
            np.repeat(y, v),
            np.repeat(other, v),
            np.repeat(d, v),
            seen(poses),
            seen(other_poses),
            rng,
            noise_scale=np.tile(cameras.noise, samples),
        )
        return MultiViewSet(x.reshape(samples, v, *x.shape[1:]), y, d, other, self.classes)

    # ----------------------------------------------------------------------- internals
    def _objects(
        self, samples: int, rng: np.random.Generator, difficulty: float | np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Balanced shuffled labels, each sample's distractor class and its difficulty."""
        if samples < 1:
            raise InputError(f"samples must be at least 1, got {samples}")
        y = rng.permutation(np.arange(samples) % self.classes).astype(np.int64)
        other = (y + rng.integers(1, self.classes, samples)) % self.classes
        if difficulty is None:
            d = rng.uniform(0.0, 1.0, samples)
        else:
            d = np.broadcast_to(np.asarray(difficulty, dtype=np.float64), (samples,)).copy()
            if not np.all((d >= 0) & (d <= 1)):
                raise InputError("difficulty must lie in [0, 1] for every sample")
        return y, other, d

    def _pose(self, rng: np.random.Generator, n: int) -> _Poses:
        return _Poses(
            rotation=rng.normal(0.0, _POSE_ROTATION, n),
            zoom=rng.uniform(*_POSE_ZOOM, n),
            shift=rng.uniform(-_POSE_SHIFT, _POSE_SHIFT, (n, 2)),
        )

    def _ink(self, labels: np.ndarray, poses: _Poses) -> np.ndarray:
        """The posed templates of ``labels``, coloured: (M, C, H, W)."""
        starts = place(self.starts[labels], poses.rotation, poses.zoom, poses.shift)
        ends = place(self.ends[labels], poses.rotation, poses.zoom, poses.shift)
        ink = render(starts, ends, self.widths[labels] * poses.zoom[:, None], self.size)
        return ink[:, None] * self.colours[labels][:, :, None, None]

    def _draw(
        self,
        y: np.ndarray,
        other: np.ndarray,
        d: np.ndarray,
        poses: _Poses,
        other_poses: _Poses,
        rng: np.random.Generator,
        noise_scale: np.ndarray,
    ) -> np.ndarray:
        """Blend, occlude and add noise (module docstring, steps 2-4)."""
        size = self.size
        beta = (self.blend * d)[:, None, None, None]
        x = (1.0 - beta) * self._ink(y, poses) + beta * self._ink(other, other_poses)
        side = np.rint(self.occlusion * d * size).astype(np.int64)
        top = rng.integers(0, size - side + 1)
        left = rng.integers(0, size - side + 1)
        pixels = np.arange(size)
        rows = (pixels[None, :] >= top[:, None]) & (pixels[None, :] < (top + side)[:, None])
        cols = (pixels[None, :] >= left[:, None]) & (pixels[None, :] < (left + side)[:, None])
        x *= ~(rows[:, None, :, None] & cols[:, None, None, :])
        sigma = (self.noise[0] + (self.noise[1] - self.noise[0]) * d) * noise_scale
        x += sigma[:, None, None, None] * rng.standard_normal(x.shape)
        return x.astype(np.float32)
