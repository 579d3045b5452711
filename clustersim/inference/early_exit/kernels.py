"""BranchyNet's numerics: a CNN with side exits, trained jointly, that lets confident samples
leave early (numpy only).

Teerapittayanon, McDanel & Kung, "BranchyNet: Fast Inference via Early Exiting from Deep Neural
Networks", ICPR 2016:

* **Model** (§III-A): a main network with side branches ("exits") that read the output of
  chosen main layers; each branch is a few layers ending in a classifier. Here the main network
  is a flat :class:`~clustersim.nn.layers.Sequential` (conv blocks then FC layers) and exit
  ``n`` reads the output of main layer ``after_n``; the main network's own classifier is the
  last exit.
* **Training** (§III-B, the lecture notes' formula): jointly, on
  ``L = Σ_n w_n · CE(ŷ_exit_n, y)``, the weighted sum of every exit's softmax cross-entropy
  (the last exit included). The gradient of a branch flows back into the main network at the
  layer it reads, where it adds to the gradient coming down from the layers above.
* **Inference** (§III-C, Algorithm 1): at exit ``n`` compute ``e = entropy(softmax(z_n))``;
  ``if e < T_n`` the sample leaves with ``argmax``; otherwise it continues; the last exit takes
  whatever is left. The entropy is ``-Σ_c y_c log y_c`` in nats: the notes print
  ``Σ_c y_c log y_c`` without the minus sign, but BranchyNet's code and its thresholds use the
  positive entropy with the natural log, which is what is compared with ``T_n`` here. It lies in
  ``[0, log C]``; a threshold of 0 therefore never lets a sample out early.

Inference is vectorised over the batch and really skips work: after each exit only the samples
that stayed are carried on (row subsets of the activation), so a sample costs exactly the
layers and branches it ran. :class:`ExitRun` records where each sample left.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.errors import InputError
from clustersim.nn.conv import Conv2d
from clustersim.nn.layers import Flatten, Linear, Module, Params, ReLU, Sequential, Shape, numel
from clustersim.nn.losses import softmax, softmax_cross_entropy
from clustersim.nn.pool import MaxPool2d
from clustersim.nn.train import train_epochs

__all__ = [
    "BranchyNet",
    "ExitRun",
    "branch_head",
    "build_branchynet",
    "entropy",
    "main_network",
    "normalized_entropy",
    "route",
]


# ------------------------------------------------------------------------------ confidence
def entropy(p: np.ndarray) -> np.ndarray:
    """``-Σ_c p_c log p_c`` over the last axis, in nats, with ``0 log 0 = 0``.

    Non-negative for every row of a softmax (each term ``-p log p`` is >= 0 in floating point
    too, since ``log p <= 0`` for ``p <= 1``), and at most ``log C``.
    """
    p = np.asarray(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)
    return -terms.sum(axis=-1)


def normalized_entropy(p: np.ndarray) -> np.ndarray:
    """``entropy(p) / log C``, in [0, 1]: DDNN's exit criterion (Teerapittayanon, McDanel &
    Kung, ICDCS 2017, §III-D, eq. 1)."""
    p = np.asarray(p)
    return entropy(p) / np.log(p.shape[-1])


# ------------------------------------------------------------------------------- the model
def main_network(
    input_shape: Sequence[int],
    classes: int,
    channels: Sequence[int],
    hidden: int | None,
    rng: np.random.Generator,
    dtype: Any = np.float32,
    lazy: bool = False,
) -> Sequential:
    """Conv blocks (3×3 "same" convolution, ReLU, 2×2 max-pool) of ``channels`` filters, then
    Flatten, an optional hidden FC layer with ReLU, and the ``classes``-way FC layer: a LeNet /
    AlexNet-like main branch in the spirit of BranchyNet's B-LeNet and B-AlexNet (§IV).
    ``lazy`` leaves the weights undrawn until used (for profiling from shapes alone)."""
    c, h, w = (int(n) for n in input_shape)
    layers: list[Module] = []
    for width in channels:
        conv = Conv2d(c, width, 3, padding=1, rng=rng, dtype=dtype, lazy=lazy)
        layers += [conv, ReLU(), MaxPool2d(2)]
        c, h, w = width, h // 2, w // 2
        if h < 1 or w < 1:
            raise InputError(
                f"{len(channels)} conv blocks halve a {input_shape[1]}x{input_shape[2]} image "
                "below one pixel; use fewer blocks"
            )
    layers.append(Flatten())
    size = c * h * w
    if hidden:
        layers += [Linear(size, hidden, rng=rng, dtype=dtype, lazy=lazy), ReLU()]
        size = hidden
    layers.append(Linear(size, classes, rng=rng, dtype=dtype, lazy=lazy))
    return Sequential(layers)


def branch_head(
    shape: Shape,
    classes: int,
    conv: int,
    rng: np.random.Generator,
    dtype: Any = np.float32,
    lazy: bool = False,
) -> Sequential:
    """An exit branch reading a per-sample activation of ``shape``: an optional conv block of
    ``conv`` filters (3×3 "same", ReLU, and a 2×2 max-pool when the map is at least 2×2), then
    Flatten and the ``classes``-way FC layer (BranchyNet's branches are one or two conv layers
    and an FC classifier, §IV)."""
    layers: list[Module] = []
    if conv and len(shape) == 3:
        c, h, w = shape
        layers += [Conv2d(c, conv, 3, padding=1, rng=rng, dtype=dtype, lazy=lazy), ReLU()]
        if h >= 2 and w >= 2:
            layers.append(MaxPool2d(2))
            h, w = h // 2, w // 2
        shape = (conv, h, w)
    if len(shape) > 1:
        layers.append(Flatten())
    layers.append(Linear(numel(shape), classes, rng=rng, dtype=dtype, lazy=lazy))
    return Sequential(layers)


class BranchyNet:
    """A main network with exits after the main layers ``after`` (ascending, each before the
    last layer), each exit a ``head``; the last exit is the main network's own classifier.

    Parameters are named ``main.<layer>.<name>`` and ``exit<n>.<layer>.<name>``.
    """

    def __init__(self, main: Sequential, after: Sequence[int], heads: Sequence[Sequential]):
        if len(after) != len(heads):
            raise ValueError("one head per exit")
        if list(after) != sorted(set(after)) or (after and after[0] < 0):
            raise ValueError(f"exit positions must be distinct and ascending, got {list(after)}")
        if after and after[-1] >= len(main) - 1:
            raise ValueError("an exit must read a layer before the main network's last one")
        self.main = main
        self.after = [int(a) for a in after]
        self.heads = list(heads)
        bounds = [0, *(a + 1 for a in self.after), len(main)]
        self.segments = [main.slice(a, b) for a, b in itertools.pairwise(bounds)]

    @property
    def exits(self) -> int:
        """Number of exits, the main network's classifier included."""
        return len(self.heads) + 1

    def eval(self) -> BranchyNet:
        """Inference mode for every layer (dropout off)."""
        self.main.eval()
        for head in self.heads:
            head.eval()
        return self

    def parameters(self) -> Params:
        """Every live parameter array, by name."""
        out = {f"main.{k}": v for k, v in self.main.parameters().items()}
        for n, head in enumerate(self.heads):
            out.update({f"exit{n}.{k}": v for k, v in head.parameters().items()})
        return out

    # ---------------------------------------------------------------------------- training
    def forward_all(self, x: np.ndarray) -> tuple[list[np.ndarray], Any]:
        """Every exit's logits for every sample of ``x`` (training: nobody leaves)."""
        logits, seg_caches, head_caches = [], [], []
        h = x
        for n, segment in enumerate(self.segments):
            h, cache = segment.forward(h)
            seg_caches.append(cache)
            if n < len(self.heads):
                z, hc = self.heads[n].forward(h)
                logits.append(z)
                head_caches.append(hc)
        logits.append(h)
        return logits, (seg_caches, head_caches)

    def backward_all(self, grads_z: Sequence[np.ndarray], caches: Any) -> Params:
        """Parameter gradients from the gradient of every exit's logits."""
        seg_caches, head_caches = caches
        out: Params = {}
        g = grads_z[-1]
        for n in reversed(range(len(self.segments))):
            if n < len(self.heads):
                gh, head_grads = self.heads[n].backward(grads_z[n], head_caches[n])
                out.update({f"exit{n}.{k}": v for k, v in head_grads.items()})
                g = g + gh
            g, seg_grads = self.segments[n].backward(g, seg_caches[n])
            out.update({f"main.{k}": v for k, v in seg_grads.items()})
        return out

    def joint_loss(
        self, x: np.ndarray, y: np.ndarray, weights: Sequence[float]
    ) -> tuple[float, Params]:
        """``Σ_n w_n · CE(exit_n)`` (each CE the batch mean) and its parameter gradients."""
        logits, caches = self.forward_all(x)
        total, grads_z = 0.0, []
        for z, w in zip(logits, weights, strict=True):
            loss, g = softmax_cross_entropy(z, y)
            total += w * loss
            grads_z.append((w * g).astype(z.dtype, copy=False))
        return total, self.backward_all(grads_z, caches)

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
        """SGD with momentum on the joint loss; one permutation of the data per epoch from
        ``rng``. Returns the mean joint loss of each epoch."""
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
    def main_proba(self, x: np.ndarray) -> np.ndarray:
        """The main network alone (no exits): softmax of its classifier for every sample."""
        return softmax(self.main(x))

    def infer(self, x: np.ndarray, thresholds: Sequence[float]) -> ExitRun:
        """Algorithm 1 on every sample of ``x``: leave at the first exit ``n`` whose entropy
        is below ``thresholds[n]`` (one per side exit), else at the last exit."""
        if len(thresholds) != len(self.heads):
            raise ValueError(f"{len(self.heads)} thresholds expected, got {len(thresholds)}")
        n_samples = len(x)
        exit_of = np.full(n_samples, len(self.heads), dtype=np.int64)
        proba = np.zeros((n_samples, self.main.output_shape(x.shape[1:])[-1]), dtype=x.dtype)
        ent = np.zeros(n_samples)
        active = np.arange(n_samples)
        reached = []
        h = x
        for n, segment in enumerate(self.segments):
            reached.append(active.size)
            if active.size == 0:
                continue
            h = segment(h)
            if n == len(self.heads):
                p = softmax(h)
                proba[active] = p
                ent[active] = entropy(p)
                break
            p = softmax(self.heads[n](h))
            e = entropy(p)
            leave = e < thresholds[n]
            exit_of[active[leave]] = n
            proba[active[leave]] = p[leave]
            ent[active[leave]] = e[leave]
            active, h = active[~leave], h[~leave]
        return ExitRun(exit_of, proba, ent, reached, self.exits)

    def exit_probabilities(self, x: np.ndarray) -> list[np.ndarray]:
        """Every exit's softmax for every sample (nobody leaves), for :func:`route`."""
        return [softmax(z) for z in self.forward_all(x)[0]]


def route(probas: Sequence[np.ndarray], thresholds: Sequence[float]) -> ExitRun:
    """Algorithm 1's decisions from every exit's probabilities: what :meth:`BranchyNet.infer`
    returns for ``thresholds``, without running the network again (for threshold sweeps)."""
    n = len(probas[0])
    exits = len(probas)
    exit_of = np.full(n, exits - 1, dtype=np.int64)
    undecided = np.ones(n, dtype=bool)
    for k, threshold in enumerate(thresholds):
        leave = undecided & (entropy(probas[k]) < threshold)
        exit_of[leave] = k
        undecided &= ~leave
    proba = np.stack(probas)[exit_of, np.arange(n)]
    reached = [int((exit_of >= k).sum()) for k in range(exits)]
    return ExitRun(exit_of, proba, entropy(proba), reached, exits)


@dataclass(frozen=True)
class ExitRun:
    """Where every sample left and what it answered.

    Attributes:
        exit: the exit each sample left at (0 the first side exit, ``exits - 1`` the main
            network's classifier).
        proba: the softmax of the exit each sample left at.
        entropy: that exit's entropy (nats).
        reached: samples that entered each main segment (segment ``n`` ends at exit ``n``).
        exits: number of exits.
    """

    exit: np.ndarray
    proba: np.ndarray
    entropy: np.ndarray
    reached: list[int]
    exits: int

    @property
    def prediction(self) -> np.ndarray:
        return np.argmax(self.proba, axis=1)

    def fractions(self) -> np.ndarray:
        """Fraction of the samples leaving at each exit."""
        return np.bincount(self.exit, minlength=self.exits) / max(len(self.exit), 1)

    def accuracy(self, y: np.ndarray) -> float:
        return float(np.mean(self.prediction == y))

    def exit_accuracy(self, y: np.ndarray) -> list[float | None]:
        """Accuracy of the samples that left at each exit (None where none did)."""
        out: list[float | None] = []
        for n in range(self.exits):
            mask = self.exit == n
            out.append(float(np.mean(self.prediction[mask] == y[mask])) if mask.any() else None)
        return out


def build_branchynet(
    input_shape: Sequence[int],
    classes: int,
    channels: Sequence[int],
    hidden: int | None,
    exits: Sequence[tuple[int, int]],
    rng: np.random.Generator,
    dtype: Any = np.float32,
    lazy: bool = False,
) -> BranchyNet:
    """The main network of :func:`main_network` and one :func:`branch_head` per
    ``(after, conv_filters)`` of ``exits`` (ascending ``after``), all weights from ``rng``."""
    main = main_network(input_shape, classes, channels, hidden, rng, dtype, lazy)
    shape = tuple(int(n) for n in input_shape)
    shapes = []
    for layer in main.layers:
        shape = layer.output_shape(shape)
        shapes.append(shape)
    heads = [branch_head(shapes[after], classes, conv, rng, dtype, lazy) for after, conv in exits]
    return BranchyNet(main, [after for after, _ in exits], heads)
