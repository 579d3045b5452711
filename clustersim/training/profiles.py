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
* :func:`alexnet_profile`: AlexNet as torchvision (and PipeDream's image-classification
  driver, which imports it) builds it: the single-tower 64-192-384-256-256 variant of
  Krizhevsky, "One weird trick for parallelizing convolutional neural networks",
  arXiv:1404.5997, 2014, of the network of Krizhevsky, Sutskever & Hinton, NIPS 2012.
* :func:`gnmt_profile`: GNMT-like LSTM translation models, the architecture of Wu et al.,
  "Google's Neural Machine Translation System", arXiv:1609.08144, 2016, §3-4, in the size
  PipeDream trains (SOSP 2019 §5.1: GNMT-8 and GNMT-16, 8 and 16 LSTM layers, as in the MLPerf
  reference: 1024 units, a 32,320-word shared vocabulary, sentences up to 50 tokens).
* :func:`amoebanet_profile`: an AmoebaNet-like image network, the cell layout of AmoebaNet-D
  (Real, Aggarwal, Huang & Le, "Regularized Evolution for Image Classifier Architecture
  Search", AAAI 2019, Fig. 3; the AmoebaNet-D(N, F) of GPipe, Huang et al. 2019, §3), with an
  assumed per-cell cost: GPipe's unbalanced example.

Every layer also says how many matrix rows each sample gives its kernels (``rows``: tokens for
a transformer, output pixels of a convolution, 1 for a fully connected layer, 1 per time step
for an LSTM), for devices whose efficiency depends on them
(:class:`~clustersim.hardware.device.MatrixTiling`).

FLOPs count a multiply-add as 2 FLOP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BUILTINS",
    "LayerProfile",
    "ModelProfile",
    "alexnet_profile",
    "amoebanet_profile",
    "generated_profile",
    "gnmt_profile",
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
        rows: matrix rows each sample gives the layer's kernels (0: unknown).
    """

    name: str
    flops: float
    activation: float
    params: float = 0.0
    backward_flops: float | None = None
    stash: float | None = None
    rows: float = 0.0

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
    rows: float = 0.0,
) -> ModelProfile:
    """``count`` identical layers (balanced stages whenever ``count`` divides evenly)."""
    layers = tuple(
        LayerProfile(f"{name}{i}", flops, activation, params, backward_flops, stash, rows)
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
        LayerProfile(f"block{i}", flops, activation, params, stash=stash, rows=s)
        for i in range(layers)
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
                    rows=size * size,
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
                rows=1,
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
            rows=(image_size // 2) ** 2,
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
                    rows=out * out,
                )
            )
            c_in, size = c_out, out
    layers.append(
        LayerProfile(
            "fc", 2.0 * c_in * 1000 + size * size * c_in, 1000 * b, (c_in + 1) * 1000 * b, rows=1
        )
    )
    return ModelProfile(
        "resnet50",
        tuple(layers),
        image_size * image_size * 3 * b,
        "He et al., CVPR 2016, Table 1 (ResNet-50)",
    )


# ----------------------------------------------------------------------------------- AlexNet
_ALEXNET_CONVS = (
    # (kernel, stride, padding, output channels, max-pool 3x3/2 after it)
    (11, 4, 2, 64, True),
    (5, 1, 2, 192, True),
    (3, 1, 1, 384, False),
    (3, 1, 1, 256, False),
    (3, 1, 1, 256, True),
)
"""The five convolutions of torchvision's ``alexnet`` (``features``), each followed by ReLU."""


def alexnet_profile(image_size: int = 224, dtype_bytes: int = 4) -> ModelProfile:
    """AlexNet: five convolutions (three with a 3x3/2 max-pool) and three fully connected
    layers, 8 layers, as torchvision's ``alexnet`` (the one-tower variant of Krizhevsky 2014).

    With 224x224 inputs the convolutions give 55, 27, 13, 13, 13 pixels (pooled to 27, 13 and
    6); an adaptive average pool keeps the 6x6x256 map for ``fc6`` (dropout is free). 61,100,840
    parameters (torchvision's count) and 0.714 G multiply-adds per image. A pooled layer's
    stash holds its map before and after the pool; the fully connected layers hold 96 % of the
    weights and 8 % of the work, which is why PipeDream gives them their own stage (15-1).
    """
    b = dtype_bytes
    layers = []
    size, c_in = image_size, 3
    for i, (k, stride, pad, c_out, pool) in enumerate(_ALEXNET_CONVS):
        size = (size + 2 * pad - k) // stride + 1
        out = size * size * c_out
        flops = _conv(size, k, c_in, c_out)
        pooled = (size - 3) // 2 + 1 if pool else size
        activation = pooled * pooled * c_out
        layers.append(
            LayerProfile(
                f"conv{i + 1}",
                flops,
                activation * b,
                (k * k * c_in + 1) * c_out * b,
                stash=(out + (activation if pool else 0)) * b,
                rows=size * size,
            )
        )
        size, c_in = pooled, c_out
    features = 6 * 6 * c_in  # AdaptiveAvgPool2d((6, 6)): the 6x6 map is kept as it is
    for i, (n_in, n_out) in enumerate(((features, 4096), (4096, 4096), (4096, 1000))):
        layers.append(
            LayerProfile(
                f"fc{6 + i}", 2.0 * n_in * n_out, n_out * b, (n_in + 1) * n_out * b, rows=1
            )
        )
    return ModelProfile(
        "alexnet",
        tuple(layers),
        image_size * image_size * 3 * b,
        "torchvision alexnet (Krizhevsky, arXiv:1404.5997, 2014; Krizhevsky et al., NIPS 2012)",
    )


# -------------------------------------------------------------------------------------- GNMT
def _lstm_params(inputs: int, hidden: int) -> int:
    """Weights of one LSTM layer: four gates over ``[x, h]``, with PyTorch's two bias vectors."""
    return 4 * hidden * (inputs + hidden) + 8 * hidden


def gnmt_profile(
    layers: int = 16,
    hidden: int = 1024,
    vocab: int = 32320,
    seq_len: int = 50,
    dtype_bytes: int = 4,
) -> ModelProfile:
    """A GNMT-like model of ``layers`` LSTM layers (half encoder, half decoder), per sentence pair.

    The layers, in order (the GNMT of Wu et al. 2016 §3, Fig. 1, as PipeDream's GNMT-8/16
    driver and the MLPerf reference build it):

    * ``embed_enc``: the source embedding (``vocab x hidden``), a look-up;
    * ``enc1``: a bidirectional LSTM (``hidden`` units each way, its output ``2·hidden``);
      ``enc2``: LSTM(2h -> h); ``enc3`` ...: LSTM(h -> h) with residual connections;
    * ``embed_dec``: the target embedding;
    * ``dec1``: an LSTM(h -> h) and the normalised Bahdanau attention over the encoder output
      (query and key projections ``2h²``, the score vector, and the context: ``4·L²·h`` FLOP);
      ``dec2`` ...: LSTM(2h -> h), their input the previous output and the attention context;
    * ``classifier``: the ``hidden x vocab`` projection and softmax of every target token.

    An LSTM layer costs ``2·4h·(in + h)`` FLOP per token (the gate matrix product), the backward
    twice that. Every decoder stage passes on its output, the attention context and the encoder
    output (the attention's memory): ``3·L·h`` values per sentence (the encoder stages ``L·h``).
    Each LSTM kernel runs one time step of the batch: 1 matrix row per sample.
    """
    if layers < 2 or layers % 2:
        raise ValueError(f"GNMT needs an even number of LSTM layers, at least 2, got {layers}")
    h, length, b = hidden, seq_len, dtype_bytes
    half = layers // 2
    per_token = length  # tokens per sentence, source and target alike
    out: list[LayerProfile] = [
        LayerProfile("embed_enc", 0.0, length * h * b, vocab * h * b, rows=length)
    ]
    for i in range(half):
        inputs, width = (h, 2 * h) if i == 0 else ((2 * h, h) if i == 1 else (h, h))
        weights = _lstm_params(inputs, h) * (2 if i == 0 else 1)
        gates = 2.0 * (weights - (16 if i == 0 else 8) * h) * per_token
        out.append(LayerProfile(f"enc{i + 1}", gates, length * width * b, weights * b, rows=1))
    memory = length * h  # the encoder output every decoder stage carries
    out.append(LayerProfile("embed_dec", 0.0, (length * h + memory) * b, vocab * h * b))
    for i in range(half):
        inputs = h if i == 0 else 2 * h
        weights = _lstm_params(inputs, h)
        gates = 2.0 * (weights - 8 * h) * per_token
        if i == 0:  # Bahdanau attention: projections of the keys and queries, scores, context
            weights += 2 * h * h + 2 * h
            gates += 2.0 * (2 * length * h * h) + 4.0 * length * length * h
        out.append(
            LayerProfile(f"dec{i + 1}", gates, (2 * length * h + memory) * b, weights * b, rows=1)
        )
    out.append(
        LayerProfile(
            "classifier",
            2.0 * h * vocab * per_token,
            length * vocab * b,
            (h + 1) * vocab * b,
            rows=length,
        )
    )
    return ModelProfile(
        f"gnmt{layers}",
        tuple(out),
        2 * length * 4,  # source and target token ids (int32)
        "Wu et al., arXiv:1609.08144 §3; PipeDream SOSP 2019 §5.1 (GNMT-8/16, MLPerf sizes)",
        {"layers": layers, "hidden": h, "vocab": vocab, "seq_len": length},
    )


# --------------------------------------------------------------------------------- AmoebaNet
NORMAL_CELL_MACS = 20
"""Assumed multiply-adds per output position of a normal cell, in units of ``F²`` (F the cell's
filters): its five blocks of two separable or pooling ops, about ten ``F x F`` point-wise
products, plus the 1x1 convolutions that squeeze the two previous cells' concatenated outputs
(``5F`` each) back to ``F``. A reduction cell is taken to cost the same at its output size."""


def amoebanet_profile(
    normal_cells: int = 18, filters: int = 256, image_size: int = 224, dtype_bytes: int = 4
) -> ModelProfile:
    """An AmoebaNet-like network: GPipe's example of layers with unbalanced weights and
    activations, ``normal_cells + 5`` layers.

    AmoebaNet-D(N, F)'s layout (Real et al. 2019, Fig. 3; GPipe §3, Table 1): a 3x3/2 stem
    convolution, two reduction cells that bring the image to 1/8 of its size, then three stacks
    of ``N/3`` normal cells at ``F``, ``2F`` and ``4F`` filters with a reduction cell (half the
    size, twice the filters) between stacks, and a global average pool with the 1000-way
    classifier. A cell's output is the concatenation of its five blocks (``5F`` channels).
    Per cell the model assumes :data:`NORMAL_CELL_MACS` ``x s² x F²`` multiply-adds and as many
    weights per ``F²`` (s the cell's output size): the work per cell is about equal across
    stacks (``s`` halves as ``F`` doubles), while a cell of the last stack holds 16 times the
    weights of one of the first and a quarter of its activations. This is an assumption about
    the cells, not the searched AmoebaNet-D; it keeps the imbalance GPipe's partitions meet.
    """
    if normal_cells < 3 or normal_cells % 3:
        raise ValueError(f"AmoebaNet needs normal cells in 3 equal stacks, got {normal_cells}")
    if image_size % 32:
        raise ValueError(f"AmoebaNet needs an image size divisible by 32, got {image_size}")
    b = dtype_bytes
    layers = []
    size = image_size // 2
    layers.append(
        LayerProfile(
            "stem",
            _conv(size, 3, 3, filters // 4),
            size * size * filters // 4 * b,
            (27 + 1) * filters // 4 * b,
            rows=size * size,
        )
    )

    def cell(name: str, s: int, f: int) -> LayerProfile:
        macs = NORMAL_CELL_MACS * s * s * f * f
        return LayerProfile(
            name,
            2.0 * macs,
            5 * s * s * f * b,
            NORMAL_CELL_MACS * f * f * b,
            stash=15 * s * s * f * b,  # the blocks' inputs and outputs, 3 maps of 5F
            rows=s * s,
        )

    f = filters // 2
    for i in range(2):  # stem reduction cells: 1/2 -> 1/8 of the image
        size //= 2
        layers.append(cell(f"stem_reduction{i + 1}", size, f))
        f *= 2
    f = filters
    per_stack = normal_cells // 3
    for stack in range(3):
        if stack:
            size //= 2
            f *= 2
            layers.append(cell(f"reduction{stack}", size, f))
        for j in range(per_stack):
            layers.append(cell(f"normal{stack + 1}_{j + 1}", size, f))
    width = 5 * f
    layers.append(
        LayerProfile(
            "head", 2.0 * width * 1000 + size * size * width, 1000 * b, (width + 1) * 1000 * b
        )
    )
    return ModelProfile(
        f"amoebanet_{normal_cells}_{filters}",
        tuple(layers),
        image_size * image_size * 3 * b,
        "AmoebaNet-D(N, F) cell layout (Real et al., AAAI 2019, Fig. 3; GPipe §3) with assumed "
        "cell costs",
        {"normal_cells": normal_cells, "filters": filters},
    )


BUILTINS = ("transformer", "vgg16", "resnet50", "alexnet", "gnmt", "amoebanet")
"""Names of the built-in profiles."""
