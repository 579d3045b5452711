"""A CNN seen by a partition: its spatial layers (what the workers split) and its head.

A partition splits the *spatial stack*: the convolutions, poolings and element-wise layers
from the input up to the first layer that mixes all positions (``Flatten``, then the fully
connected layers). The head runs whole on the central node, as in ADCNN (Zhang, Lin & Zhang,
ICPP 2020: "Conv nodes" compute the convolutional layers, the "Central node" the fully
connected ones) and MoDNN (Mao et al., DATE 2017, whose BODP partitions the convolutional
layers).

:func:`spatial_stack` reads each layer's window (kernel, stride, dilation, padding) from the
:mod:`clustersim.nn` module and its FLOPs and bytes from :func:`clustersim.nn.profile`, so the
costs of a tile are fractions of the published per-layer totals, never typed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clustersim.errors import InputError
from clustersim.nn import AvgPool2d, Conv2d, Dropout, LayerCost, MaxPool2d, ReLU, Sequential
from clustersim.nn import profile as nn_profile
from clustersim.nn.layers import GELU, Module
from clustersim.nn.windows import Padding

__all__ = ["LayerGeom", "Stack", "Window", "spatial_stack"]


@dataclass(frozen=True, slots=True)
class Window:
    """What output pixel ``(i, j)`` of a layer reads: input pixels ``(i·s + a·d - top, ...)``,
    ``0 <= a < k``, on a map zero-padded by ``padding`` (top, bottom, left, right).

    Element-wise layers have a 1×1 window, stride 1 and no padding.
    """

    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding = (0, 0, 0, 0)

    def span(self, axis: int) -> int:
        """Input pixels one output pixel reads along ``axis`` (0 rows, 1 columns)."""
        return self.dilation[axis] * (self.kernel[axis] - 1) + 1


@dataclass(frozen=True, slots=True)
class LayerGeom:
    """One layer of the spatial stack.

    Attributes:
        index: position in the model (its parameter prefix).
        op: ``"conv"``, ``"maxpool"``, ``"avgpool"`` or ``"pointwise"`` (ReLU, GELU, Dropout).
        window: what an output pixel reads.
        module: the :mod:`clustersim.nn` layer (its configuration; weights are not touched).
        cost: the layer's :class:`~clustersim.nn.LayerCost` for the whole map, per sample.
    """

    index: int
    op: str
    window: Window
    module: Module
    cost: LayerCost

    @property
    def in_shape(self) -> tuple[int, int, int]:
        c, h, w = self.cost.input_shape
        return (c, h, w)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.cost.output_shape
        return (c, h, w)

    @property
    def halo_bearing(self) -> bool:
        """Whether an output pixel reads more than the input pixel below it (conv, pooling)."""
        return self.op != "pointwise"


@dataclass(frozen=True)
class Stack:
    """A CNN split into its spatial stack and its head.

    Attributes:
        layers: the spatial layers, in order.
        head: cost records of the remaining layers (Flatten, the fully connected layers).
        model: the whole model.
        input_shape: per-sample input (C, H, W).
        dtype_bytes: bytes per element of activations and weights.
    """

    layers: list[LayerGeom]
    head: list[LayerCost]
    model: Sequential
    input_shape: tuple[int, int, int]
    dtype_bytes: int

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape of the last spatial map (what the central node gathers)."""
        return self.layers[-1].out_shape

    @property
    def input_bytes(self) -> int:
        return self.layers[0].cost.input_bytes

    @property
    def output_bytes(self) -> int:
        """Bytes of the gathered map."""
        return self.layers[-1].cost.output_bytes

    @property
    def logits_bytes(self) -> int:
        """Bytes of the model's output (what a remote cloud sends back)."""
        return (self.head[-1] if self.head else self.layers[-1].cost).output_bytes

    def conv_layers(self) -> list[LayerGeom]:
        return [g for g in self.layers if g.op == "conv"]


def _geometry(index: int, layer: Module, cost: LayerCost) -> LayerGeom | None:
    """The geometry of a spatial layer, or None for the first layer of the head."""
    if isinstance(layer, Conv2d):
        window = Window(layer.kernel_size, layer.stride, layer.dilation, layer.padding)
        return LayerGeom(index, "conv", window, layer, cost)
    if isinstance(layer, MaxPool2d | AvgPool2d):
        op = "maxpool" if isinstance(layer, MaxPool2d) else "avgpool"
        window = Window(layer.kernel_size, layer.stride, (1, 1), layer.padding)
        return LayerGeom(index, op, window, layer, cost)
    if isinstance(layer, ReLU | GELU | Dropout):
        return LayerGeom(index, "pointwise", Window(), layer, cost)
    return None


def spatial_stack(model: Sequential, input_shape: Sequence[int], dtype: str) -> Stack:
    """Split ``model`` (a flat Sequential such as :func:`~clustersim.nn.vgg16`) into the
    spatial layers before its first ``Flatten`` (or fully connected layer) and the head.

    Raises InputError when the model does not start with a spatial layer.
    """
    shape = tuple(int(n) for n in input_shape)
    records = nn_profile(model, shape, dtype)
    layers: list[LayerGeom] = []
    for index, (layer, cost) in enumerate(zip(model.layers, records, strict=True)):
        geom = _geometry(index, layer, cost)
        if geom is None:
            break
        layers.append(geom)
    if not layers or layers[0].op == "pointwise":
        raise InputError(
            f"workload.model: a spatial partition needs a model that starts with a convolution "
            f"or pooling layer, got {model.layers[0]!r}"
        )
    c, h, w = shape
    return Stack(
        layers=layers,
        head=records[len(layers) :],
        model=model,
        input_shape=(c, h, w),
        dtype_bytes=records[0].input_bytes // (c * h * w),
    )
