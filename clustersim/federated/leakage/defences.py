"""What a client transmits instead of its exact gradient: the defences against leakage.

Each defence turns the client's gradient (per layer ``∇W``, ``∇b``) into the bytes it sends and
the values the server decodes from them: the attacker works on exactly what arrives. The dense
wire format is float32 (4 bytes an element).

* ``none``: the gradient in float32.
* ``prune`` (Zhu et al., DLG, NeurIPS 2019, §5.2 "gradient compression and sparsification":
  the smallest-magnitude gradients are set to zero; DLG reports that more than 20 % sparsity
  makes its reconstructions unrecognisable): per tensor the ``⌈(1 - s)·n⌉`` entries of largest
  magnitude are kept and sent in the run-length sparse encoding of
  :func:`clustersim.training.data_parallel.compression.encode_sparse` (count, index gaps as
  varints, float32 values); nothing is carried to the next round.
* ``noise`` (DLG §5.1 "noisy gradients"): Gaussian noise of the given *variance* (the
  quantity DLG's figure labels, 10⁻⁴ to 10⁻¹) added to every element, sent dense.
* ``fp16``: the gradient rounded to IEEE half precision (2 bytes an element; DLG §5.2 tries
  half precision).
* ``int8``: per tensor, symmetric linear quantisation to the integers ``-127..127`` with the
  scale ``max|g| / 127`` sent as a float32 (1 byte an element and 4 per tensor; the scheme of
  Jacob et al., "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-
  Only Inference", CVPR 2018, §2.1, with a zero point of 0).
* ``batch`` (DLG §5.3 "large batch"): the gradient of a larger batch, sent as it is; the
  attacker has to reconstruct every sample of the batch at once.
* ``dgc``: Deep Gradient Compression as the ``data_parallel`` kind runs it
  (:class:`~clustersim.training.data_parallel.compression.DGCCompressor`, Lin et al., ICLR
  2018): top-k of the accumulated gradient per weight tensor with the residual kept for the next
  round (momentum correction when ``momentum > 0``), biases dense, the sparse encoding on the
  wire.
* ``terngrad`` (Wen et al., NeurIPS 2017): per tensor, clip at 2.5 σ, then the stochastic
  ternary ``s · sign(g) ∘ b`` with ``s = max |g|`` (:func:`~clustersim.training.data_parallel.
  compression.ternarize`), 2 bits an element plus a float32 scale per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clustersim.federated.leakage.kernels import Grads, SmoothMLP
from clustersim.training.data_parallel.compression import (
    DGCCompressor,
    decode_sparse,
    encode_sparse,
    kept_entries,
    pack_ternary,
    ternarize,
    terngrad_clip,
    topk_indices,
)

__all__ = ["DEFENCES", "Defence", "Transmitted", "defence_label"]

DEFENCES = ("none", "prune", "noise", "fp16", "int8", "batch", "dgc", "terngrad")
"""Every defence the kind knows."""

_F32 = np.dtype("<f4")
_SCALE_BYTES = 4  # a float32 scale per tensor (int8, TernGrad)
_TERNGRAD_CLIP = 2.5  # Wen et al. §3.3: clip at c·σ with c = 2.5


@dataclass
class Transmitted:
    """One transmission: the gradient the server decodes, the bytes on the wire, and for the
    encoded formats the largest difference between what the encoder meant to send (rounded to
    float32) and what the decoder read back."""

    grads: Grads
    payload_bytes: float
    roundtrip_error: float = 0.0


def defence_label(spec: Any) -> str:
    """A short label: ``prune 0.3``, ``noise 1e-3``, ``batch 4``, ``fp16``."""
    kind = spec.kind
    if kind in ("prune", "dgc"):
        return f"{kind} {spec.sparsity:g}"
    if kind == "noise":
        return f"noise {spec.variance:g}"
    if kind == "batch":
        return f"batch {spec.size}"
    return kind


def _tensors(grads: Grads) -> list[np.ndarray]:
    out = []
    for w, b in grads:
        out.append(w)
        if b is not None:
            out.append(b)
    return out


def _regroup(tensors: list[np.ndarray], like: Grads) -> Grads:
    out: Grads = []
    it = iter(tensors)
    for w, b in like:
        nw = next(it).reshape(w.shape)
        nb = next(it).reshape(b.shape) if b is not None else None
        out.append((nw, nb))
    return out


@dataclass
class Defence:
    """One client's encoder for a defence (``spec`` is a
    :class:`~clustersim.federated.leakage.params.DefenceParams`); DGC keeps its residuals
    between transmissions."""

    spec: Any
    model: SmoothMLP
    rng: np.random.Generator
    encode: bool = True
    _dgc: DGCCompressor | None = field(default=None, init=False)

    def apply(self, grads: Grads) -> Transmitted:
        """What the server receives for the gradient ``grads`` (one client, float64).

        With ``encode=False`` the sparse formats skip the byte encoding and its decoding and
        place the float32-rounded kept values directly (the same values: the attack path's
        ``transmitted_equals_decoded`` check holds the two equal); the payload is then 0.
        """
        kind = self.spec.kind
        tensors = _tensors(grads)
        n = sum(t.size for t in tensors)
        if kind in ("none", "batch"):
            sent = [t.astype(_F32).astype(float) for t in tensors]
            return Transmitted(_regroup(sent, grads), 4.0 * n)
        if kind == "noise":
            std = float(np.sqrt(self.spec.variance))
            noisy = [(t + std * self.rng.standard_normal(t.shape)).astype(_F32) for t in tensors]
            return Transmitted(_regroup([t.astype(float) for t in noisy], grads), 4.0 * n)
        if kind == "fp16":
            sent = [t.astype(np.float16).astype(float) for t in tensors]
            return Transmitted(_regroup(sent, grads), 2.0 * n)
        if kind == "int8":
            return self._int8(tensors, grads)
        if kind == "prune":
            return self._prune(tensors, grads)
        if kind == "dgc":
            return self._dgc_step(grads)
        if kind == "terngrad":
            return self._terngrad(tensors, grads)
        raise ValueError(f"unknown defence {kind!r}")

    def _int8(self, tensors: list[np.ndarray], grads: Grads) -> Transmitted:
        sent = []
        for t in tensors:
            peak = float(np.abs(t).max())
            scale = np.float32(peak / 127.0) if peak > 0 else np.float32(1.0)
            q = np.clip(np.rint(t / float(scale)), -127, 127).astype(np.int8)
            sent.append(q.astype(float) * float(scale))
        n = sum(t.size for t in tensors)
        return Transmitted(_regroup(sent, grads), float(n + _SCALE_BYTES * len(tensors)))

    def _sparse(
        self, layers: list[tuple[np.ndarray, np.ndarray] | np.ndarray], like: list[np.ndarray]
    ) -> tuple[list[np.ndarray], float, float]:
        """Encode, decode, and rebuild dense tensors: (tensors, payload bytes, round-trip
        error)."""
        if not self.encode:
            out = []
            for t, layer in zip(like, layers, strict=True):
                dense = np.zeros(t.size)
                if isinstance(layer, tuple):
                    dense[layer[0]] = np.asarray(layer[1], dtype=_F32)
                else:
                    dense[:] = np.asarray(layer, dtype=_F32).ravel()
                out.append(dense.reshape(t.shape))
            return out, 0.0, 0.0
        payload = encode_sparse(layers)
        layout = [(t.size, isinstance(layer, tuple)) for t, layer in zip(like, layers, strict=True)]
        decoded = decode_sparse(payload, layout)
        out, err = [], 0.0
        for t, layer, got in zip(like, layers, decoded, strict=True):
            dense = np.zeros(t.size)
            if isinstance(layer, tuple):
                idx, values = got
                dense[idx] = values
                meant = np.zeros(t.size)
                meant[layer[0]] = np.asarray(layer[1], dtype=_F32)
            else:
                dense[:] = got
                meant = np.asarray(layer, dtype=_F32).astype(float).ravel()
            err = max(err, float(np.abs(dense - meant).max(initial=0.0)))
            out.append(dense.reshape(t.shape))
        return out, float(payload.size), err

    def _prune(self, tensors: list[np.ndarray], grads: Grads) -> Transmitted:
        keep = 1.0 - self.spec.sparsity
        layers: list[tuple[np.ndarray, np.ndarray] | np.ndarray] = []
        for t in tensors:
            flat = t.ravel()
            idx = topk_indices(flat, kept_entries(flat.size, keep))
            layers.append((idx, flat[idx]))
        sent, size, err = self._sparse(layers, tensors)
        return Transmitted(_regroup(sent, grads), size, err)

    def _dgc_step(self, grads: Grads) -> Transmitted:
        if self._dgc is None:
            shapes: dict[str, tuple[int, ...]] = {}
            for i, (w, b) in enumerate(grads):
                shapes[f"{i}.weight"] = w.shape
                if b is not None:
                    shapes[f"{i}.bias"] = b.shape
            self._dgc = DGCCompressor(
                shapes=shapes,
                sparse_names=frozenset(n for n in shapes if n.endswith("weight")),
                workers=1,
                momentum=self.spec.momentum,
                sparsity=self.spec.sparsity,
                momentum_correction=self.spec.momentum > 0,
            )
        named: dict[str, np.ndarray] = {}
        for i, (w, b) in enumerate(grads):
            named[f"{i}.weight"] = w
            if b is not None:
                named[f"{i}.bias"] = b
        step = self._dgc.step(named, epoch=0.0)
        layers = [step.sparse[n] if n in step.sparse else step.dense[n] for n in named]
        sent, size, err = self._sparse(layers, list(named.values()))
        return Transmitted(_regroup(sent, grads), size, err)

    def _terngrad(self, tensors: list[np.ndarray], grads: Grads) -> Transmitted:
        sent, size = [], 0.0
        for t in tensors:
            clipped = terngrad_clip(t, _TERNGRAD_CLIP)
            scale, ternary = ternarize(clipped, self.rng)
            sent.append(float(np.float32(scale)) * ternary.astype(float))
            size += pack_ternary(ternary).size + _SCALE_BYTES
        return Transmitted(_regroup(sent, grads), size)
