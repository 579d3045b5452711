"""DDNN's numerics: end devices with small binary models, aggregated exits at the edge, the rest
of the network in the cloud (numpy only).

Teerapittayanon, McDanel & Kung, "Distributed Deep Neural Networks over the Cloud, the Edge and
End Devices", ICDCS 2017:

* **End devices** (§III-A, Fig. 4): each of ``V`` devices (cameras, each seeing its own view of
  the same object) runs its own ConvP block (3×3 convolution, 2×2 max-pool, binary activation:
  the eBNN layers of McDanel, Teerapittayanon & Kung, EWSN 2017) and a local classifier (FC).
  The binary feature map is what a device may send: ``f·o`` bits for ``f`` filters of ``o``
  outputs each, ``f·o/8`` bytes.
* **Aggregation** (§III-B): the devices' outputs are combined by max pooling (MP: element-wise
  maximum), average pooling (AP: element-wise mean) or concatenation (CC). For the local exit
  the devices' class scores are aggregated (CC is followed by an FC layer back to ``C``
  classes); for the edge or cloud the feature maps are (CC stacks them as channels).
* **Exits** (§III-D): a sample leaves at the local exit if the normalized entropy
  ``η = -Σ p log p / log C`` of its aggregated local scores is below the threshold ``T``;
  otherwise the devices send their feature maps on, to an optional edge exit (its own ConvP
  block and classifier, same rule) and finally to the cloud (ConvP block and classifier), which
  answers whatever is left.
* **Training** (§III-C): jointly, on the sum of the exits' weighted softmax cross-entropies,
  as BranchyNet; the binary activation passes gradients straight through where its input lies
  in [-1, 1] (the straight-through estimator of Hubara, Courbariaux, Soudry, El-Yaniv & Bengio,
  "Binarized Neural Networks", NeurIPS 2016, §1.1).
* **Fault tolerance** (§IV-F): a failed device is simply missing from the aggregation (MP and AP
  over the devices present, zeros in its place for CC), so the system still answers every
  sample, with less accuracy.

Everything is vectorised over samples; the devices, each with its own weights, are a short
Python loop. Inference evaluates every tier on every sample (the paper reports each exit's
accuracy over the whole test set) and then routes each sample by the thresholds
(:func:`route`); the timing charges each sample only the tiers it reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.inference.early_exit.kernels import normalized_entropy
from clustersim.nn.conv import Conv2d
from clustersim.nn.layers import Flatten, Linear, Module, Params, ReLU, Sequential, Shape, numel
from clustersim.nn.losses import softmax, softmax_cross_entropy
from clustersim.nn.pool import MaxPool2d
from clustersim.nn.train import train_epochs

__all__ = [
    "AGGREGATIONS",
    "DDNN",
    "Aggregate",
    "Binarize",
    "DdnnRun",
    "build_ddnn",
    "pack_features",
    "route",
    "unpack_features",
]

AGGREGATIONS = ("max", "average", "concat")
"""DDNN's aggregation methods: MP, AP and CC (§III-B)."""


# ------------------------------------------------------------------------------- layers
class Binarize(Module):
    """``sign(x)`` as ±1 (0 maps to +1), with the straight-through gradient
    ``∂x = ∂y · 1[|x| <= 1]`` (Hubara et al. 2016, §1.1). Comparisons only: 0 FLOP."""

    def __repr__(self) -> str:
        return "Binarize()"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        return np.where(x >= 0, 1, -1).astype(x.dtype), x

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        return grad_y * (np.abs(cache) <= 1), {}

    def output_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def flops(self, shape: Shape) -> int:
        return 0


class Aggregate(Module):
    """Combine ``V`` devices' outputs, input ``(N, V, *shape)``: ``max`` (MP), ``average``
    (AP) or ``concat`` (CC, along the first per-device axis: class scores ``V·C`` or feature
    channels ``V·f``). Only the devices in ``present`` count; CC puts zeros in a missing
    device's place. FLOPs: AP ``V`` per output (``V - 1`` additions and one scaling); MP and CC
    none (comparisons and copies)."""

    def __init__(self, mode: str, devices: int) -> None:
        if mode not in AGGREGATIONS:
            raise InputError(f"unknown aggregation {mode!r}; known: {', '.join(AGGREGATIONS)}")
        self.mode = mode
        self.devices = devices
        self.present = np.ones(devices, dtype=bool)

    def __repr__(self) -> str:
        return f"Aggregate({self.mode}, {self.devices} devices)"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        keep = self.present
        if self.mode == "concat":
            mask = keep.reshape((1, -1) + (1,) * (x.ndim - 2)).astype(x.dtype)
            y = x * mask
            return y.reshape(x.shape[0], -1, *x.shape[3:]), (x.shape, mask)
        alive = x[:, keep]
        if self.mode == "average":
            return alive.mean(axis=1), (x.shape, keep)
        arg = np.argmax(alive, axis=1)
        return np.take_along_axis(alive, arg[:, None], axis=1)[:, 0], (x.shape, keep, arg)

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        shape = cache[0]
        if self.mode == "concat":
            return grad_y.reshape(shape) * cache[1], {}
        keep = cache[1]
        grad = np.zeros(shape, dtype=grad_y.dtype)
        if self.mode == "average":
            grad[:, keep] = (grad_y / keep.sum())[:, None]
            return grad, {}
        alive = np.zeros((shape[0], int(keep.sum()), *shape[2:]), dtype=grad_y.dtype)
        np.put_along_axis(alive, cache[2][:, None], grad_y[:, None], axis=1)
        grad[:, keep] = alive
        return grad, {}

    def output_shape(self, shape: Shape) -> Shape:
        if shape[0] != self.devices:
            raise InputError(f"{self!r} expects ({self.devices}, ...) per sample, got {shape}")
        if self.mode == "concat":
            return (self.devices * shape[1], *shape[2:])
        return tuple(shape[1:])

    def flops(self, shape: Shape) -> int:
        return self.devices * numel(self.output_shape(shape)) if self.mode == "average" else 0


# ---------------------------------------------------------------------------- the wire
def pack_features(features: np.ndarray) -> np.ndarray:
    """±1 feature maps (N, ...) as bits, one row of ``ceil(numel/8)`` bytes per sample."""
    return np.packbits(features.reshape(len(features), -1) > 0, axis=1)


def unpack_features(packed: np.ndarray, shape: Shape, dtype: Any) -> np.ndarray:
    """The ±1 feature maps of :func:`pack_features` back, per-sample ``shape``."""
    bits = np.unpackbits(packed, axis=1, count=numel(shape))
    return (bits.astype(dtype) * 2 - 1).reshape(len(packed), *shape)


# ------------------------------------------------------------------------------- the model
def conv_block(
    c_in: int,
    filters: int,
    activation: Module,
    rng: np.random.Generator,
    dtype: Any,
    lazy: bool = False,
) -> list[Module]:
    """DDNN's ConvP block: 3×3 "same" convolution, 2×2 max-pool, then the activation
    (binary on the end devices, ReLU above them)."""
    conv = Conv2d(c_in, filters, 3, padding=1, rng=rng, dtype=dtype, lazy=lazy)
    return [conv, MaxPool2d(2), activation]


def classifier(
    shape: Shape, classes: int, rng: np.random.Generator, dtype: Any, lazy: bool = False
) -> Sequential:
    """Flatten and an FC layer to ``classes`` scores."""
    return Sequential([Flatten(), Linear(numel(shape), classes, rng=rng, dtype=dtype, lazy=lazy)])


class DDNN:
    """``V`` end-device models with local classifiers, the local aggregator, an optional edge
    tier and the cloud tier.

    Attributes:
        devices: per device its ConvP block (binary or ReLU activation).
        local_heads: per device its local classifier.
        local_aggregate: aggregation of the devices' class scores (+ ``local_fc`` for CC).
        upper_aggregate: aggregation of the devices' feature maps for the edge or the cloud.
        edge, edge_head: the edge's ConvP block and classifier (None without an edge exit).
        cloud: the cloud's ConvP block, Flatten and classifier.
    """

    def __init__(
        self,
        devices: Sequence[Sequential],
        local_heads: Sequence[Sequential],
        local_aggregate: Aggregate,
        local_fc: Sequential | None,
        upper_aggregate: Aggregate,
        edge: Sequential | None,
        edge_head: Sequential | None,
        cloud: Sequential,
        feature_shape: Shape,
        binary: bool,
    ) -> None:
        self.shared = all(d is devices[0] for d in devices) and len(devices) > 1
        self.devices = list(devices)
        self.local_heads = list(local_heads)
        self.local_aggregate = local_aggregate
        self.local_fc = local_fc
        self.upper_aggregate = upper_aggregate
        self.edge = edge
        self.edge_head = edge_head
        self.cloud = cloud
        self.feature_shape = tuple(feature_shape)
        self.binary = binary

    @property
    def tiers(self) -> list[str]:
        """The exits, bottom up."""
        return ["local", "edge", "cloud"] if self.edge is not None else ["local", "cloud"]

    def _modules(self) -> list[tuple[str, Module]]:
        named: list[tuple[str, Module]] = []
        pairs = zip(self.devices, self.local_heads, strict=True)
        for v, (d, h) in enumerate(list(pairs)[:1] if self.shared else pairs):
            named += [(self._device_name(v), d), (self._local_name(v), h)]
        if self.local_fc is not None:
            named.append(("local_fc", self.local_fc))
        if self.edge is not None and self.edge_head is not None:
            named += [("edge", self.edge), ("edge_head", self.edge_head)]
        named.append(("cloud", self.cloud))
        return named

    def _device_name(self, v: int) -> str:
        return "device" if self.shared else f"device{v}"

    def _local_name(self, v: int) -> str:
        return "local" if self.shared else f"local{v}"

    def parameters(self) -> Params:
        """Every live parameter array, by ``<part>.<layer>.<name>`` (one ``device`` and one
        ``local`` part when the devices share their weights)."""
        return {f"{p}.{k}": v for p, m in self._modules() for k, v in m.parameters().items()}

    def set_present(self, present: np.ndarray) -> None:
        """Which devices answer (a failed device is missing from both aggregations)."""
        present = np.asarray(present, dtype=bool)
        if present.shape != (len(self.devices),) or not present.any():
            raise InputError("at least one end device must be present")
        self.local_aggregate.present = present
        self.upper_aggregate.present = present

    # ---------------------------------------------------------------------------- training
    def _device_outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Feature maps (N, V, f, h, w) and class scores (N, V, C) of every device."""
        feats, scores, caches = [], [], []
        for v, (device, head) in enumerate(zip(self.devices, self.local_heads, strict=True)):
            f, fc = device.forward(x[:, v])
            z, hc = head.forward(f)
            feats.append(f)
            scores.append(z)
            caches.append((fc, hc))
        return np.stack(feats, axis=1), np.stack(scores, axis=1), caches

    def _local(self, scores: np.ndarray) -> tuple[np.ndarray, Any]:
        z, ac = self.local_aggregate.forward(scores)
        if self.local_fc is None:
            return z, (ac, None)
        z, fc = self.local_fc.forward(z)
        return z, (ac, fc)

    def _local_backward(self, g: np.ndarray, cache: Any) -> tuple[np.ndarray, Params]:
        ac, fc = cache
        grads: Params = {}
        if self.local_fc is not None:
            g, gf = self.local_fc.backward(g, fc)
            grads.update({f"local_fc.{k}": v for k, v in gf.items()})
        g, _ = self.local_aggregate.backward(g, ac)
        return g, grads

    def joint_loss(
        self, x: np.ndarray, y: np.ndarray, weights: Sequence[float]
    ) -> tuple[float, Params]:
        """``Σ_tier w_tier · CE(exit_tier)`` over views ``x`` (N, V, C, H, W) and gradients."""
        feats, scores, dev_caches = self._device_outputs(x)
        z_local, local_cache = self._local(scores)
        upper, up_cache = self.upper_aggregate.forward(feats)
        logits = [z_local]
        edge_cache = head_cache = None
        h = upper
        if self.edge is not None and self.edge_head is not None:
            h, edge_cache = self.edge.forward(upper)
            z_edge, head_cache = self.edge_head.forward(h)
            logits.append(z_edge)
        z_cloud, cloud_cache = self.cloud.forward(h)
        logits.append(z_cloud)
        total, gz = 0.0, []
        for z, w in zip(logits, weights, strict=True):
            loss, g = softmax_cross_entropy(z, y)
            total += w * loss
            gz.append((w * g).astype(z.dtype, copy=False))
        grads: Params = {}
        g, gc = self.cloud.backward(gz[-1], cloud_cache)
        grads.update({f"cloud.{k}": v for k, v in gc.items()})
        if self.edge is not None and self.edge_head is not None:
            gh, ghh = self.edge_head.backward(gz[1], head_cache)
            grads.update({f"edge_head.{k}": v for k, v in ghh.items()})
            g, ge = self.edge.backward(g + gh, edge_cache)
            grads.update({f"edge.{k}": v for k, v in ge.items()})
        g_feats, _ = self.upper_aggregate.backward(g, up_cache)
        g_scores, gl = self._local_backward(gz[0], local_cache)
        grads.update(gl)
        for v, (device, head) in enumerate(zip(self.devices, self.local_heads, strict=True)):
            fc, hc = dev_caches[v]
            gf, gh = head.backward(g_scores[:, v], hc)
            _add(grads, self._local_name(v), gh)
            _, gd = device.backward(g_feats[:, v] + gf, fc)
            _add(grads, self._device_name(v), gd)
        return total, grads

    def train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        weights: Sequence[float],
        *,
        epochs: int,
        batch_size: int,
        lr: float,
        rng: np.random.Generator,
        momentum: float = 0.9,
    ) -> list[float]:
        """SGD with momentum on the joint loss, every device present; per-epoch mean loss."""
        self.set_present(np.ones(len(self.devices), dtype=bool))
        return train_epochs(
            self.parameters(),
            lambda xb, yb: self.joint_loss(xb, yb, weights),
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            rng=rng,
            momentum=momentum,
        )

    # --------------------------------------------------------------------------- inference
    def infer(
        self, x: np.ndarray, thresholds: Sequence[float], present: np.ndarray | None = None
    ) -> DdnnRun:
        """Route every object of ``x`` (N, V, C, H, W) through the exits: leave at the first
        tier whose normalized entropy is below its threshold (one per tier but the cloud).

        The feature maps the devices send go through :func:`pack_features` and back when
        binary, as they would on the wire. Every tier's classifier is also evaluated on every
        sample, for the per-exit accuracies the paper reports."""
        tiers = self.tiers
        if len(thresholds) != len(tiers) - 1:
            raise ValueError(f"{len(tiers) - 1} thresholds expected, got {len(thresholds)}")
        present = np.ones(len(self.devices), dtype=bool) if present is None else present
        self.set_present(present)
        feats, scores, _ = self._device_outputs(x)
        wire_exact = True
        if self.binary:
            sent = np.stack(
                [
                    unpack_features(pack_features(feats[:, v]), self.feature_shape, feats.dtype)
                    for v in range(len(self.devices))
                ],
                axis=1,
            )
            wire_exact = bool(np.array_equal(sent, feats))
            feats = sent
        p_tiers = [softmax(self._local(scores)[0])]
        upper = self.upper_aggregate(feats)
        h = upper
        if self.edge is not None and self.edge_head is not None:
            h = self.edge(upper)
            p_tiers.append(softmax(self.edge_head(h)))
        p_tiers.append(softmax(self.cloud(h)))
        return route(p_tiers, thresholds, tiers, wire_exact)


def _add(grads: Params, prefix: str, new: Params) -> None:
    """Add ``new`` under ``prefix`` (devices sharing weights sum their gradients)."""
    for k, v in new.items():
        key = f"{prefix}.{k}"
        grads[key] = grads[key] + v if key in grads else v


def route(
    tier_proba: list[np.ndarray], thresholds: Sequence[float], tiers: list[str], wire_exact: bool
) -> DdnnRun:
    """Send every sample out at the first tier whose normalized entropy is below its
    threshold (the last tier takes the rest), from every tier's probabilities: the same
    decisions :meth:`DDNN.infer` makes, for other thresholds without recomputing."""
    n = len(tier_proba[0])
    exit_of = np.full(n, len(tiers) - 1, dtype=np.int64)
    undecided = np.ones(n, dtype=bool)
    for t, threshold in enumerate(thresholds):
        leave = undecided & (normalized_entropy(tier_proba[t]) < threshold)
        exit_of[leave] = t
        undecided &= ~leave
    proba = np.stack(tier_proba)[exit_of, np.arange(n)]
    return DdnnRun(exit_of, proba, tier_proba, tiers, wire_exact)


@dataclass(frozen=True)
class DdnnRun:
    """Where every object left, its answer, and every tier's answer.

    Attributes:
        exit: tier index each sample left at (0 local, then edge if any, last the cloud).
        proba: the probabilities of the tier each sample left at.
        tier_proba: every tier's probabilities for every sample.
        tiers: the tier names.
        wire_exact: the binary feature maps came back from their bits unchanged.
    """

    exit: np.ndarray
    proba: np.ndarray
    tier_proba: list[np.ndarray]
    tiers: list[str]
    wire_exact: bool

    def fractions(self) -> np.ndarray:
        return np.bincount(self.exit, minlength=len(self.tiers)) / len(self.exit)

    def accuracy(self, y: np.ndarray) -> float:
        return float(np.mean(np.argmax(self.proba, axis=1) == y))

    def tier_accuracy(self, y: np.ndarray) -> list[float]:
        """Accuracy of each tier's classifier on every sample (the paper's per-exit
        accuracy, as if every sample left there)."""
        return [float(np.mean(np.argmax(p, axis=1) == y)) for p in self.tier_proba]


def build_ddnn(
    input_shape: Shape,
    views: int,
    classes: int,
    *,
    device_filters: int,
    edge_filters: int | None,
    cloud_filters: int,
    local_aggregation: str,
    upper_aggregation: str,
    binary: bool,
    shared: bool,
    rng: np.random.Generator,
    dtype: Any = np.float32,
    lazy: bool = False,
) -> DDNN:
    """A DDNN for ``views`` devices seeing ``input_shape`` (C, H, W) images; ``edge_filters``
    None leaves out the edge tier; ``shared`` gives every device the same weights (one model
    trained on every view) instead of a model of its own; ``lazy`` leaves the weights undrawn
    until used (for profiling from shapes alone)."""
    c, h, w = input_shape
    if h < 2 or w < 2:
        raise InputError(f"images must be at least 2x2 for the devices' pooling, got {h}x{w}")
    feature = (device_filters, h // 2, w // 2)
    devices, heads = [], []
    for _ in range(1 if shared else views):
        act: Module = Binarize() if binary else ReLU()
        devices.append(Sequential(conv_block(c, device_filters, act, rng, dtype, lazy)))
        heads.append(classifier(feature, classes, rng, dtype, lazy))
    if shared:
        devices, heads = devices * views, heads * views
    local_agg = Aggregate(local_aggregation, views)
    local_fc = (
        Sequential([Linear(views * classes, classes, rng=rng, dtype=dtype, lazy=lazy)])
        if local_aggregation == "concat"
        else None
    )
    upper_agg = Aggregate(upper_aggregation, views)
    shape = upper_agg.output_shape((views, *feature))
    edge = edge_head = None
    if edge_filters is not None:
        edge = Sequential(conv_block(shape[0], edge_filters, ReLU(), rng, dtype, lazy))
        shape = edge.output_shape(shape)
        edge_head = classifier(shape, classes, rng, dtype, lazy)
    cloud_block = conv_block(shape[0], cloud_filters, ReLU(), rng, dtype, lazy)
    top = Sequential(cloud_block).output_shape(shape)
    cloud = Sequential([*cloud_block, *classifier(top, classes, rng, dtype, lazy).layers])
    return DDNN(
        devices, heads, local_agg, local_fc, upper_agg, edge, edge_head, cloud, feature, binary
    )
