"""Neurosurgeon's numerics: run the first ``k`` layers of a CNN on the mobile, send the
activation, run the rest in the cloud, and compare with the whole model (numpy only).

A split of a :class:`~clustersim.nn.layers.Sequential` after layer ``k - 1`` is two slices
that keep the whole model's parameter names, so both halves use the very same arrays. The
activation crosses "the wire" as its raw bytes (``tobytes`` and back), which is exactly what a
split deployment sends at the model's dtype. Same arithmetic in the same order, so the split
output must equal the unsplit output bit for bit: the ``split_equals_unsplit`` check.

The ImageNet models are checked at a small image size with :func:`tiled_parameters`: He-scaled
weights cut from one random vector (drawing 138 M fresh normals for VGG-16 would take seconds
and half a gigabyte, and any weights exercise the same arithmetic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from clustersim.nn.layers import Params, Sequential

__all__ = ["SplitRun", "run_split", "tiled_parameters"]


def tiled_parameters(model: Sequential, rng: np.random.Generator, dtype: np.dtype) -> Params:
    """Weights for every parameter of ``model``: one vector of 65,537 standard normals (an odd
    length, so that rows do not repeat in step) repeated to each shape and scaled by the He
    standard deviation ``sqrt(2 / fan_in)`` (fan-in: ``c·kh·kw`` of a convolution, the input
    width of a linear layer); biases get small values of the same vector."""
    base = rng.standard_normal(65_537).astype(dtype)
    out: Params = {}
    for name, shape in model.parameter_shapes().items():
        values = np.resize(base, shape)
        if len(shape) == 4:
            values *= dtype.type(math.sqrt(2.0 / math.prod(shape[1:])))
        elif len(shape) == 2:
            values *= dtype.type(math.sqrt(2.0 / shape[0]))
        else:
            values *= dtype.type(0.01)
        out[name] = values
    return out


@dataclass(frozen=True)
class SplitRun:
    """The outputs of the split and the whole model, and what crossed the wire."""

    split_output: np.ndarray
    whole_output: np.ndarray
    sent_bytes: int
    sent_shape: tuple[int, ...]

    @property
    def equal(self) -> bool:
        return bool(np.array_equal(self.split_output, self.whole_output))

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.split_output - self.whole_output)))


def run_split(model: Sequential, x: np.ndarray, k: int, params: Params) -> SplitRun:
    """Layers ``[0, k)`` on the mobile, the activation through bytes, layers ``[k, L)`` in the
    cloud; and the whole model on the same ``x`` with the same ``params``."""
    mobile, cloud = model.slice(0, k), model.slice(k, len(model))
    activation = mobile.forward(x, params)[0] if k else x
    wire = activation.tobytes()
    received = np.frombuffer(wire, dtype=activation.dtype).reshape(activation.shape)
    y = cloud.forward(received, params)[0] if k < len(model) else received
    whole = model.forward(x, params)[0]
    return SplitRun(y, whole, len(wire) // len(x), tuple(activation.shape[1:]))
