"""The numerics of gradient leakage: a small MLP, its gradient, and the attacks on it.

Pure numpy (the kernel view of docs/architecture.md §1).

**The model** (:class:`SmoothMLP`): fully connected layers ``Z_l = H_l W_l + b_l`` with an
activation between them (``sigmoid``, ``tanh`` or ``relu``) and softmax cross-entropy on the
logits. Deep Leakage from Gradients (Zhu, Liu & Han, NeurIPS 2019, §4) attacks a model whose
activations are twice differentiable (it replaces LeNet's ReLUs by sigmoids), and initialises
it the way its released code does, every weight and bias ``~ U(-0.5, 0.5)``
(:func:`init_params`; from memory of the code's ``weights_init``, not re-checked). The loss
of a batch of ``B`` samples with (soft) labels ``Y`` is
``ℓ = -(1/B) Σ_b Σ_c Y_bc log softmax(Z_L)_bc``; its backward pass (:func:`gradients`) is
``G_L = (P - Y)/B``, ``∇W_l = H_lᵀ G_l``, ``∇b_l = Σ_b G_l``,
``G_{l-1} = (G_l W_lᵀ) ⊙ σ'(Z_{l-1})``. Leading axes before the batch are independent
problems (a round's clients), so the utility training computes every client at once.

**The analytic attack** (:func:`analytic_input`): for a first fully connected layer with a
bias and a batch of one, ``∇W_1 = x δᵀ`` and ``∇b_1 = δ`` (here ``W`` is (in, out), so column
``i`` of ``∇W_1`` is ``x · δ_i``), hence ``x = ∇W_1[:, i] / ∇b_1[i]`` for any ``i`` with
``δ_i ≠ 0`` (Phong, Aono, Hayashi, Wang & Moriai, "Privacy-Preserving Deep Learning via
Additively Homomorphic Encryption", IEEE TIFS 2018, §III; the issue's formula): the unit
with the largest ``|∇b_1[i]|`` is used. With ``B > 1`` the ratio is the ``δ_i``-weighted blend
``Σ_b δ_bi x_b / Σ_b δ_bi`` of the batch. The label of a single sample follows from the sign
of the last layer's gradient (Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from
Gradients", arXiv:2001.02610, 2020, §3): ``∂ℓ/∂z_c = p_c - y_c`` is negative only for the true
class (:func:`analytic_label`).

**DLG** (Zhu et al. 2019, Algorithm 1): dummy inputs ``x'`` and label logits ``y'`` (soft label
``softmax(y')``), both ``~ N(0, 1)``, are optimised so that their gradient matches the
transmitted one: ``min D = Σ_l ‖∇W_l(x', y') - ∇W_l‖² + ‖∇b_l(x', y') - ∇b_l‖²``, with L-BFGS
(:mod:`clustersim.federated.leakage.lbfgs`). ``∂D/∂x'`` and ``∂D/∂y'`` need the derivative of
the backward pass itself ("double backprop", Drucker & Le Cun, IEEE TNN 3(6), 1992), written
out by hand in :func:`matching`: the reverse of the backward pass (layer by layer upwards,
through ``σ''``), the softmax of the labels, then the reverse of the forward pass; the tests
hold it to central finite differences.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "PSNR_CAP_DB",
    "Grads",
    "Params",
    "SmoothMLP",
    "analytic_input",
    "analytic_label",
    "best_match",
    "flatten",
    "gradients",
    "init_params",
    "logits",
    "matching",
    "psnr",
    "soft_labels",
    "unflatten",
]

Params = list[tuple[np.ndarray, np.ndarray | None]]
"""Per layer ``(W (in, out), b (out,) or None)``."""
Grads = list[tuple[np.ndarray, np.ndarray | None]]
"""Per layer ``(∇W, ∇b)``, shaped like :data:`Params` (with leading problem axes, if any)."""


def _sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z) without overflow
    d = s * (1.0 - s)
    return s, d, d * (1.0 - 2.0 * s)


def _tanh(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.tanh(z)
    d = 1.0 - t * t
    return t, d, -2.0 * t * d


def _relu(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    on = (z > 0).astype(z.dtype)
    return z * on, on, np.zeros_like(z)


ACTIVATIONS: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": _relu,
}
"""Activation name -> ``z -> (σ(z), σ'(z), σ''(z))``."""


@dataclass(frozen=True)
class SmoothMLP:
    """An MLP ``sizes[0] -> ... -> sizes[-1]`` (logits) with ``activation`` between layers;
    ``bias`` for every layer or none."""

    sizes: tuple[int, ...]
    activation: str = "sigmoid"
    bias: bool = True

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def parameters(self) -> int:
        return sum((a + int(self.bias)) * b for a, b in itertools.pairwise(self.sizes))

    def shapes(self) -> list[tuple[tuple[int, int], tuple[int] | None]]:
        """Per layer the weight's and the bias's shape."""
        return [((a, b), (b,) if self.bias else None) for a, b in itertools.pairwise(self.sizes)]

    def forward_flops(self, batch: int) -> float:
        """FLOP of the forward matrix products of a batch (a multiply-add is 2)."""
        return 2.0 * batch * sum(a * b for a, b in itertools.pairwise(self.sizes))


def init_params(model: SmoothMLP, rng: np.random.Generator) -> Params:
    """Every weight and bias ``~ U(-0.5, 0.5)``, as DLG's code initialises its models."""
    out: Params = []
    for w_shape, b_shape in model.shapes():
        w = rng.uniform(-0.5, 0.5, size=w_shape)
        b = rng.uniform(-0.5, 0.5, size=b_shape) if b_shape is not None else None
        out.append((w, b))
    return out


def flatten(grads: Grads) -> np.ndarray:
    """One flat vector of every weight and bias (the wire order: W_1, b_1, W_2, ...)."""
    parts = []
    for w, b in grads:
        parts.append(w.reshape(-1))
        if b is not None:
            parts.append(b.reshape(-1))
    return np.concatenate(parts)


def unflatten(flat: np.ndarray, model: SmoothMLP) -> Grads:
    """The inverse of :func:`flatten` for a single problem."""
    out: Grads = []
    at = 0
    for w_shape, b_shape in model.shapes():
        n = math.prod(w_shape)
        w = flat[at : at + n].reshape(w_shape)
        at += n
        b = None
        if b_shape is not None:
            b = flat[at : at + b_shape[0]]
            at += b_shape[0]
        out.append((w, b))
    return out


def soft_labels(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class _Tape:
    """What the forward and backward passes leave for the double backward."""

    z: list[np.ndarray]  # pre-activations Z_l (the last are the logits)
    h: list[np.ndarray]  # layer inputs H_l (H_0 = x)
    d1: list[np.ndarray]  # σ'(Z_l) for the hidden layers
    d2: list[np.ndarray]  # σ''(Z_l)
    g: list[np.ndarray]  # G_l = ∂ℓ/∂Z_l
    a: list[np.ndarray]  # A_l = G_{l+1} W_{l+1}ᵀ = ∂ℓ/∂H_{l+1}, for the hidden layers
    p: np.ndarray  # softmax of the logits
    loss: np.ndarray  # per problem


def _passes(model: SmoothMLP, params: Params, x: np.ndarray, y: np.ndarray) -> tuple[Grads, _Tape]:
    """Forward and backward of the mean soft-label cross-entropy; ``x`` is (..., B, in) and
    ``y`` (..., B, classes), rows summing to 1."""
    act = ACTIVATIONS[model.activation]
    h, z, d1, d2 = [x], [], [], []
    for i, (w, b) in enumerate(params):
        zi = h[-1] @ w
        if b is not None:
            zi = zi + b
        z.append(zi)
        if i < model.layers - 1:
            s, ds, dds = act(zi)
            h.append(s)
            d1.append(ds)
            d2.append(dds)
    logits = z[-1]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    p = np.exp(log_p)
    batch = x.shape[-2]
    loss = -(y * log_p).sum(axis=(-1, -2)) / batch
    g: list[np.ndarray] = [np.empty(0)] * model.layers
    a: list[np.ndarray] = [np.empty(0)] * (model.layers - 1)
    g[-1] = (p - y) / batch
    grads: Grads = [(np.empty(0), None)] * model.layers
    for i in range(model.layers - 1, -1, -1):
        w, b = params[i]
        gw = np.swapaxes(h[i], -1, -2) @ g[i]
        grads[i] = (gw, g[i].sum(axis=-2) if b is not None else None)
        if i:
            a[i - 1] = g[i] @ w.T
            g[i - 1] = a[i - 1] * d1[i - 1]
    return grads, _Tape(z, h, d1, d2, g, a, p, loss)


def logits(model: SmoothMLP, params: Params, x: np.ndarray) -> np.ndarray:
    """The model's logits for ``x`` (..., in)."""
    act = ACTIVATIONS[model.activation]
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w if b is None else h @ w + b
        if i < model.layers - 1:
            h = act(h)[0]
    return h


def gradients(
    model: SmoothMLP, params: Params, x: np.ndarray, y: np.ndarray
) -> tuple[Grads, np.ndarray]:
    """The gradient a client computes on ``(x, y)``, and the loss.

    ``y`` holds integer labels (..., B) or soft labels (..., B, classes).
    """
    if y.ndim == x.ndim - 1:
        y = np.eye(model.sizes[-1])[y]
    grads, tape = _passes(model, params, x, y)
    return grads, tape.loss


def matching(
    model: SmoothMLP, params: Params, x: np.ndarray, label_logits: np.ndarray, target: Grads
) -> tuple[float, np.ndarray, np.ndarray]:
    """DLG's matching loss ``D`` of a dummy batch and its gradient: ``(D, ∂D/∂x, ∂D/∂y')``.

    ``x`` is (B, in), ``label_logits`` (B, classes), ``target`` the transmitted gradient.
    """
    y = soft_labels(label_logits)
    grads, t = _passes(model, params, x, y)
    batch = x.shape[0]
    diff = 0.0
    rw: list[np.ndarray] = []
    rb: list[np.ndarray | None] = []
    for (gw, gb), (tw, tb) in zip(grads, target, strict=True):
        ew = gw - tw
        diff += float(np.vdot(ew, ew))
        rw.append(2.0 * ew)
        if gb is not None and tb is not None:
            eb = gb - tb
            diff += float(np.vdot(eb, eb))
            rb.append(2.0 * eb)
        else:
            rb.append(None)
    layers = model.layers
    # reverse of the backward pass, from the first layer's gradients upwards
    gbar = [np.zeros_like(gi) for gi in t.g]
    hbar = [np.zeros_like(hi) for hi in t.h]
    zbar = [np.zeros_like(zi) for zi in t.z]
    for i in range(layers):
        gbar[i] += t.h[i] @ rw[i]
        bias = rb[i]
        if bias is not None:
            gbar[i] += bias
        hbar[i] += t.g[i] @ rw[i].T
        if i < layers - 1:  # G_i = A_i ⊙ σ'(Z_i), A_i = G_{i+1} W_{i+1}ᵀ
            abar = gbar[i] * t.d1[i]
            zbar[i] += gbar[i] * t.a[i] * t.d2[i]
            gbar[i + 1] += abar @ params[i + 1][0]
    # G_L = (P - Y) / B: through the logits' softmax and the labels' softmax
    pbar = gbar[-1] / batch
    ybar = -pbar
    zbar[-1] += t.p * (pbar - (pbar * t.p).sum(axis=-1, keepdims=True))
    label_bar = y * (ybar - (ybar * y).sum(axis=-1, keepdims=True))
    # reverse of the forward pass
    for i in range(layers - 1, -1, -1):
        hbar[i] += zbar[i] @ params[i][0].T
        if i:
            zbar[i - 1] += hbar[i] * t.d1[i - 1]
    return diff, hbar[0], label_bar


def analytic_input(grads: Grads) -> np.ndarray:
    """``x = ∇W_1[:, i] / ∇b_1[i]`` at the unit with the largest ``|∇b_1[i]|``."""
    gw, gb = grads[0]
    if gb is None:
        raise ValueError("the analytic attack needs a bias on the first layer")
    i = int(np.argmax(np.abs(gb)))
    if gb[i] == 0:
        return np.zeros(gw.shape[0])
    return gw[:, i] / gb[i]


def analytic_label(grads: Grads) -> int:
    """iDLG's label of a single sample: the class whose last-layer gradient is negative (the
    bias gradient, or the weight gradient's column sums without a bias)."""
    gw, gb = grads[-1]
    signal = gb if gb is not None else gw.sum(axis=0)
    return int(np.argmin(signal))


def best_match(
    recon: np.ndarray, original: np.ndarray, max_exact: int = 7
) -> tuple[np.ndarray, np.ndarray]:
    """Pair reconstructions with originals: ``(order, mse)`` where ``recon[i]`` is matched to
    ``original[order[i]]`` with per-pair mean squared error ``mse[i]``.

    Exact (every permutation) up to ``max_exact`` samples, greedy on the smallest remaining
    error beyond. A single reconstruction (the analytic attack on a batch) is matched to its
    nearest original.
    """
    cost = ((recon[:, None, :] - original[None, :, :]) ** 2).mean(axis=-1)
    n, m = cost.shape
    if n == 1:
        j = int(np.argmin(cost[0]))
        return np.array([j]), cost[0, [j]]
    if n <= max_exact and n == m:
        perms = np.array(list(itertools.permutations(range(m))))
        total = cost[np.arange(n)[None, :], perms].sum(axis=1)
        order = perms[int(np.argmin(total))]
        return order, cost[np.arange(n), order]
    order = np.full(n, -1)
    work = cost.copy()
    for _ in range(n):
        i, j = np.unravel_index(int(np.argmin(work)), work.shape)
        order[i] = j
        work[i, :] = np.inf
        work[:, j] = np.inf
    return order, cost[np.arange(n), order]


PSNR_CAP_DB = 160.0
"""PSNR of an exact reconstruction: the MSE is floored at ``peak² · 10^-16`` (float64 rounding
of values of size ``peak``), so a perfect match reads 160 dB instead of infinity."""


def psnr(mse: np.ndarray | float, peak: float) -> np.ndarray:
    """Peak signal-to-noise ratio ``10 log10(peak² / MSE)`` in dB, ``peak`` the original's
    dynamic range (max - min), at most :data:`PSNR_CAP_DB`."""
    mse = np.maximum(np.asarray(mse, dtype=float), peak**2 * 10 ** (-PSNR_CAP_DB / 10))
    return 10.0 * np.log10(peak**2 / mse)
