"""The numerics of local training: every client of a round runs its SGD steps at once.

Pure numpy (the kernel view of docs/architecture.md §1). A model is a
:class:`clustersim.nn.Sequential`; its parameters live in one flat float64 vector per client,
laid out by a :class:`ParamLayout` (any model) or a :class:`DenseStack` (an
:func:`clustersim.nn.mlp`; multinomial logistic regression is ``mlp([features, classes])``), so
that a round's clients are a ``(clients, parameters)`` array and aggregation is arithmetic on
rows.

:func:`local_sgd` trains all the clients of a round in lock step: step ``s`` takes minibatch
``s`` of every client that still has one, through the layers as batched matrix products
(``(clients, batch, in) @ (clients, in, out)``). That is the same arithmetic as running
:class:`clustersim.nn.Sequential`'s forward and backward on each client in turn
(``tests/federated/test_kernels.py`` holds the two against each other), but one numpy call per
layer serves every client, which makes a round of a hundred clients cost about as much as one:
a per-client loop through ``nn`` costs about 60 µs per minibatch step, while this costs about
that per step for all clients together. Clients are sorted by their number of steps, so the
clients still training at step ``s`` are a prefix of the array and are updated through views.
Models that are not MLPs (the small CNN) train client by client through ``nn`` itself
(:func:`local_sgd_nn`), the same SGD on the same minibatches.

Local objectives (:data:`OBJECTIVES`) are small functions that add their term's gradient to
the cross-entropy gradient: ``cross_entropy`` adds nothing (FedAvg, McMahan et al. 2017,
Algorithm 1, ClientUpdate); ``proximal`` adds ``μ (w - w^t)``, the gradient of FedProx's
``(μ/2)‖w - w^t‖²`` (Li et al. 2020, Algorithm 2; the lecture notes' ``h_k(w; w^t)``), as
FedProx's ``PerturbedGradientDescent`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.nn import Sequential, mlp, softmax_cross_entropy

__all__ = [
    "OBJECTIVES",
    "DenseStack",
    "Layout",
    "ParamLayout",
    "Regulariser",
    "client_batches",
    "evaluate",
    "full_gradient",
    "local_sgd",
    "local_sgd_nn",
    "proximal",
]

Regulariser = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
"""``(grad, w, w_start)``: add a local objective's extra gradient to ``grad`` in place."""


def proximal(mu: float) -> Regulariser | None:
    """FedProx's proximal term ``(μ/2)‖w - w^t‖²``: its gradient ``μ (w - w^t)``."""

    def add(grad: np.ndarray, w: np.ndarray, w_start: np.ndarray) -> None:
        grad += mu * (w - w_start)

    return add


def _cross_entropy(mu: float) -> Regulariser | None:
    """The plain local loss: nothing to add."""
    return None


OBJECTIVES: dict[str, Callable[[float], Regulariser | None]] = {
    "cross_entropy": _cross_entropy,
    "proximal": proximal,
}
"""Local objective name -> a factory taking ``μ`` and returning its regulariser (or None)."""


@dataclass(frozen=True)
class ParamLayout:
    """Where every named parameter of an ``nn`` model lives in one flat vector, in the order of
    ``model.parameter_shapes()``."""

    shapes: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def of(cls, model: Sequential) -> ParamLayout:
        return cls(tuple((n, tuple(s)) for n, s in model.parameter_shapes().items()))

    @property
    def size(self) -> int:
        return sum(math.prod(s) for _, s in self.shapes)

    def names(self) -> list[str]:
        return [n for n, _ in self.shapes]

    def params(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """The nn parameter dict of a (P,) vector, as views."""
        out, start = {}, 0
        for name, shape in self.shapes:
            size = math.prod(shape)
            out[name] = flat[start : start + size].reshape(shape)
            start += size
        return out

    def flatten(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """A (P,) float64 vector of the nn parameters (or gradients) ``params``."""
        return np.concatenate(
            [np.asarray(params[n], dtype=np.float64).ravel() for n in self.names()]
        )


@dataclass(frozen=True)
class DenseStack:
    """Where the weights of an ``mlp(sizes)`` live in a flat parameter vector.

    Layer ``i`` is ``Linear(sizes[i], sizes[i + 1])``, named ``{2i}.weight`` / ``{2i}.bias`` in
    the :class:`~clustersim.nn.Sequential` :func:`~clustersim.nn.mlp` builds, followed by a ReLU
    except for the last. The flat vector holds each layer's weight (row-major) then its bias.
    """

    sizes: tuple[int, ...]

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def offsets(self) -> list[tuple[int, int, int]]:
        """Per layer: (start of its weight, start of its bias, end of its bias)."""
        out, start = [], 0
        for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            out.append((start, start + a * b, start + a * b + b))
            start += a * b + b
        return out

    @property
    def size(self) -> int:
        """Number of parameters."""
        return self.offsets[-1][2]

    def names(self) -> list[str]:
        """The nn parameter names, in flat order."""
        return [f"{2 * i}.{p}" for i in range(self.layers) for p in ("weight", "bias")]

    def views(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight, bias) views of each layer into ``flat`` of shape (P,) or (clients, P)."""
        lead = flat.shape[:-1]
        out = []
        for (w0, b0, b1), a, b in zip(self.offsets, self.sizes[:-1], self.sizes[1:], strict=True):
            out.append((flat[..., w0:b0].reshape(*lead, a, b), flat[..., b0:b1]))
        return out

    def params(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """The nn parameter dict of a (P,) vector, as views."""
        out = {}
        for i, (w, b) in enumerate(self.views(flat)):
            out[f"{2 * i}.weight"], out[f"{2 * i}.bias"] = w, b
        return out

    def flatten(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """A (P,) float64 vector of the nn parameters ``params``."""
        return np.concatenate(
            [np.asarray(params[n], dtype=np.float64).ravel() for n in self.names()]
        )

    def model(self, rng: np.random.Generator) -> Sequential:
        """The :func:`~clustersim.nn.mlp` these weights belong to, He-initialised from ``rng``."""
        return mlp(list(self.sizes), rng=rng)


Layout = ParamLayout | DenseStack
"""Either layout: ``size``, ``names()``, ``params(flat)`` and ``flatten(params)``."""


def client_batches(
    rng: np.random.Generator, samples: np.ndarray, epochs: int, batch: int
) -> np.ndarray:
    """(epochs · ceil(n / batch), batch) sample indices of one client's local epochs.

    Every epoch is a fresh random permutation of the client's ``samples`` cut into minibatches
    of ``batch``; the last minibatch of an epoch holds the remainder and is padded with -1 (as
    FedProx's ``batch_data`` and McMahan et al.'s ``u = E n / B`` updates per round count it).
    """
    n = samples.size
    per_epoch = -(-n // batch)
    out = np.full((epochs, per_epoch * batch), -1, dtype=np.int64)
    for e in range(epochs):
        out[e, :n] = samples[rng.permutation(n)]
    return out.reshape(epochs * per_epoch, batch)


def local_sgd(
    stack: DenseStack,
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    batches: Sequence[np.ndarray],
    lr: float,
    regulariser: Regulariser | None = None,
    class_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Plain minibatch SGD from ``start`` on every client; returns the (clients, P) weights.

    ``batches[k]`` is client ``k``'s (steps_k, batch) index array (-1 = padding, see
    :func:`client_batches`; all clients share one batch width). Each step minimises the mean
    cross-entropy of the minibatch's valid samples (plus the regulariser's term, with ``w^t`` =
    ``start``): ``w <- w - lr · (∇ + extra)``.

    ``class_mask`` (clients, classes) restricts each client's loss to the classes it holds
    (HeteroFL's masking trick for non-IID data): the other logits are set to 0 before the
    softmax and get no gradient.
    """
    clients = len(batches)
    steps = np.array([b.shape[0] for b in batches], dtype=np.int64)
    order = np.argsort(-steps, kind="stable")
    width = max((b.shape[1] for b in batches), default=1)
    total = int(steps.max(initial=0))
    index = np.full((total, clients, width), -1, dtype=np.int64)
    for slot, k in enumerate(order.tolist()):
        index[: steps[k], slot, : batches[k].shape[1]] = batches[k]
    active = (steps[order][None, :] > np.arange(total)[:, None]).sum(axis=1)  # clients at step s
    valid = index >= 0
    counts = valid.sum(axis=2)
    # steps where every active client has a whole minibatch: the mean is a plain 1/width
    full = ((counts == width) | (np.arange(clients)[None, :] >= active[:, None])).all(axis=1)
    classes = stack.sizes[-1]
    # where each sample's true class sits in the step's flattened (clients, batch, classes)
    labels = y[np.maximum(index, 0)]
    target = (np.arange(clients * width).reshape(clients, width) * classes)[None] + labels
    w = np.repeat(start[None, :], clients, axis=0)
    grad = np.empty_like(w)
    last = stack.layers - 1
    held = None if class_mask is None else np.asarray(class_mask, dtype=bool)[order]
    # segments of steps with the same number of active clients share their views
    bounds = np.flatnonzero(np.diff(active)) + 1
    for s0, s1 in zip([0, *bounds.tolist()], [*bounds.tolist(), total], strict=True):
        m = int(active[s0])
        if m == 0:
            continue
        # one client left: plain 2-D arrays (a 2-D matmul costs a third of a batched one)
        rows = 0 if m == 1 else slice(0, m)
        w_m, grad_m = w[rows], grad[rows]
        layers = stack.views(w_m)
        weights_t = [wl.swapaxes(-1, -2) for wl, _ in layers]
        biases = [bl[..., None, :] for _, bl in layers]
        grad_layers = stack.views(grad_m)
        keep = None
        if held is not None:
            keep = held[rows][None, :] if m == 1 else held[:m][:, None, :]
        for s in range(s0, s1):
            idx = index[s, rows]
            if full[s]:
                scale: float | np.ndarray = 1.0 / width
            else:
                scale = (valid[s, rows] / np.maximum(counts[s, rows], 1)[..., None])[..., None]
                idx = np.maximum(idx, 0)
            h = x[idx]
            inputs, masks = [], []
            for i in range(last + 1):
                inputs.append(h)
                h = np.matmul(h, layers[i][0])
                h += biases[i]
                if i < last:
                    mask = h > 0
                    h *= mask
                    masks.append(mask)
            # the gradient of each client's minibatch-mean softmax cross-entropy (logits)
            if keep is not None:
                h *= keep
            h -= h.max(axis=-1, keepdims=True)
            np.exp(h, out=h)
            h /= h.sum(axis=-1, keepdims=True)
            h.reshape(-1)[target[s, rows].ravel()] -= 1.0
            if keep is not None:
                h *= keep
            h *= scale
            g = h
            for i in range(last, -1, -1):
                gw, gb = grad_layers[i]
                np.matmul(inputs[i].swapaxes(-1, -2), g, out=gw)
                g.sum(axis=-2, out=gb)
                if i:
                    g = np.matmul(g, weights_t[i])
                    g *= masks[i - 1]
            if regulariser is not None:
                regulariser(grad_m, w_m, start)
            grad_m *= lr
            w_m -= grad_m
    out = np.empty_like(w)
    out[order] = w
    return out


def local_sgd_nn(
    model: Sequential,
    layout: Layout,
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    batches: Sequence[np.ndarray],
    lr: float,
    regulariser: Regulariser | None = None,
    input_shape: Sequence[int] | None = None,
    class_mask: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`local_sgd` for any ``nn`` model, client by client through its own forward and
    backward passes; ``x`` rows are reshaped to ``input_shape`` (e.g. (C, H, W))."""
    shape = tuple(input_shape) if input_shape is not None else x.shape[1:]
    out = np.repeat(start[None, :], len(batches), axis=0)
    for k, steps in enumerate(batches):
        w = out[k]
        params = layout.params(w)
        for row in steps:
            rows = row[row >= 0]
            logits, cache = model.forward(x[rows].reshape(-1, *shape), params)
            if class_mask is not None:
                logits = logits * class_mask[k]
            _, grad = softmax_cross_entropy(logits, y[rows])
            if class_mask is not None:
                grad *= class_mask[k]
            _, grads = model.backward(grad, cache, params)
            flat = layout.flatten(grads)
            if regulariser is not None:
                regulariser(flat, w, start)
            flat *= lr
            w -= flat
    return out


def full_gradient(
    model: Sequential,
    stack: Layout,
    flat: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    input_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """∇ of the mean cross-entropy over ``(x, y)`` at ``flat``, through ``nn``'s own backward
    pass (an implementation independent of :func:`local_sgd`)."""
    params = stack.params(flat)
    shape = tuple(input_shape) if input_shape is not None else x.shape[1:]
    logits, cache = model.forward(x.reshape(-1, *shape), params)
    _, grad = softmax_cross_entropy(logits, y)
    _, grads = model.backward(grad, cache, params)
    return stack.flatten(grads)


def evaluate(
    model: Sequential,
    stack: Layout,
    flat: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    input_shape: Sequence[int] | None = None,
    chunk: int = 65536,
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the weights ``flat`` on ``(x, y)`` (nn's forward)."""
    params = stack.params(flat)
    shape = tuple(input_shape) if input_shape is not None else x.shape[1:]
    loss, correct = 0.0, 0
    for a in range(0, y.size, chunk):
        logits = model.forward(x[a : a + chunk].reshape(-1, *shape), params)[0]
        part, _ = softmax_cross_entropy(logits, y[a : a + chunk], normalizer=1.0)
        loss += part
        correct += int(np.count_nonzero(np.argmax(logits, axis=1) == y[a : a + chunk]))
    n = max(int(y.size), 1)
    return loss / n, correct / n
