"""Tensor parallelism of a transformer block: the numerics of the dense and partitioned block.

Megatron-LM (Shoeybi et al., "Megatron-LM: Training Multi-Billion Parameter Language Models
Using Model Parallelism", arXiv:1909.08053, 2019, §3) splits each block ``t`` ways:

* **MLP** ``Y = GeLU(X·A)·B``: ``A`` by columns, so each rank applies GeLU to its own slice
  with no communication, and ``B`` by rows, so each rank produces a partial ``Y_i`` that one
  all-reduce sums (the ``g`` operator). In the backward pass the input gradient is the sum of
  the ranks' partial ``dX_i``: one more all-reduce (the ``f`` operator).
* **Self-attention** by heads: ``W_Q, W_K, W_V`` by columns, ``W_O`` by rows. This is the
  lecture notes' headwise partition, ``(B, L, E) -> (B, M, L, E/M)``: every head's
  ``softmax(Q·K^T)·V`` is computed where its columns live, "independently over each head M",
  and the output projection's partial sums need one all-reduce forward and one backward.

So a block costs 2 all-reduces of ``B·L·E`` elements forward and 2 backward; a ring all-reduce
sends ``2(t-1)/t`` of its buffer per rank, i.e. ``8·b·s·h·(t-1)/t`` elements per device per
layer (Shoeybi et al. 2019, §3, Fig. 4; the notation b batch, s sequence, h hidden of Narayanan
et al. SC 2021).

For comparison, the **sequence partition** (split along L, the notes' first option) keeps every
weight on every rank and gives each rank ``s/t`` tokens. Each rank can project its own Q, K, V,
but ``Q·K^T`` needs *all* keys, so "partitioning across dimension L requires all-reduce
operation for QK^T computation" (lecture notes): K and V are exchanged with an all-reduce of
the zero-padded ``(B, L, E)`` buffers forward, their gradients summed with one all-reduce each
backward, and the replicated weights' gradients need an all-reduce too (the MLP, row-local,
needs only that). (An all-gather/reduce-scatter pair would halve the K, V traffic; the notes'
all-reduce is what is modelled.)

Kernels are *step generators*: they yield the ``(t, n)`` partial buffers of each collective
and receive the reduced ``(n,)`` buffer back, so the same code runs with ``numpy.sum`` in a
unit test (:func:`drive`) or driven by a simulated all-reduce that replays its own numerics
(:class:`BlockReplay`, fed by :mod:`~clustersim.training.tensor_parallel.process`). Replays run
in float64 without biases, layer norm or dropout (none of which changes how the matrices
split). The closed forms (FLOPs, bytes, each rank's steps) are in
:mod:`~clustersim.training.tensor_parallel.costs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.kinds.contract import check
from clustersim.nn.layers import GELU

__all__ = [
    "BlockReplay",
    "BlockWeights",
    "attention_backward",
    "attention_forward",
    "block_dense",
    "block_megatron",
    "block_sequence",
    "compare",
    "core_forward",
    "drive",
    "mlp_backward",
    "mlp_forward",
]

_GELU = GELU()
Steps = Generator[np.ndarray, np.ndarray, dict[str, Any]]


# ------------------------------------------------------------------------------- weights
@dataclass
class BlockWeights:
    """The matrices of one block: attention ``wq, wk, wv, wo`` (h, h), MLP ``w1`` (h, 4h) and
    ``w2`` (4h, h)."""

    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    wo: np.ndarray
    w1: np.ndarray
    w2: np.ndarray

    @classmethod
    def random(cls, h: int, rng: np.random.Generator) -> BlockWeights:
        """Gaussian weights with standard deviation ``1/sqrt(fan_in)``."""

        def g(a: int, b: int) -> np.ndarray:
            return rng.standard_normal((a, b)) / math.sqrt(a)

        return cls(g(h, h), g(h, h), g(h, h), g(h, h), g(h, 4 * h), g(4 * h, h))

    def names(self) -> tuple[str, ...]:
        return ("wq", "wk", "wv", "wo", "w1", "w2")


# ------------------------------------------------------------------------- dense kernels
def _heads(x: np.ndarray, a: int) -> np.ndarray:
    """(b, s, h) -> (b, a, s, h/a): the notes' (B, L, E) -> (B, M, L, E/M)."""
    b, s, h = x.shape
    return x.reshape(b, s, a, h // a).transpose(0, 2, 1, 3)


def _merge(x: np.ndarray) -> np.ndarray:
    """(b, a, s, d) -> (b, s, a·d)."""
    b, a, s, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, s, a * d)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def core_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, a: int) -> tuple[np.ndarray, Any]:
    """softmax(Q·K^T/sqrt(d))·V per head; q may hold fewer rows (queries) than k and v."""
    qh, kh, vh = _heads(q, a), _heads(k, a), _heads(v, a)
    scale = 1.0 / math.sqrt(qh.shape[-1])
    p = _softmax(qh @ kh.transpose(0, 1, 3, 2) * scale)
    return _merge(p @ vh), (qh, kh, vh, p, scale)


def _core_backward(do: np.ndarray, cache: Any, a: int) -> tuple[np.ndarray, ...]:
    qh, kh, vh, p, scale = cache
    doh = _heads(do, a)
    dp = doh @ vh.transpose(0, 1, 3, 2)
    dv = p.transpose(0, 1, 3, 2) @ doh
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * scale
    dq = ds @ kh
    dk = ds.transpose(0, 1, 3, 2) @ qh
    return _merge(dq), _merge(dk), _merge(dv)


def _xt(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Weight gradient ``X^T·G`` summed over the batch and sequence dimensions."""
    return x.reshape(-1, x.shape[-1]).T @ g.reshape(-1, g.shape[-1])


def attention_forward(
    x: np.ndarray, wq: np.ndarray, wk: np.ndarray, wv: np.ndarray, wo: np.ndarray, heads: int
) -> tuple[np.ndarray, Any]:
    """Multi-head self-attention (no mask); the weights may be column/row slices (some heads)."""
    q, k, v = x @ wq, x @ wk, x @ wv
    o, core = core_forward(q, k, v, heads)
    return o @ wo, (x, o, core)


def attention_backward(
    dy: np.ndarray,
    cache: Any,
    wq: np.ndarray,
    wk: np.ndarray,
    wv: np.ndarray,
    wo: np.ndarray,
    heads: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Input gradient and weight gradients of :func:`attention_forward`."""
    x, o, core = cache
    do = dy @ wo.T
    dq, dk, dv = _core_backward(do, core, heads)
    grads = {"wq": _xt(x, dq), "wk": _xt(x, dk), "wv": _xt(x, dv), "wo": _xt(o, dy)}
    return dq @ wq.T + dk @ wk.T + dv @ wv.T, grads


def mlp_forward(x: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> tuple[np.ndarray, Any]:
    """``GeLU(X·W1)·W2``; ``w1`` may be a column slice and ``w2`` the matching row slice."""
    u = x @ w1
    hdn, gcache = _GELU.forward(u)
    return hdn @ w2, (x, hdn, gcache)


def mlp_backward(
    dy: np.ndarray, cache: Any, w1: np.ndarray, w2: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Input gradient and weight gradients of :func:`mlp_forward`."""
    x, hdn, gcache = cache
    dh = dy @ w2.T
    du, _ = _GELU.backward(dh, gcache)
    return du @ w1.T, {"w1": _xt(x, du), "w2": _xt(hdn, dy)}


def block_dense(
    x: np.ndarray, dy: np.ndarray, w: BlockWeights, heads: int, part: str
) -> dict[str, Any]:
    """The unpartitioned reference: output, input gradient and weight gradients.

    ``part``: ``"attention"`` (``Y = X + Attn(X)``), ``"mlp"`` (``Y = X + MLP(X)``) or
    ``"layer"`` (attention then MLP, each with its residual connection).
    """
    grads: dict[str, np.ndarray] = {}
    y = x
    caches = []
    if part in ("attention", "layer"):
        a, c = attention_forward(y, w.wq, w.wk, w.wv, w.wo, heads)
        caches.append(("attention", c))
        y = y + a
    if part in ("mlp", "layer"):
        m, c = mlp_forward(y, w.w1, w.w2)
        caches.append(("mlp", c))
        y = y + m
    g = dy
    for kind, c in reversed(caches):
        if kind == "mlp":
            dx, gr = mlp_backward(g, c, w.w1, w.w2)
        else:
            dx, gr = attention_backward(g, c, w.wq, w.wk, w.wv, w.wo, heads)
        grads.update(gr)
        g = g + dx
    return {"y": y, "dx": g, "grads": grads}


# ------------------------------------------------------------------- partitioned kernels
def _cols(m: np.ndarray, i: int, t: int) -> np.ndarray:
    n = m.shape[1] // t
    return m[:, i * n : (i + 1) * n]


def _rows(m: np.ndarray, i: int, t: int) -> np.ndarray:
    n = m.shape[0] // t
    return m[i * n : (i + 1) * n]


def block_megatron(
    x: np.ndarray, dy: np.ndarray, w: BlockWeights, heads: int, t: int, part: str
) -> Steps:
    """Megatron-LM's split as a step generator: yields (t, n) partials, receives sums.

    Rank ``i`` owns heads ``[i·a/t, (i+1)·a/t)`` (columns of W_Q, W_K, W_V, rows of W_O) and
    columns ``[i·4h/t, ...)`` of W1 (rows of W2). Returns the output, input gradient and the
    weight gradients reassembled from the shards (for comparison with :func:`block_dense`).
    """
    shape = x.shape
    a_local = heads // t
    y = x
    caches: list[tuple[str, list[Any]]] = []
    if part in ("attention", "layer"):
        outs, cs = [], []
        for i in range(t):
            o, c = attention_forward(
                y,
                _cols(w.wq, i, t),
                _cols(w.wk, i, t),
                _cols(w.wv, i, t),
                _rows(w.wo, i, t),
                a_local,
            )
            outs.append(o.ravel())
            cs.append(c)
        reduced = yield np.stack(outs)  # g: all-reduce of the partial outputs
        caches.append(("attention", cs))
        y = y + reduced.reshape(shape)
    if part in ("mlp", "layer"):
        outs, cs = [], []
        for i in range(t):
            o, c = mlp_forward(y, _cols(w.w1, i, t), _rows(w.w2, i, t))
            outs.append(o.ravel())
            cs.append(c)
        reduced = yield np.stack(outs)
        caches.append(("mlp", cs))
        y = y + reduced.reshape(shape)
    g = dy
    shards: dict[str, list[np.ndarray]] = {}
    for kind, cs in reversed(caches):
        parts = []
        for i in range(t):
            if kind == "mlp":
                dx, gr = mlp_backward(g, cs[i], _cols(w.w1, i, t), _rows(w.w2, i, t))
            else:
                dx, gr = attention_backward(
                    g,
                    cs[i],
                    _cols(w.wq, i, t),
                    _cols(w.wk, i, t),
                    _cols(w.wv, i, t),
                    _rows(w.wo, i, t),
                    a_local,
                )
            parts.append(dx.ravel())
            for k, v in gr.items():
                shards.setdefault(k, []).append(v)
        reduced = yield np.stack(parts)  # f: all-reduce of the partial input gradients
        g = g + reduced.reshape(shape)
    grads = {k: np.concatenate(v, axis=0 if k in ("wo", "w2") else 1) for k, v in shards.items()}
    return {"y": y, "dx": g, "grads": grads}


def block_sequence(
    x: np.ndarray, dy: np.ndarray, w: BlockWeights, heads: int, t: int, part: str
) -> Steps:
    """The sequence (L) partition as a step generator: rank ``i`` owns tokens
    ``[i·s/t, (i+1)·s/t)`` and a full copy of the weights.

    Collectives, in order: forward all-reduce of zero-padded K, then V (attention); backward
    all-reduce of dV, then dK (attention); finally one all-reduce of all weight gradients.
    """
    b, s, h = x.shape
    n = s // t

    def rows(m: np.ndarray, i: int) -> np.ndarray:
        return m[:, i * n : (i + 1) * n]

    def padded(parts: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((t, b, s, h))
        for i, p in enumerate(parts):
            out[i][:, i * n : (i + 1) * n] = p
        return out.reshape(t, -1)

    ys = [rows(x, i) for i in range(t)]
    caches: list[tuple[str, Any]] = []
    if part in ("attention", "layer"):
        qs = [y @ w.wq for y in ys]
        k_full = (yield padded([y @ w.wk for y in ys])).reshape(b, s, h)
        v_full = (yield padded([y @ w.wv for y in ys])).reshape(b, s, h)
        outs, cs = [], []
        for i in range(t):
            o, core = core_forward(qs[i], k_full, v_full, heads)
            outs.append(ys[i] + o @ w.wo)
            cs.append((ys[i], o, core))
        caches.append(("attention", cs))
        ys = outs
    if part in ("mlp", "layer"):
        outs, cs = [], []
        for i in range(t):
            m, c = mlp_forward(ys[i], w.w1, w.w2)
            outs.append(ys[i] + m)
            cs.append(c)
        caches.append(("mlp", cs))
        ys = outs
    gs = [rows(dy, i) for i in range(t)]
    partial: list[dict[str, np.ndarray]] = [{} for _ in range(t)]
    for kind, cs in reversed(caches):
        if kind == "mlp":
            for i in range(t):
                dx, gr = mlp_backward(gs[i], cs[i], w.w1, w.w2)
                partial[i].update(gr)
                gs[i] = gs[i] + dx
            continue
        dqs, dks, dvs = [], [], []
        for i in range(t):
            xi, o, core = cs[i]
            partial[i]["wo"] = _xt(o, gs[i])
            dq, dk, dv = _core_backward(gs[i] @ w.wo.T, core, heads)
            dqs.append(dq)
            dks.append(dk.ravel())
            dvs.append(dv.ravel())
        dv_full = (yield np.stack(dvs)).reshape(b, s, h)
        dk_full = (yield np.stack(dks)).reshape(b, s, h)
        for i in range(t):
            xi = cs[i][0]
            dk_i, dv_i = rows(dk_full, i), rows(dv_full, i)
            partial[i].update({"wq": _xt(xi, dqs[i]), "wk": _xt(xi, dk_i), "wv": _xt(xi, dv_i)})
            gs[i] = gs[i] + dqs[i] @ w.wq.T + dk_i @ w.wk.T + dv_i @ w.wv.T
    names = sorted(partial[0])
    flat = np.stack([np.concatenate([partial[i][k].ravel() for k in names]) for i in range(t)])
    reduced = yield flat  # weight gradients of the replicated weights
    grads, offset = {}, 0
    for k in names:
        size = partial[0][k].size
        grads[k] = reduced[offset : offset + size].reshape(partial[0][k].shape)
        offset += size
    return {"y": np.concatenate(ys, axis=1), "dx": np.concatenate(gs, axis=1), "grads": grads}


def drive(
    steps: Steps, allreduce: Callable[[np.ndarray], np.ndarray] = lambda p: p.sum(0)
) -> dict[str, Any]:
    """Run a step generator to the end, reducing each yielded (t, n) buffer with ``allreduce``."""
    try:
        partials = next(steps)
        while True:
            partials = steps.send(allreduce(partials))
    except StopIteration as stop:
        return stop.value


def compare(dense: dict[str, Any], split: dict[str, Any]) -> dict[str, Any]:
    """``tensor_parallel_equals_dense``: outputs, input gradients and weight gradients agree."""
    err, scale = 0.0, 0.0
    pairs = [(dense["y"], split["y"]), (dense["dx"], split["dx"])]
    pairs += [(dense["grads"][k], split["grads"][k]) for k in dense["grads"]]
    same_keys = set(dense["grads"]) == set(split["grads"])
    for ref, got in pairs:
        err = max(err, float(np.abs(ref - got).max()))
        scale = max(scale, float(np.abs(ref).max()))
    tolerance = 1e-10 * max(scale, 1.0)
    return check(
        same_keys and err <= tolerance, max_abs_err=err, tolerance=tolerance, compared=len(pairs)
    )


class BlockReplay:
    """The partitioned kernel's step generator, driven by simulated collectives.

    The process takes each collective's ``(t, n)`` partial buffers (:meth:`take`), has the
    simulated all-reduce reduce them in place, and hands the result back (:meth:`give`).
    The replayed block is scaled down (batch 2, ``2·degree`` tokens, 4 features per head)
    with the same degree, heads, part and partition: how the matrices split does not depend on
    their sizes, and the small buffers ride on the simulated all-reduces of the full-size ones.

    Args:
        degree: tensor-parallel degree ``t``.
        heads: attention heads.
        part: ``"attention"``, ``"mlp"`` or ``"layer"``.
        partition: ``"megatron"`` or ``"sequence"``.
        rng: source of the input, the output gradient and the weights.
    """

    def __init__(
        self, degree: int, heads: int, part: str, partition: str, rng: np.random.Generator
    ) -> None:
        b, s, h = 2, 2 * degree, 4 * heads
        self.x = rng.standard_normal((b, s, h))
        self.dy = rng.standard_normal((b, s, h))
        self.w = BlockWeights.random(h, rng)
        self.heads, self.part = heads, part
        kernel = block_megatron if partition == "megatron" else block_sequence
        self.gen = kernel(self.x, self.dy, self.w, heads, degree, part)
        self.pending = next(self.gen)
        self.result: dict[str, Any] | None = None

    def take(self) -> np.ndarray:
        """The partial buffers of the next collective, ``(t, n)``."""
        return self.pending

    def give(self, reduced: np.ndarray) -> None:
        """The reduced buffer of that collective, ``(n,)``; advances to the next one."""
        try:
            self.pending = self.gen.send(reduced)
        except StopIteration as stop:
            self.result = stop.value

    def check(self) -> dict[str, Any]:
        """``tensor_parallel_equals_dense``: the replayed block against the dense one."""
        dense = block_dense(self.x, self.dy, self.w, self.heads, self.part)
        if self.result is None:
            return check(False, reason="the replay did not finish")
        return compare(dense, self.result)
