"""Layer profiles: per-layer forward FLOPs, output activation bytes and parameter bytes.

A pipeline partitions a model by layers, so all it needs to know about a model is, per layer and
per sample: the forward FLOPs, the bytes of the layer's output (what crosses a stage boundary,
and what the next layer reads), the bytes kept for the backward pass (the "stash"), the bytes
of parameters (what replicas all-reduce), and the backward FLOPs (twice the forward unless
given: one matrix product for the data gradient and one for the weight gradient, as in the
lecture notes' "DNN backward propagation involves two matrix multiplications").

Profiles come from an explicit list, a generator of identical layers, or a built-in derived
from layer shapes:

* :func:`transformer_profile`: a stack of GPT-style transformer blocks (Narayanan et al.,
  "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC 2021,
  §5.1, for FLOPs and parameters; Korthikanti et al., "Reducing Activation Recomputation in
  Large Transformer Models", MLSys 2023, §4.1 eq. 1, for the activation stash).
* :func:`vgg16_profile`: VGG-16, configuration D of Simonyan & Zisserman, "Very Deep
  Convolutional Networks for Large-Scale Image Recognition", ICLR 2015, Table 1.
* :func:`resnet50_profile`: ResNet-50 of He, Zhang, Ren & Sun, "Deep Residual Learning for
  Image Recognition", CVPR 2016, Table 1 (bottleneck blocks [3, 4, 6, 3]; stride on the first
  1x1 convolution of a downsampling block, as in the paper; batch-norm scale and shift
  counted as parameters).

FLOPs count a multiply-add as 2 FLOP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BUILTINS",
    "LayerProfile",
    "ModelProfile",
    "generated_profile",
    "resnet50_profile",
    "transformer_profile",
    "vgg16_profile",
]


@dataclass(frozen=True, slots=True)
class LayerProfile:
    """One layer, per sample (a sequence for transformers, an image for CNNs).

    Attributes:
        name: label for tables and traces.
        flops: forward FLOP per sample.
        activation: bytes of the layer's output per sample.
        params: bytes of the layer's parameters (independent of the batch).
        backward_flops: backward FLOP per sample; ``None`` means ``2 * flops``.
        stash: bytes per sample kept from the forward pass for the backward pass; ``None``
            means ``activation``.
    """

    name: str
    flops: float
    activation: float
    params: float = 0.0
    backward_flops: float | None = None
    stash: float | None = None

    @property
    def bwd_flops(self) -> float:
        """Backward FLOP per sample."""
        return 2.0 * self.flops if self.backward_flops is None else self.backward_flops

    @property
    def stash_bytes(self) -> float:
        """Bytes per sample stashed for the backward pass."""
        return self.activation if self.stash is None else self.stash


@dataclass(frozen=True)
class ModelProfile:
    """A model as a sequence of layers.

    Attributes:
        name: e.g. ``"vgg16"``.
        layers: the layers in order.
        input_bytes: bytes of one input sample (what stage 0 stashes with recomputation).
        source: citation of the shapes the profile derives from.
    """

    name: str
    layers: tuple[LayerProfile, ...]
    input_bytes: float
    source: str = ""
    meta: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def flops(self) -> float:
        """Forward FLOP per sample of the whole model."""
        return sum(layer.flops for layer in self.layers)

    @property
    def params(self) -> float:
        """Parameter bytes of the whole model."""
        return sum(layer.params for layer in self.layers)


def generated_profile(
    count: int,
    flops: float,
    activation: float,
    params: float = 0.0,
    backward_flops: float | None = None,
    stash: float | None = None,
    input_bytes: float | None = None,
    name: str = "layer",
) -> ModelProfile:
    """``count`` identical layers (balanced stages whenever ``count`` divides evenly)."""
    layers = tuple(
        LayerProfile(f"{name}{i}", flops, activation, params, backward_flops, stash)
        for i in range(count)
    )
    return ModelProfile(
        "generated",
        layers,
        activation if input_bytes is None else input_bytes,
        "identical generated layers",
    )


# ------------------------------------------------------------------------------ transformer
def transformer_profile(
    layers: int,
    hidden: int,
    seq_len: int,
    heads: int,
    dtype_bytes: int = 2,
) -> ModelProfile:
    """A stack of ``layers`` GPT-style blocks (self-attention + 4h MLP), per sequence.

    * Forward FLOPs per block: ``24·s·h² + 4·s²·h`` (Narayanan et al. 2021, §5.1: their
      ``96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h))`` counts forward, backward and recomputation,
      i.e. four forward passes; the vocabulary term belongs to the output layer, not a block).
    * Parameters per block: ``12·h² + 13·h`` (same section: ``P = 12·l·h²·(1 + 13/(12h) + ...)``).
    * Output activation: ``s·h`` elements.
    * Stash: ``s·h·(34 + 5·a·s/h)`` bytes per block and sequence (Korthikanti et al. 2023,
      eq. 1, 16-bit activations with 1-byte dropout masks), scaled by ``dtype_bytes / 2`` for
      other widths.
    """
    s, h, a = seq_len, hidden, heads
    flops = 24.0 * s * h * h + 4.0 * s * s * h
    params = (12.0 * h * h + 13.0 * h) * dtype_bytes
    activation = float(s * h * dtype_bytes)
    stash = s * h * (34.0 + 5.0 * a * s / h) * dtype_bytes / 2.0
    blocks = tuple(
        LayerProfile(f"block{i}", flops, activation, params, stash=stash) for i in range(layers)
    )
    return ModelProfile(
        "transformer",
        blocks,
        activation,
        "Narayanan et al. SC 2021 §5.1 (FLOPs, params); Korthikanti et al. MLSys 2023 eq. 1 "
        "(stash)",
        {"hidden": h, "seq_len": s, "heads": a},
    )


# -------------------------------------------------------------------------------------- CNNs
def _conv(h_out: int, k: int, c_in: int, c_out: int) -> float:
    """Forward FLOPs of a k×k convolution producing an h_out × h_out × c_out map."""
    return 2.0 * h_out * h_out * k * k * c_in * c_out


_VGG16_D: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)
"""Output channels of the 3x3 convolutions of each block of configuration D (Table 1)."""


def vgg16_profile(image_size: int = 224, dtype_bytes: int = 4) -> ModelProfile:
    """VGG-16 (configuration D): 13 3x3 convolutions in 5 blocks, each block ending in a 2x2
    max-pool, then FC-4096, FC-4096, FC-1000 (Simonyan & Zisserman 2015, Table 1).

    16 layers. A block's last convolution includes its pooling: its output activation is the
    pooled map, and its stash holds the map before and after pooling. With 224x224 inputs the
    model has 138,357,544 parameters and 15.47 G multiply-adds per image (30.9 GFLOP).
    """
    if image_size % 32:
        raise ValueError(f"VGG-16 needs an image size divisible by 32, got {image_size}")
    layers = []
    size, c_in, index = image_size, 3, 0
    for block in _VGG16_D:
        for j, c_out in enumerate(block):
            index += 1
            flops = _conv(size, 3, c_in, c_out)
            params = (9 * c_in + 1) * c_out * dtype_bytes
            out = size * size * c_out * dtype_bytes
            pooled = j == len(block) - 1
            activation = out // 4 if pooled else out
            layers.append(
                LayerProfile(
                    f"conv{index}",
                    flops,
                    activation,
                    params,
                    stash=out + (activation if pooled else 0),
                )
            )
            c_in = c_out
        size //= 2
    features = size * size * c_in
    for i, (n_in, n_out) in enumerate(((features, 4096), (4096, 4096), (4096, 1000))):
        layers.append(
            LayerProfile(
                f"fc{14 + i}",
                2.0 * n_in * n_out,
                n_out * dtype_bytes,
                (n_in + 1) * n_out * dtype_bytes,
            )
        )
    return ModelProfile(
        "vgg16",
        tuple(layers),
        image_size * image_size * 3 * dtype_bytes,
        "Simonyan & Zisserman, ICLR 2015, Table 1, configuration D",
    )


_RESNET50_STAGES = ((3, 64, 256), (4, 128, 512), (6, 256, 1024), (3, 512, 2048))
"""(blocks, bottleneck width, output channels) of conv2_x .. conv5_x (He et al. 2016, Table 1)."""


def resnet50_profile(image_size: int = 224, dtype_bytes: int = 4) -> ModelProfile:
    """ResNet-50: a 7x7 stem, 16 bottleneck blocks ([3, 4, 6, 3]) and the 1000-way FC layer.

    18 layers: ``stem`` (conv1 + BN + max-pool), one layer per bottleneck block (1x1, 3x3, 1x1
    convolutions with batch norm, plus the 1x1 projection shortcut in the first block of each
    stage), and ``fc`` (global average pool + FC). Downsampling blocks put the stride on their
    first 1x1 convolution, as in the paper. With 224x224 inputs: 25,557,032 parameters
    (torchvision counts the same) and 3.86 G multiply-adds per image (the paper's Table 1 says
    3.8×10⁹ FLOPs, meaning multiply-adds). A block's stash is the sum of its convolution
    outputs.
    """
    if image_size % 32:
        raise ValueError(f"ResNet-50 needs an image size divisible by 32, got {image_size}")
    b = dtype_bytes
    layers = []
    size = image_size // 2
    stem_out = size * size * 64
    size //= 2  # 3x3/2 max-pool
    layers.append(
        LayerProfile(
            "stem",
            _conv(image_size // 2, 7, 3, 64),
            size * size * 64 * b,
            (7 * 7 * 3 * 64 + 2 * 64) * b,
            stash=(stem_out + size * size * 64) * b,
        )
    )
    c_in = 64
    for stage, (blocks, width, c_out) in enumerate(_RESNET50_STAGES):
        for block in range(blocks):
            stride = 2 if (block == 0 and stage > 0) else 1
            out = size // stride
            flops = (
                _conv(out, 1, c_in, width)
                + _conv(out, 3, width, width)
                + _conv(out, 1, width, c_out)
            )
            params = c_in * width + 9 * width * width + width * c_out + 2 * (width + width + c_out)
            stash = out * out * (width + width + c_out)
            if block == 0:  # projection shortcut (option B of the paper)
                flops += _conv(out, 1, c_in, c_out)
                params += c_in * c_out + 2 * c_out
                stash += out * out * c_out
            layers.append(
                LayerProfile(
                    f"conv{stage + 2}_{block + 1}",
                    flops,
                    out * out * c_out * b,
                    params * b,
                    stash=stash * b,
                )
            )
            c_in, size = c_out, out
    layers.append(
        LayerProfile("fc", 2.0 * c_in * 1000 + size * size * c_in, 1000 * b, (c_in + 1) * 1000 * b)
    )
    return ModelProfile(
        "resnet50",
        tuple(layers),
        image_size * image_size * 3 * b,
        "He et al., CVPR 2016, Table 1 (ResNet-50)",
    )


BUILTINS = ("transformer", "vgg16", "resnet50")
"""Names of the built-in profiles."""
