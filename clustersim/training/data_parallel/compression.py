"""Gradient compression kernels: Deep Gradient Compression, TernGrad, and their wire encodings.

Pure numpy (the kernel view of docs/architecture.md §1); the codecs of
:mod:`~clustersim.training.data_parallel.codecs` call them on every worker's real gradient, and
the *encoded* bytes are what crosses the simulated network.

**Deep Gradient Compression** (Lin, Han, Mao, Wang & Dally, "Deep Gradient Compression:
Reducing the Communication Bandwidth for Distributed Training", ICLR 2018, §3 and Algorithm 2;
the lecture notes' Algorithm 1 "Gradient Sparsification on node k" is its core). On node ``k``,
with ``G`` the node's gradient contribution ``(1/(N·b)) Σ ∇f`` and ``m`` the momentum:

1. *local gradient clipping* (§3.2): ``G ← G · min(1, c·N^(-1/2) / ‖G‖₂)``, the clipping
   threshold ``c`` of the whole gradient scaled by ``N^(-1/2)`` because the sum of ``N``
   independent contributions has about ``sqrt(N)`` times the norm of one;
2. *momentum correction* (§3.2): ``U ← m·U + G``, ``V ← V + U`` (accumulate the velocity, not
   the gradient); without it ``V ← V + G`` (plain local accumulation, the lecture notes' box);
3. per layer ``j`` (*top-k by magnitude*): ``thr`` = the ``k``-th largest ``|V[j]|`` with
   ``k = ⌈keep·n_j⌉``, ``Mask ← |V[j]| ≥ thr`` (exactly ``k`` entries: ties are broken by
   :func:`numpy.argpartition`), ``G̃[j] ← V[j] ⊙ Mask`` is sent and ``V[j] ← V[j] ⊙ ¬Mask`` is
   the residual that keeps what was not sent;
4. *momentum factor masking* (§3.3): ``U[j] ← U[j] ⊙ ¬Mask``, so that a delayed gradient does
   not keep pushing in a stale direction;
5. *warm-up training* (§3.4): the kept fraction falls exponentially over the first
   ``warmup_epochs`` epochs, ``keep(e) = (1-s)^((e+1)/(W+1))`` in epoch ``e < W`` (75 %,
   93.75 %, 98.4 %, 99.6 % then 99.9 % sparsity for ``s = 0.999``, ``W = 4``: the paper's
   schedule; the formula is the one of the authors' code, ``dgc/compression.py``). A fractional
   ``W`` is cut into ``⌈W⌉`` equal stages.

The sent values are summed over workers and applied with plain SGD (``w ← w - lr·Σ G̃``): the
momentum already lives in ``U``. With sparsity 0 and no masking this is exactly momentum SGD;
masking resets the velocity of every sent entry. :class:`DGCCompressor` sparsifies the vectors
named in ``sparse_names`` and passes the others through dense (the authors' code, ``train.py``,
sends 1-D parameters dense; the ``data_parallel`` kind instead takes each Linear layer's weight
and bias as one vector, the lecture notes' per-layer loop).

**Encoding** (lecture notes: "run-length encoding is utilized to compress the sparse gradient").
A layer's kept entries become a 4-byte count ``k``, the gaps between consecutive kept indices
(the first index itself, then the number of zeros skipped: the run lengths) as unsigned LEB128
varints (7 bits per byte, high bit = more bytes follow; 1 byte for a run under 128, 2 under
16 384), and the ``k`` values as float32. At 99.9 % sparsity runs average about 1000 zeros, so
an entry costs 4 + 2 bytes and a layer is about ``4/(6·0.001) ≈ 670`` times smaller than dense.
Dense layers are their raw values. :func:`decode_sparse` inverts it exactly.

**TernGrad** (Wen, Xu, Yan, Wu, Wang, Chen & Li, "TernGrad: Ternary Gradients to Reduce
Communication in Distributed Deep Learning", NeurIPS 2017, §3): per layer, clip the gradient
at ``c·σ`` (``σ`` its standard deviation, ``c = 2.5``; §3.3 "gradient clipping"), take the scale
``s = max |g|`` (layer-wise ternarizing; shared by all workers as the maximum of their scales,
"scaler sharing"), and send ``s · sign(g) ∘ b`` with ``b_i ~ Bernoulli(|g_i| / s)``. Then
``E[s·sign(g_i)·b_i] = g_i``: the ternary gradient is an unbiased estimate of the clipped one
(eq. 4). On the wire a layer is 2 bits per element (:func:`pack_ternary`); a sum of ``N`` ternary
gradients with the shared scale is an integer in ``[-N, N]`` per element, ``⌈lg(2N+1)⌉`` bits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "COUNT_BYTES",
    "DGCCompressor",
    "DGCStep",
    "decode_sparse",
    "dgc_keep_fraction",
    "encode_sparse",
    "hoeffding_bound",
    "kept_entries",
    "level_bits",
    "pack_levels",
    "pack_ternary",
    "sparse_layer_bytes",
    "ternarize",
    "terngrad_clip",
    "topk_indices",
    "unpack_levels",
    "unpack_ternary",
    "varint_decode",
    "varint_encode",
    "varint_sizes",
]

COUNT_BYTES = 4
"""Bytes of the per-layer entry count in a sparse encoding (uint32, little endian)."""
_VALUE_DTYPE = np.dtype("<f4")


# ------------------------------------------------------------------------------ DGC schedule
def dgc_keep_fraction(epoch: float, sparsity: float, warmup_epochs: float = 0) -> float:
    """Fraction of each layer's entries sent in ``epoch`` (0-based, may be fractional).

    The warm-up of ``W`` epochs is cut into ``S = ⌈W⌉`` equal stages; in stage ``i`` the kept
    fraction is ``(1-s)^((i+1)/(S+1))``, then ``1-s``. For whole ``W`` a stage is an epoch and
    this is the schedule of Lin et al. §3.4 (and of the authors' code).
    """
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    base = 1.0 - sparsity
    if warmup_epochs > 0 and epoch < warmup_epochs:
        stages = math.ceil(warmup_epochs)
        stage = min(math.floor(epoch * stages / warmup_epochs), stages - 1)
        return max(base ** ((stage + 1) / (stages + 1)), base)
    return base


def kept_entries(n: int, keep: float) -> int:
    """``⌈keep·n⌉``, at least 1 and at most ``n`` (``1 - 0.99`` is not exactly 0.01 in binary
    floating point, so the product is rounded to 9 digits before the ceiling)."""
    return max(1, min(n, math.ceil(round(keep * n, 9))))


def topk_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Sorted flat indices of the ``k`` largest ``|values|`` (ties broken by argpartition)."""
    flat = np.abs(values).ravel()
    n = flat.size
    if k >= n:
        return np.arange(n, dtype=np.int64)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    chosen = np.argpartition(flat, n - k)[n - k :]
    return np.sort(chosen).astype(np.int64)


# ------------------------------------------------------------------------------- DGC kernel
@dataclass
class DGCStep:
    """What one worker's DGC step produced.

    Attributes:
        sparse: per sparsified parameter, ``(sorted flat indices, values)`` of the entries sent.
        dense: per dense parameter (biases), the values sent.
        accumulated: per sparsified parameter, the flat accumulation ``V + U`` (or ``V + G``)
            before selection, for :meth:`DGCCompressor.conservation_error`.
        clip_factor: the local clipping factor applied (1.0 when not clipped).
        keep: the kept fraction this step.
    """

    sparse: dict[str, tuple[np.ndarray, np.ndarray]]
    dense: dict[str, np.ndarray]
    accumulated: dict[str, np.ndarray]
    clip_factor: float
    keep: float


@dataclass
class DGCCompressor:
    """One worker's DGC state: velocity ``U`` and residual ``V`` per sparsified parameter.

    ``shapes`` names every parameter; those in ``sparse_names`` are sparsified, the others sent
    dense. ``clip_norm`` is the global clipping threshold ``c`` (``None``: no clipping); the
    local threshold is ``c / sqrt(workers)``.
    """

    shapes: Mapping[str, tuple[int, ...]]
    sparse_names: frozenset[str]
    workers: int
    momentum: float
    sparsity: float
    momentum_correction: bool = True
    momentum_masking: bool = True
    clip_norm: float | None = None
    warmup_epochs: float = 0
    u: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.sparse_names:
            self.u[name] = np.zeros(self.shapes[name])
            self.v[name] = np.zeros(self.shapes[name])

    def k_for(self, name: str, keep: float) -> int:
        """Entries of parameter ``name`` sent at kept fraction ``keep`` (at least one)."""
        return kept_entries(int(np.prod(self.shapes[name])), keep)

    def step(self, grads: Mapping[str, np.ndarray], epoch: float) -> DGCStep:
        """Clip, accumulate, select, and split every parameter into sent + residual."""
        clip = 1.0
        if self.clip_norm is not None:
            norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
            limit = self.clip_norm / math.sqrt(self.workers)
            if norm > limit:
                clip = limit / norm
        keep = dgc_keep_fraction(epoch, self.sparsity, self.warmup_epochs)
        sparse: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        dense: dict[str, np.ndarray] = {}
        accumulated: dict[str, np.ndarray] = {}
        for name, grad in grads.items():
            g = grad * clip if clip != 1.0 else grad
            if name not in self.sparse_names:
                dense[name] = g
                continue
            if self.momentum_correction:
                self.u[name] = self.momentum * self.u[name] + g
                total = self.v[name] + self.u[name]
            else:
                total = self.v[name] + g
            flat = total.ravel()
            idx = topk_indices(flat, self.k_for(name, keep))
            sparse[name] = (idx, flat[idx].copy())
            residual = flat.copy()
            residual[idx] = 0.0  # V <- V ⊙ ¬Mask: the residual keeps what was not sent
            self.v[name] = residual.reshape(total.shape)
            if self.momentum_correction and self.momentum_masking:
                np.put(self.u[name], idx, 0.0)  # momentum factor masking
            accumulated[name] = flat
        return DGCStep(sparse, dense, accumulated, clip, keep)

    def conservation_error(
        self, step: DGCStep, sent: Mapping[str, tuple[np.ndarray, np.ndarray]]
    ) -> float:
        """``max |sent + V_after - accumulated|`` over the sparsified parameters.

        ``sent`` is what the receivers decoded (indices, values) per parameter; with float32
        values on the wire the error is the float32 rounding of the sent values, anything larger
        means an entry was lost, duplicated or misplaced.
        """
        err = 0.0
        for name, (idx, values) in sent.items():
            total = step.accumulated[name]
            rebuilt = self.v[name].ravel().copy()
            np.add.at(rebuilt, idx, values)
            if total.size:
                err = max(err, float(np.abs(rebuilt - total).max()))
        return err


# -------------------------------------------------------------------------------- encoding
def varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes of each unsigned LEB128 varint."""
    v = np.asarray(values, dtype=np.uint64)
    sizes = np.ones(v.shape, dtype=np.int64)
    rest = v >> np.uint64(7)
    while rest.any():
        sizes += rest > 0
        rest >>= np.uint64(7)
    return sizes


def varint_encode(values: np.ndarray) -> np.ndarray:
    """Unsigned LEB128: 7 bits per byte, least significant group first, high bit = continue."""
    v = np.asarray(values, dtype=np.uint64).ravel()
    if v.size == 0:
        return np.zeros(0, dtype=np.uint8)
    sizes = varint_sizes(v)
    width = int(sizes.max())
    shifts = (7 * np.arange(width)).astype(np.uint64)
    groups = ((v[:, None] >> shifts[None, :]) & np.uint64(0x7F)).astype(np.uint8)
    position = np.arange(width)[None, :]
    groups |= np.where(position < (sizes[:, None] - 1), 0x80, 0).astype(np.uint8)
    return groups[position < sizes[:, None]]


def varint_decode(data: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """The first ``count`` varints of ``data`` and the number of bytes they took."""
    if count == 0:
        return np.zeros(0, dtype=np.uint64), 0
    data = np.asarray(data, dtype=np.uint8)
    ends = np.flatnonzero((data & 0x80) == 0)[:count]
    if ends.size < count:
        raise ValueError(f"truncated varint stream: {ends.size} of {count} values")
    used = int(ends[-1]) + 1
    starts = np.concatenate(([0], ends[:-1] + 1))
    owner = np.repeat(np.arange(count), ends - starts + 1)
    position = np.arange(used) - starts[owner]
    parts = (data[:used] & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    return np.add.reduceat(parts, starts), used


def sparse_layer_bytes(indices: np.ndarray) -> int:
    """Encoded bytes of one sparse layer with these sorted indices (count, gaps, values)."""
    gaps = np.diff(np.asarray(indices, dtype=np.int64), prepend=-1) - 1
    return COUNT_BYTES + int(varint_sizes(gaps).sum()) + _VALUE_DTYPE.itemsize * len(indices)


def encode_sparse(layers: Sequence[tuple[np.ndarray, np.ndarray] | np.ndarray]) -> np.ndarray:
    """Encode layers into one byte string (``uint8`` array).

    A sparse layer is ``(sorted indices, values)``: count, run-length gaps as varints, float32
    values. A dense layer (an array) is its float32 values; the receiver knows its size.
    """
    parts: list[np.ndarray] = []
    for layer in layers:
        if isinstance(layer, tuple):
            indices, values = layer
            gaps = np.diff(np.asarray(indices, dtype=np.int64), prepend=-1) - 1
            parts.append(
                np.frombuffer(np.uint32(len(indices)).astype("<u4").tobytes(), dtype=np.uint8)
            )
            parts.append(varint_encode(gaps))
            parts.append(
                np.frombuffer(np.asarray(values, dtype=_VALUE_DTYPE).tobytes(), dtype=np.uint8)
            )
        else:
            parts.append(
                np.frombuffer(
                    np.asarray(layer, dtype=_VALUE_DTYPE).ravel().tobytes(), dtype=np.uint8
                )
            )
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def decode_sparse(
    payload: np.ndarray, layout: Sequence[tuple[int, bool]]
) -> list[tuple[np.ndarray, np.ndarray] | np.ndarray]:
    """Invert :func:`encode_sparse`; ``layout`` gives each layer's ``(size, is_sparse)``."""
    payload = np.asarray(payload, dtype=np.uint8)
    out: list[tuple[np.ndarray, np.ndarray] | np.ndarray] = []
    at = 0
    width = _VALUE_DTYPE.itemsize
    for size, is_sparse in layout:
        if not is_sparse:
            out.append(payload[at : at + width * size].copy().view(_VALUE_DTYPE).astype(float))
            at += width * size
            continue
        count = int(payload[at : at + COUNT_BYTES].copy().view("<u4")[0])
        at += COUNT_BYTES
        gaps, used = varint_decode(payload[at:], count)
        at += used
        indices = np.cumsum(gaps.astype(np.int64) + 1) - 1
        values = payload[at : at + width * count].copy().view(_VALUE_DTYPE).astype(float)
        at += width * count
        out.append((indices, values))
    if at != payload.size:
        raise ValueError(f"payload has {payload.size - at} trailing bytes")
    return out


# -------------------------------------------------------------------------------- TernGrad
def terngrad_clip(g: np.ndarray, c: float | None) -> np.ndarray:
    """Clip ``g`` to ``[-c·σ, c·σ]`` with ``σ`` the standard deviation of its entries."""
    if c is None or g.size == 0:
        return g
    bound = c * float(g.std())
    return np.clip(g, -bound, bound)


def ternarize(
    g: np.ndarray, rng: np.random.Generator, scale: float | None = None
) -> tuple[float, np.ndarray]:
    """Stochastic ternarisation: ``(s, t)`` with ``t ∈ {-1, 0, 1}`` (int8), ``s·t`` unbiased.

    ``s`` defaults to ``max |g|``; a shared scale must be at least that (scaler sharing takes
    the maximum over workers). ``P(t_i = sign(g_i)) = |g_i| / s``.
    """
    s = float(np.abs(g).max()) if scale is None else float(scale)
    if s <= 0 or g.size == 0:
        return 0.0, np.zeros(g.shape, dtype=np.int8)
    if s < float(np.abs(g).max()) * (1 - 1e-12):
        raise ValueError("the shared scale must be at least max |g|")
    keep = rng.random(g.shape) < np.abs(g) / s
    return s, (np.sign(g) * keep).astype(np.int8)


def level_bits(levels: int) -> int:
    """Bits per element for integers in ``[-(levels-1)/2, (levels-1)/2]`` (``⌈lg levels⌉``)."""
    return max(1, math.ceil(math.log2(levels)))


def pack_levels(values: np.ndarray, bits: int) -> np.ndarray:
    """Pack small signed integers ``bits`` each (offset by ``2^(bits-1)``), little-endian bits.

    Value ``i`` occupies bits ``i·bits .. i·bits+bits-1`` of the stream (bit ``p`` is bit
    ``p mod 8`` of byte ``p // 8``); ``bits`` is 1..8 and ``n`` values take ``⌈n·bits/8⌉``
    bytes.
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    v = np.asarray(values).ravel().astype(np.int64) + (1 << (bits - 1))
    if v.size and (v.min() < 0 or v.max() >= (1 << bits)):
        raise ValueError(f"values do not fit in {bits} bits")
    codes = v.astype(np.uint8)
    if 8 % bits == 0:  # whole values per byte: shift and or
        per = 8 // bits
        padded = np.zeros(-(-codes.size // per) * per, dtype=np.uint8)
        padded[: codes.size] = codes
        grouped = padded.reshape(-1, per)
        out = np.zeros(grouped.shape[0], dtype=np.uint8)
        for j in range(per):
            out |= grouped[:, j] << np.uint8(j * bits)
        return out
    planes = np.stack([(codes >> np.uint8(j)) & np.uint8(1) for j in range(bits)], axis=1)
    return np.packbits(planes.ravel(), bitorder="little")


def unpack_levels(data: np.ndarray, n: int, bits: int) -> np.ndarray:
    """Invert :func:`pack_levels` for ``n`` values."""
    data = np.asarray(data, dtype=np.uint8)
    mask = np.uint8((1 << bits) - 1)
    if 8 % bits == 0:
        per = 8 // bits
        codes = np.stack([(data >> np.uint8(j * bits)) & mask for j in range(per)], axis=1).ravel()[
            :n
        ]
    else:
        planes = np.unpackbits(data, count=n * bits, bitorder="little").reshape(n, bits)
        codes = np.zeros(n, dtype=np.uint8)
        for j in range(bits):
            codes |= planes[:, j] << np.uint8(j)
    return codes.astype(np.int64) - (1 << (bits - 1))


def pack_ternary(t: np.ndarray) -> np.ndarray:
    """2 bits per ternary element: ``⌈n/4⌉`` bytes."""
    return pack_levels(t, 2)


def unpack_ternary(data: np.ndarray, n: int) -> np.ndarray:
    """Invert :func:`pack_ternary`."""
    return unpack_levels(data, n, 2).astype(np.int8)


def hoeffding_bound(range_sq_sum: np.ndarray | float, elements: int, delta: float) -> Any:
    """Half-width ``t`` with ``P(some |Σ(X_i - E X_i)| ≥ t) ≤ delta`` over ``elements`` sums.

    Hoeffding's inequality for a sum of independent (or martingale-difference) terms, each in
    an interval of width ``r_i``: ``P(|Σ| ≥ t) ≤ 2·exp(-2t²/Σr_i²)`` (Hoeffding, JASA 58, 1963,
    Thm 2; Azuma's extension to martingales), with a union bound over the ``elements``
    coordinates: ``t = sqrt(Σr_i² · ln(2·elements/delta) / 2)``.
    """
    return np.sqrt(np.asarray(range_sq_sum, dtype=float) * math.log(2 * elements / delta) / 2)
