"""The compressed exchange on real gradients: what each worker encodes, what receivers decode.

Pure numpy, on top of the kernels of :mod:`~clustersim.training.data_parallel.compression`. A
codec is one run's state of a compression method, the
:class:`~clustersim.training.data_parallel.kernels.GradientCodec` that the trainer calls: every
iteration it encodes each worker's gradient into one payload per bucket, and it decodes the
payloads the simulated network delivered, checking them on the way.

* :class:`DGCCodec`: Deep Gradient Compression. A Linear layer's weight and bias form the one
  vector its top-k is taken over (the lecture notes' loop over layers ``j = 0..M``); a payload is
  the run-length encoding of the bucket's layers. Servers sum the decoded entries and re-encode
  the union. Check ``dgc_residual_conserved``: for every worker at every step, the entries the
  receivers decoded plus the residual kept equal the accumulated gradient, up to the float32
  rounding of the sent values.
* :class:`TernGradCodec`: TernGrad with one scale per weight or bias tensor, shared by the
  workers (the maximum of their scales, rounded up to a float32 so it never shrinks on the
  wire). Servers sum the integer levels and send them at ``⌈lg(2N+1)⌉`` bits. Check
  ``terngrad_unbiased``: the mean of :data:`UNBIASED_DRAWS` ternarisations of worker 0's first
  clipped gradient is within Hoeffding's bound for that many draws, element by element; and so
  is the sum of ternary minus clipped gradient over every step and worker of the run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clustersim.kinds.contract import check
from clustersim.training.data_parallel.compression import (
    DGCCompressor,
    DGCStep,
    decode_sparse,
    encode_sparse,
    hoeffding_bound,
    level_bits,
    pack_levels,
    pack_ternary,
    ternarize,
    terngrad_clip,
    unpack_levels,
    unpack_ternary,
)
from clustersim.training.data_parallel.kernels import GradientLayout, Grads

__all__ = ["UNBIASED_DELTA", "UNBIASED_DRAWS", "DGCCodec", "TernGradCodec"]

UNBIASED_DELTA = 1e-6
"""Family-wise false-alarm probability of the ``terngrad_unbiased`` bound."""
UNBIASED_DRAWS = 200
"""Extra ternarisations of the first gradient that ``terngrad_unbiased`` averages."""

Sparse = tuple[np.ndarray, np.ndarray]


class DGCCodec:
    """Deep Gradient Compression of every worker's layers, with the conservation check."""

    def __init__(
        self,
        layout: GradientLayout,
        workers: int,
        iterations_per_epoch: int,
        *,
        momentum: float,
        sparsity: float,
        momentum_correction: bool,
        momentum_masking: bool,
        clip_norm: float | None,
        warmup_epochs: float,
    ) -> None:
        self.layout = layout
        self.workers = workers
        self.iterations_per_epoch = iterations_per_epoch
        shapes = {name: (size,) for name, size in layout.layer_sizes.items()}
        self.compressors = [
            DGCCompressor(
                shapes,
                frozenset(shapes),
                workers,
                momentum,
                sparsity,
                momentum_correction,
                momentum_masking,
                clip_norm,
                warmup_epochs,
            )
            for _ in range(workers)
        ]
        self.steps: list[DGCStep] = []
        self.payloads: list[list[np.ndarray]] = []
        self.clipped_steps = 0
        self.conservation_err = 0.0
        self.conservation_tol = 0.0
        self.conserved = True

    def encode(self, k: int, grads: list[Grads]) -> None:
        """Clip, accumulate and sparsify every worker's layers; encode them per bucket."""
        layout = self.layout
        epoch = k / self.iterations_per_epoch
        self.steps = [
            c.step(
                {name: layout.flatten(g, members) for name, members in layout.layers.items()}, epoch
            )
            for c, g in zip(self.compressors, grads, strict=True)
        ]
        self.clipped_steps += sum(step.clip_factor < 1.0 for step in self.steps)
        self.payloads = [
            [encode_sparse([step.sparse[name] for name in names]) for names in layout.bucket_layers]
            for step in self.steps
        ]

    def _layers(self, b: int, payload: np.ndarray) -> list[Sparse]:
        """The ``(indices, values)`` of each layer of bucket ``b`` in ``payload``."""
        layout = self.layout
        parts = decode_sparse(
            payload, [(layout.layer_sizes[layer], True) for layer in layout.bucket_layers[b]]
        )
        return [part for part in parts if isinstance(part, tuple)]

    def _dense(self, layer: str, part: Sparse) -> Grads:
        """The layer's parameters with the sent entries filled in and zeros elsewhere."""
        dense = np.zeros(self.layout.layer_sizes[layer])
        dense[part[0]] = part[1]
        return self.layout.unflatten(self.layout.layers[layer], dense)

    def _decode(self, b: int, w: int, payload: np.ndarray) -> Grads:
        """Worker ``w``'s contribution to bucket ``b`` as dense arrays, checking it on the way."""
        out: Grads = {}
        sent: dict[str, Sparse] = {}
        for layer, part in zip(self.layout.bucket_layers[b], self._layers(b, payload), strict=True):
            sent[layer] = part
            out.update(self._dense(layer, part))
        step = self.steps[w]
        err = self.compressors[w].conservation_error(step, sent)
        scale = max(
            (float(np.abs(step.accumulated[n]).max()) for n in sent if self.layout.layer_sizes[n]),
            default=0.0,
        )
        tol = 2.0**-23 * scale  # float32 rounding of the sent values, with a factor 2
        self.conservation_err = max(self.conservation_err, err)
        self.conservation_tol = max(self.conservation_tol, tol)
        self.conserved &= err <= tol
        return out

    def decode_sum(self, b: int, payloads: list[np.ndarray]) -> Grads:
        """Decode every worker's payload of bucket ``b`` and add them up."""
        total: Grads = {}
        for w, payload in enumerate(payloads):
            for n, value in self._decode(b, w, payload).items():
                total[n] = total[n] + value if n in total else value
        return total

    def aggregate(self, b: int, payloads: list[np.ndarray]) -> np.ndarray:
        """The servers' sum of the pushed entries, encoded as the union of the sent ones."""
        layout = self.layout
        total = {n: np.zeros(layout.shapes[n]) for n in layout.bucket_names(b)}
        for w, payload in enumerate(payloads):
            for n, value in self._decode(b, w, payload).items():
                total[n] += value
        layers: list[tuple[np.ndarray, np.ndarray] | np.ndarray] = []
        for layer in layout.bucket_layers[b]:
            flat = layout.flatten(total, layout.layers[layer])
            idx = np.flatnonzero(flat)
            layers.append((idx, flat[idx]))
        return encode_sparse(layers)

    def decode_aggregate(self, b: int, pulled: np.ndarray) -> Grads:
        """Decode the summed entries a worker pulled from the servers."""
        out: Grads = {}
        for layer, part in zip(self.layout.bucket_layers[b], self._layers(b, pulled), strict=True):
            out.update(self._dense(layer, part))
        return out

    def checks(self, steps: int) -> dict[str, dict[str, Any]]:
        """``dgc_residual_conserved`` over the run."""
        return {
            "dgc_residual_conserved": check(
                self.conserved,
                max_abs_err=self.conservation_err,
                tolerance=self.conservation_tol,
                steps=steps,
                workers=self.workers,
            )
        }


def _float32_ceil(x: float) -> float:
    """The smallest float32 >= ``x`` (a shared TernGrad scale must not shrink on the wire)."""
    y = np.float32(x)
    if float(y) < x:
        y = np.nextafter(y, np.float32(np.inf))
    return float(y)


class TernGradCodec:
    """TernGrad of every worker's parameters with a shared scale, with the unbiasedness check."""

    def __init__(
        self,
        layout: GradientLayout,
        workers: int,
        clip: float | None,
        rng: np.random.Generator,
        check_rng: np.random.Generator | None,
    ) -> None:
        """``rng`` draws the ternarisations that are sent; ``check_rng`` (None: no check) the
        extra draws of the first gradient that ``terngrad_unbiased`` averages."""
        self.layout = layout
        self.workers = workers
        self.clip = clip
        self.rng = rng
        self.check_rng = check_rng
        self.clipped: list[Grads] = []
        self.scales: dict[str, float] = {}
        self.payloads: list[list[np.ndarray]] = []
        self.sample_fraction = 0.0
        self.sample_err = 0.0
        self.bias_sum = {n: np.zeros(s) for n, s in layout.shapes.items()}
        self.range_sq = dict.fromkeys(layout.shapes, 0.0)
        self.draws = 0

    def encode(self, k: int, grads: list[Grads]) -> None:
        """Clip, share the scales, ternarise and pack every worker's parameters per bucket."""
        shapes = self.layout.shapes
        self.clipped = [
            {n: terngrad_clip(g, self.clip) for n, g in worker.items()} for worker in grads
        ]
        self.scales = {
            n: _float32_ceil(max(float(np.abs(c[n]).max()) for c in self.clipped)) for n in shapes
        }
        codes = [
            {n: ternarize(c[n], self.rng, self.scales[n])[1] for n in shapes} for c in self.clipped
        ]
        buckets = range(len(self.layout.bucket_layers))
        self.payloads = [
            [
                np.concatenate([pack_ternary(code[n]) for n in self.layout.bucket_names(b)])
                for b in buckets
            ]
            for code in codes
        ]
        if self.check_rng is not None and k == 0:  # the first step: sample its estimator
            self._sample_unbiased(self.clipped[0], self.check_rng)

    def _sample_unbiased(self, clipped: Grads, rng: np.random.Generator) -> None:
        """Average :data:`UNBIASED_DRAWS` ternarisations of one gradient; compare with the
        bound."""
        elements = sum(self.layout.sizes.values())
        for g in clipped.values():
            s = float(np.abs(g).max())
            if s <= 0:
                continue
            total = np.zeros(g.shape)
            for _ in range(UNBIASED_DRAWS):
                scale, t = ternarize(g, rng, s)
                total += scale * t - g
            bound = float(hoeffding_bound(UNBIASED_DRAWS * s * s, elements, UNBIASED_DELTA))
            worst = float(np.abs(total).max())
            self.sample_fraction = max(self.sample_fraction, worst / bound)
            self.sample_err = max(self.sample_err, worst / UNBIASED_DRAWS)

    def _decode(self, b: int, w: int, payload: np.ndarray) -> Grads:
        """Worker ``w``'s ternary gradient of bucket ``b``, tallying its error on the way."""
        layout = self.layout
        out: Grads = {}
        at = 0
        for n in layout.bucket_names(b):
            size = layout.sizes[n]
            width = math.ceil(size / 4)
            codes = unpack_ternary(payload[at : at + width], size)
            at += width
            value = (self.scales[n] * codes).reshape(layout.shapes[n])
            self.bias_sum[n] += value - self.clipped[w][n]
            self.range_sq[n] += self.scales[n] ** 2
            out[n] = value
        return out

    def decode_sum(self, b: int, payloads: list[np.ndarray]) -> Grads:
        """Decode every worker's payload of bucket ``b`` and add them up."""
        total: Grads = {}
        for w, payload in enumerate(payloads):
            for n, value in self._decode(b, w, payload).items():
                total[n] = total[n] + value if n in total else value
        if b == 0:
            self.draws += self.workers
        return total

    def aggregate(self, b: int, payloads: list[np.ndarray]) -> np.ndarray:
        """The servers' integer sum of the levels, packed at ``⌈lg(2N+1)⌉`` bits."""
        layout = self.layout
        names = layout.bucket_names(b)
        levels = {n: np.zeros(layout.sizes[n], dtype=np.int64) for n in names}
        for w, payload in enumerate(payloads):
            for n, value in self._decode(b, w, payload).items():
                levels[n] += np.rint(value.ravel() / self.scales[n]).astype(np.int64)
        if b == 0:
            self.draws += self.workers
        bits = level_bits(2 * self.workers + 1)
        return np.concatenate([pack_levels(levels[n], bits) for n in names])

    def decode_aggregate(self, b: int, pulled: np.ndarray) -> Grads:
        """Decode the summed levels a worker pulled, times the shared scales."""
        layout = self.layout
        bits = level_bits(2 * self.workers + 1)
        out: Grads = {}
        at = 0
        for n in layout.bucket_names(b):
            width = math.ceil(layout.sizes[n] * bits / 8)
            levels = unpack_levels(pulled[at : at + width], layout.sizes[n], bits)
            at += width
            out[n] = (self.scales[n] * levels).reshape(layout.shapes[n])
        return out

    def checks(self, steps: int) -> dict[str, dict[str, Any]]:
        """``terngrad_unbiased`` over the first gradient's samples and the whole run."""
        elements = sum(self.layout.sizes.values())
        ratio = 0.0
        worst = 0.0
        for n, total in self.bias_sum.items():
            if self.range_sq[n] > 0 and total.size:
                bound = float(hoeffding_bound(self.range_sq[n], elements, UNBIASED_DELTA))
                ratio = max(ratio, float(np.abs(total).max()) / bound)
                worst = max(worst, float(np.abs(total).max()) / max(self.draws, 1))
        return {
            "terngrad_unbiased": check(
                ratio <= 1.0 and self.sample_fraction <= 1.0,
                delta=UNBIASED_DELTA,
                sample_draws=UNBIASED_DRAWS,
                sample_max_mean_abs_err=self.sample_err,
                sample_bound_fraction=self.sample_fraction,
                run_draws=self.draws,
                run_max_mean_abs_err=worst,
                run_bound_fraction=ratio,
            )
        }
