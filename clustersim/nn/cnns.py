"""Convolutional networks as flat :class:`~clustersim.nn.layers.Sequential` models: VGG-16 and
AlexNet with ImageNet shapes, and small CNNs that train in seconds on a CPU.

The ImageNet models are built lazily by default (``lazy=True``): their 138 M and 61 M
parameters (553 MB and 244 MB in float32) are drawn only when a forward pass or
``parameters()`` asks for them, so :func:`clustersim.nn.profile.profile` can cost them from
shapes alone. Every layer is its own entry of the Sequential (a convolution, its ReLU and a
pooling layer are three entries), so a split after any layer is a split of the list.

* :func:`vgg16`: configuration D of Simonyan & Zisserman, "Very Deep Convolutional Networks for
  Large-Scale Image Recognition", ICLR 2015, Table 1: thirteen 3×3 convolutions (stride 1,
  padding 1) in five blocks, each block closed by a 2×2 max-pool of stride 2, then FC-4096,
  FC-4096 and FC-1000, ReLU after every hidden layer and dropout 0.5 after the first two FC
  layers (§3.1). 138,357,544 parameters (Table 2: 138 M) and 15.47 G multiply-adds at 224×224
  (torchvision's ``vgg16`` has the same layers and count).
* :func:`alexnet`: the single-tower AlexNet of torchvision's ``alexnet``, which follows
  Krizhevsky, "One weird trick for parallelizing convolutional neural networks",
  arXiv:1404.5997, 2014, itself a one-GPU form of Krizhevsky, Sutskever & Hinton, "ImageNet
  Classification with Deep Convolutional Neural Networks", NeurIPS 2012 (two towers, grouped
  convolutions, local response normalisation, none of which is here). Its five convolutions
  have 64, 192, 384, 256 and 256 filters: the "one weird trick" paper's footnote says 384 for
  the fourth, but torchvision took 256 from Krizhevsky's own one-GPU cuda-convnet2 layer file
  (``layers-imagenet-1gpu.cfg``; pytorch/vision issues 463 and 704), and its classifier puts
  dropout before each hidden FC layer (issue 549). 61,100,840 parameters, 0.714 G
  multiply-adds at 224×224.

torchvision puts an adaptive average pool before the classifier (to 7×7 for VGG, 6×6 for
AlexNet); at 224×224 the map is already that size and the pool is the identity, so it is left
out and the first FC layer is sized from the actual map (other image sizes then give other FC
sizes, as in :func:`clustersim.training.profiles.vgg16_profile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.nn.conv import Conv2d
from clustersim.nn.layers import Dropout, Flatten, Linear, Module, ReLU, Sequential, Shape, numel
from clustersim.nn.pool import MaxPool2d

__all__ = ["alexnet", "small_cnn", "vgg16"]

VGG16_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)
"""Output channels of the 3×3 convolutions of each block of configuration D (Table 1)."""

ALEXNET_CONVS: tuple[tuple[int, int, int, int, bool], ...] = (
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
)
"""(filters, kernel, stride, padding, followed by a 3×3/2 max-pool) of torchvision's AlexNet."""


def _child(rng: np.random.Generator) -> np.random.Generator:
    """A generator seeded from one draw of ``rng`` (for dropout masks)."""
    return np.random.default_rng(int(rng.integers(0, np.iinfo(np.int64).max)))


def _classifier(
    features: list[Module],
    input_shape: Shape,
    widths: Sequence[int],
    classes: int,
    *,
    dropout: float,
    dropout_first: bool,
    rng: np.random.Generator,
    dtype: Any,
    lazy: bool,
) -> Sequential:
    """``features``, Flatten, then FC layers of ``widths`` with ReLU and dropout, and the
    ``classes``-way FC. Dropout comes before each hidden FC (``dropout_first``, torchvision's
    AlexNet) or after its ReLU (VGG)."""
    size = numel(Sequential(features).output_shape(input_shape))
    layers = [*features, Flatten()]
    for width in widths:
        if dropout_first and dropout:
            layers.append(Dropout(dropout, rng=_child(rng)))
        layers += [Linear(size, width, rng=rng, dtype=dtype, lazy=lazy), ReLU()]
        if not dropout_first and dropout:
            layers.append(Dropout(dropout, rng=_child(rng)))
        size = width
    layers.append(Linear(size, classes, rng=rng, dtype=dtype, lazy=lazy))
    return Sequential(layers)


def vgg16(
    *,
    classes: int = 1000,
    image_size: int = 224,
    dropout: float = 0.5,
    rng: np.random.Generator | None = None,
    dtype: Any = np.float32,
    lazy: bool = True,
) -> Sequential:
    """VGG-16 (configuration D) for ``3 × image_size × image_size`` inputs: 39 layers (13
    Conv2d + ReLU, 5 MaxPool2d, Flatten, 3 Linear, 2 ReLU, 2 Dropout)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    features: list[Module] = []
    c_in = 3
    for block in VGG16_BLOCKS:
        for c_out in block:
            features += [
                Conv2d(c_in, c_out, 3, padding=1, rng=rng, dtype=dtype, lazy=lazy),
                ReLU(),
            ]
            c_in = c_out
        features.append(MaxPool2d(2, 2))
    return _classifier(
        features,
        (3, image_size, image_size),
        (4096, 4096),
        classes,
        dropout=dropout,
        dropout_first=False,
        rng=rng,
        dtype=dtype,
        lazy=lazy,
    )


def alexnet(
    *,
    classes: int = 1000,
    image_size: int = 224,
    dropout: float = 0.5,
    rng: np.random.Generator | None = None,
    dtype: Any = np.float32,
    lazy: bool = True,
) -> Sequential:
    """torchvision's single-tower AlexNet for ``3 × image_size × image_size`` inputs: 21
    layers (5 Conv2d + ReLU, 3 MaxPool2d, Flatten, Dropout, Linear, ReLU, Dropout, Linear,
    ReLU, Linear)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    features: list[Module] = []
    c_in = 3
    for c_out, k, s, p, pooled in ALEXNET_CONVS:
        features += [
            Conv2d(c_in, c_out, k, stride=s, padding=p, rng=rng, dtype=dtype, lazy=lazy),
            ReLU(),
        ]
        if pooled:
            features.append(MaxPool2d(3, 2))
        c_in = c_out
    return _classifier(
        features,
        (3, image_size, image_size),
        (4096, 4096),
        classes,
        dropout=dropout,
        dropout_first=True,
        rng=rng,
        dtype=dtype,
        lazy=lazy,
    )


def small_cnn(
    input_shape: Sequence[int] = (1, 16, 16),
    classes: int = 10,
    *,
    channels: Sequence[int] = (8, 16),
    kernel_size: int = 3,
    hidden: int | None = None,
    rng: np.random.Generator | None = None,
    dtype: Any = np.float32,
) -> Sequential:
    """A small CNN: per entry of ``channels`` a block Conv2d(``kernel_size``, "same" padding) →
    ReLU → MaxPool2d(2), then Flatten, an optional hidden FC layer with ReLU, and the
    ``classes``-way FC layer (logits).

    With the defaults (1×16×16 inputs, blocks of 8 and 16 channels) it has 3,818 parameters
    and costs 0.19 MFLOP per image: five epochs over 3,000 images take 2-3.5 s of numpy on one
    core.
    """
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"small_cnn input_shape must be (C, H, W), got {tuple(input_shape)}")
    if not channels or min(channels) < 1:
        raise InputError(f"small_cnn channels must be positive ints, got {list(channels)}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise InputError(f"small_cnn kernel_size must be a positive odd int, got {kernel_size}")
    rng = rng if rng is not None else np.random.default_rng(0)
    features: list[Module] = []
    c_in = shape[0]
    for c_out in channels:
        features += [
            Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, rng=rng, dtype=dtype),
            ReLU(),
            MaxPool2d(2),
        ]
        c_in = c_out
    return _classifier(
        features,
        shape,
        () if hidden is None else (hidden,),
        classes,
        dropout=0.0,
        dropout_first=False,
        rng=rng,
        dtype=dtype,
        lazy=False,
    )
