"""The data a federated run trains on, drawn from the scenario's seed (nothing is downloaded).

Three generators, each returning a :class:`FederatedData`:

* :func:`fedprox_synthetic`: the synthetic(α, β) data of Li et al., "Federated Optimization in
  Heterogeneous Networks" (FedProx), MLSys 2020, §5.1, exactly as its released generator
  (``data/synthetic_1_1/generate_synthetic.py`` and ``data/synthetic_iid/generate_iid.py`` of
  github.com/litian96/FedProx) draws it. Device ``k`` has ``u_k ~ N(0, α)`` and
  ``W_k ~ N(u_k, 1)`` (60 × 10), ``b_k ~ N(u_k, 1)`` (10); ``B_k ~ N(0, β)`` and a mean
  ``v_k`` with every entry ``~ N(B_k, 1)``; inputs ``x ~ N(v_k, Σ)`` with ``Σ`` diagonal,
  ``Σ_jj = j^-1.2``; labels ``y = argmax softmax(W_k x + b_k)``. The second argument of
  ``N(·, ·)`` is the standard deviation, as in the generator's ``np.random.normal(0, alpha)``
  (the paper writes N(0, α); for α = β = 1 the two readings agree). Device ``k`` holds
  ``floor(lognormal(4, 2)) + 50`` samples (the generator's power-law-like counts), shuffled and
  split 90 % train / 10 % test per device. The IID variant draws one ``W, b ~ N(0, 1)`` for all
  devices and ``v_k = 0``. The natural partition is the device split itself.
* :func:`images`: image-like data: ``classes`` templates of a few blurred random strokes on a
  ``side × side`` grid, each sample its class template cyclically shifted by up to ``shift``
  pixels, scaled by a random contrast in [0.6, 1] and plus Gaussian pixel noise of std
  ``noise``; flattened to ``side²`` features. A stand-in for MNIST-like digits with the same
  structure (class-dependent spatial patterns, translation and noise) that draws 60,000
  samples in about 0.15 s: McMahan et al.'s split needs MNIST's 60,000 per run. The richer
  :class:`clustersim.datasets.SyntheticImages` (poses, blends with a distractor class,
  occlusion, a per-sample difficulty, built for early exits) takes about 50 µs a sample; the
  ``strokes`` data set of the kind uses it, for the CNN among others.
* :func:`blobs`: Gaussian clusters, centres ``N(0, separation²·I)``, samples ``N(centre, I)``.

The pooled generators (images, blobs) give **exactly balanced** classes (``samples / classes``
of each, shuffled): the pathological and class-based splits of McMahan et al. (2017) and Zhao et
al. (2018) cut the label-sorted data into equal pieces of one class each, which needs equal
class counts. (:func:`clustersim.training.datasets.gaussian_blobs` draws labels at random, so
its class counts vary; that is why blobs are drawn here.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_FEATURES",
    "FederatedData",
    "balanced_labels",
    "blobs",
    "fedprox_synthetic",
    "images",
    "synthetic_counts",
    "synthetic_train_sizes",
]

SYNTHETIC_FEATURES = 60
"""Input dimension of FedProx's synthetic data (§5.1)."""
SYNTHETIC_CLASSES = 10
"""Classes of FedProx's synthetic data (§5.1)."""
_TRAIN_FRACTION = 0.9
"""Per-device train share in FedProx's generator (``train_len = int(0.9 * num_samples)``)."""


@dataclass(frozen=True)
class FederatedData:
    """Training and test arrays, and the natural split of the training set when there is one.

    Attributes:
        x_train, y_train: training inputs (samples, features) float64 and labels (samples,)
            int64.
        x_test, y_test: held-out inputs and labels.
        classes: number of classes.
        natural: for data generated per device, the training indices of each device (the
            "natural" partition); None for pooled data.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    natural: list[np.ndarray] | None = None

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])


def balanced_labels(rng: np.random.Generator, samples: int, classes: int) -> np.ndarray:
    """``samples`` labels with ``samples / classes`` of each class (the first
    ``samples % classes`` classes one more), in random order."""
    return rng.permutation(np.arange(samples, dtype=np.int64) % classes)


# ------------------------------------------------------------------------ FedProx synthetic
def synthetic_counts(rng: np.random.Generator, clients: int) -> np.ndarray:
    """Samples per device, ``floor(lognormal(4, 2)) + 50`` (FedProx's generator)."""
    return rng.lognormal(4.0, 2.0, size=clients).astype(np.int64) + 50


def synthetic_train_sizes(counts: np.ndarray) -> np.ndarray:
    """Training samples per device: ``int(0.9 · count)``; the rest are the device's test set."""
    return (_TRAIN_FRACTION * counts).astype(np.int64)


def fedprox_synthetic(
    rng: np.random.Generator,
    counts: np.ndarray,
    alpha: float,
    beta: float,
    *,
    iid: bool = False,
    features: int = SYNTHETIC_FEATURES,
    classes: int = SYNTHETIC_CLASSES,
) -> FederatedData:
    """Synthetic(α, β) (or its IID variant) for ``len(counts)`` devices of ``counts[k]`` samples.

    The draws follow the generator's order per device: the priors ``u, B`` for all devices,
    then the means ``v_k``, then each device's ``W_k, b_k`` and samples. ``x`` is drawn as
    ``v_k + sqrt(diag Σ) · z``, the same distribution as ``multivariate_normal(v_k, Σ)`` for a
    diagonal ``Σ``.
    """
    clients = int(counts.size)
    std = np.arange(1, features + 1, dtype=float) ** (-1.2 / 2)  # sqrt(Σ_jj), Σ_jj = j^-1.2
    if iid:
        means = np.zeros((clients, features))
        w_global = rng.normal(0.0, 1.0, (features, classes))
        b_global = rng.normal(0.0, 1.0, classes)
    else:
        mean_w = rng.normal(0.0, alpha, clients)  # u_k; the generator uses mean_b = mean_W
        big_b = rng.normal(0.0, beta, clients)  # B_k
        means = rng.normal(big_b[:, None], 1.0, (clients, features))  # v_k
    x_train, y_train, x_test, y_test, natural = [], [], [], [], []
    train_sizes = synthetic_train_sizes(counts)
    start = 0
    for k in range(clients):
        if iid:
            w, b = w_global, b_global
        else:
            w = rng.normal(mean_w[k], 1.0, (features, classes))
            b = rng.normal(mean_w[k], 1.0, classes)
        n = int(counts[k])
        x = means[k] + std * rng.standard_normal((n, features))
        y = np.argmax(x @ w + b, axis=1).astype(np.int64)  # argmax softmax = argmax logits
        order = rng.permutation(n)
        x, y = x[order], y[order]
        m = int(train_sizes[k])
        x_train.append(x[:m])
        y_train.append(y[:m])
        x_test.append(x[m:])
        y_test.append(y[m:])
        natural.append(np.arange(start, start + m, dtype=np.int64))
        start += m
    return FederatedData(
        np.concatenate(x_train),
        np.concatenate(y_train),
        np.concatenate(x_test),
        np.concatenate(y_test),
        classes,
        natural,
    )


# ------------------------------------------------------------------------ image-like data
def _stroke_templates(
    rng: np.random.Generator, classes: int, side: int, strokes: int = 3, width: float = 0.7
) -> np.ndarray:
    """(classes, side, side) templates in [0, 1]: each pixel the largest of ``strokes``
    Gaussian-blurred line segments between random points (``width`` pixels std)."""
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), axis=-1)
    ends = rng.uniform(0, side - 1, size=(classes, strokes, 2, 2))  # (class, stroke, end, yx)
    a, b = ends[:, :, 0], ends[:, :, 1]
    ab = b - a
    # distance of every pixel to every segment: project onto the segment, clip to its ends
    rel = grid[None, None] - a[:, :, None, None, :]  # (class, stroke, side, side, 2)
    length2 = np.maximum((ab * ab).sum(-1), 1e-12)[:, :, None, None]
    t = np.clip((rel * ab[:, :, None, None, :]).sum(-1) / length2, 0.0, 1.0)
    nearest = rel - t[..., None] * ab[:, :, None, None, :]
    ink = np.exp(-(nearest * nearest).sum(-1) / (2 * width**2)).max(axis=1)
    return ink / ink.max(axis=(1, 2), keepdims=True)


def _render(
    rng: np.random.Generator,
    templates: np.ndarray,
    labels: np.ndarray,
    shift: int,
    noise: float,
) -> np.ndarray:
    """Samples of ``labels``: shifted (cyclically), contrast-scaled, noisy, flattened."""
    n, side = labels.size, templates.shape[1]
    dy, dx = rng.integers(-shift, shift + 1, size=(2, n))
    # every class template under every shift, then one gather: np.roll(t, (dy, dx))[r, c] is
    # t[(r - dy) % side, (c - dx) % side]
    offsets = range(-shift, shift + 1)
    variants = np.stack(
        [np.roll(templates, (a, b), axis=(1, 2)) for a in offsets for b in offsets], axis=1
    )
    shifted = variants[labels, (dy + shift) * (2 * shift + 1) + (dx + shift)]
    contrast = rng.uniform(0.6, 1.0, size=(n, 1, 1))
    x = shifted * contrast + noise * rng.standard_normal((n, side, side))
    return x.reshape(n, side * side)


def images(
    rng: np.random.Generator,
    splits: Sequence[int],
    *,
    classes: int = 10,
    side: int = 8,
    shift: int = 1,
    noise: float = 0.3,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Image-like classification data (see the module docstring): one ``(x, y)`` per entry of
    ``splits`` (e.g. train, test, shared), all of the same class templates, each with balanced
    classes. Each set is drawn after the ones before it, so adding a set at the end leaves
    the others unchanged."""
    templates = _stroke_templates(rng, classes, side)
    out = []
    for n in splits:
        y = balanced_labels(rng, n, classes)
        out.append((_render(rng, templates, y, shift, noise), y))
    return out


def blobs(
    rng: np.random.Generator,
    splits: Sequence[int],
    *,
    classes: int = 10,
    features: int = 32,
    separation: float = 0.5,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Gaussian clusters with balanced classes: centres ``N(0, separation²)``, samples
    ``N(centre, 1)``; one ``(x, y)`` per entry of ``splits``, drawn in turn (as :func:`images`)."""
    centres = rng.standard_normal((classes, features)) * separation
    out = []
    for n in splits:
        y = balanced_labels(rng, n, classes)
        out.append((centres[y] + rng.standard_normal((y.size, features)), y))
    return out
