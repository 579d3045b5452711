"""Per-layer cost records computed from a model's definition and an input shape, never typed in.

``profile(model, (3, 224, 224), "float32")`` walks the model's layers in order (descending into
nested :class:`~clustersim.nn.layers.Sequential` models) and asks each layer, from shapes alone
and without touching its weights, for its output shape, FLOPs and memory traffic; parameter
counts come from the parameter shapes. Every number is per sample (one image) except the
parameters, which a batch shares.

Counting convention (the one of :mod:`clustersim.training.profiles` and of the device roofline,
:meth:`clustersim.hardware.spec.DeviceSpec.roofline_time`, which divides FLOP by FLOP/s):

* FLOPs are floating-point additions and multiplications of the forward pass at inference; a
  multiply-add counts as 2. A convolution or linear output with fan-in ``K`` costs ``2K``: ``K``
  multiplies and ``K`` additions onto the bias, which is the accumulator's initial value. So
  VGG-16 costs 2 × 15.47 G multiply-adds = 30.9 GFLOP per 224×224 image (the usual "15.5
  GFLOPs" of VGG-16, e.g. torchvision's model table, counts multiply-adds).
* Comparisons and copies are not FLOPs: ReLU, max-pooling, Flatten and Dropout at inference
  cost 0 FLOP (they are memory-bound; their time comes from ``bytes_moved``). Average pooling
  costs ``k²`` FLOP per output.
* ``traffic_bytes`` is what a forward pass must at least read and write per sample: its input
  and its output, once each (0 for Flatten and inference-time Dropout, which are views).
  ``bytes_moved(batch)`` adds the parameters, read once per batch: the ``bytes_moved`` argument
  of :meth:`clustersim.hardware.device.Device.compute`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.nn.layers import Module, Shape, numel

__all__ = ["DTYPE_BYTES", "LayerCost", "dtype_bytes", "profile"]

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}
"""Bytes per element of the datatypes a profile accepts by name."""


@dataclass(frozen=True, slots=True)
class LayerCost:
    """The cost of one layer for one sample.

    Attributes:
        name: the layer's parameter prefix in the model (``"3"``, or ``"2.1"`` inside a nested
            Sequential; ``""`` for a model that is a single layer).
        layer: the layer's description, e.g. ``"Conv2d(3, 64, kernel_size=3, stride=1,
            padding=1)"``.
        input_shape: per-sample input shape.
        output_shape: per-sample output shape.
        flops: forward FLOP per sample at inference (multiply-add = 2).
        params: number of scalar parameters.
        param_bytes: bytes of the parameters at the profile's dtype.
        input_bytes: bytes of the per-sample input.
        output_bytes: bytes of the per-sample output (the activation a split would send).
        traffic_bytes: bytes per sample the forward pass reads and writes at least once.
    """

    name: str
    layer: str
    input_shape: Shape
    output_shape: Shape
    flops: int
    params: int
    param_bytes: int
    input_bytes: int
    output_bytes: int
    traffic_bytes: int

    @property
    def kernels(self) -> int:
        """Kernels the layer's forward launches: one, or none for a view (Flatten,
        inference-time Dropout: no FLOPs and no traffic), which frameworks do not launch."""
        return 1 if self.flops or self.traffic_bytes or self.param_bytes else 0

    def bytes_moved(self, batch: int = 1) -> int:
        """Minimum memory traffic of the layer for ``batch`` samples: activations per sample,
        parameters once."""
        return batch * self.traffic_bytes + self.param_bytes


def dtype_bytes(dtype: Any) -> int:
    """Bytes per element of ``dtype``: a name of :data:`DTYPE_BYTES` or a numpy dtype."""
    if isinstance(dtype, str) and dtype in DTYPE_BYTES:
        return DTYPE_BYTES[dtype]
    try:
        if dtype is None:
            raise TypeError
        return int(np.dtype(dtype).itemsize)
    except TypeError:
        raise InputError(
            f"unknown dtype {dtype!r}; known: {', '.join(DTYPE_BYTES)} or a numpy dtype"
        ) from None


def _leaves(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
    children = module.named_children()
    if not children:
        yield prefix, module
    for name, child in children:
        yield from _leaves(child, f"{prefix}.{name}" if prefix else name)


def profile(model: Module, input_shape: Sequence[int], dtype: Any = "float32") -> list[LayerCost]:
    """One :class:`LayerCost` per layer of ``model`` for per-sample inputs of ``input_shape``
    (e.g. ``(3, 224, 224)``, no batch dimension) stored at ``dtype``.

    Nothing is allocated: lazy weights stay undrawn. A shape a layer cannot take (a channel
    mismatch, a kernel larger than the padded input, a Linear whose input size is wrong) raises
    an InputError naming the layer and the shape it was given.
    """
    shape = tuple(input_shape)
    if not shape or not all(isinstance(n, int | np.integer) and n > 0 for n in shape):
        raise InputError(f"input_shape must be a tuple of positive ints, got {input_shape!r}")
    shape = tuple(int(n) for n in shape)
    size = dtype_bytes(dtype)
    records = []
    for name, layer in _leaves(model, ""):
        try:
            out = tuple(layer.output_shape(shape))
            flops = int(layer.flops(shape))
            traffic = int(layer.traffic(shape))
        except InputError as error:
            raise InputError(
                f"layer {name or '(the model)'} {layer!r} cannot take per-sample input shape "
                f"{shape}: {error}"
            ) from None
        params = layer.num_parameters()
        records.append(
            LayerCost(
                name=name,
                layer=repr(layer),
                input_shape=shape,
                output_shape=out,
                flops=flops,
                params=params,
                param_bytes=params * size,
                input_bytes=numel(shape) * size,
                output_bytes=numel(out) * size,
                traffic_bytes=traffic * size,
            )
        )
        shape = out
    return records
