"""Closed forms of distributed CNN and attention inference: halo bytes, partial-sum bytes,
attention steps, and the ideal latency of every partition on contention-free links.

Bytes:

* **Halo of a strided window** (:func:`halo_rows`): with tile boundaries that the stride
  divides (output boundary ``b``, input boundary ``b·s``), output rows ``[a, b)`` read input
  rows ``[a·s - p, b·s - p + d·(k - 1) + 1 - s)`` (Dumoulin & Visin, arXiv:1603.07285,
  relationship 15), so every internal boundary costs ``h = d·(k - 1) + 1 - s`` extra rows in
  all, ``p`` on one side and ``h - p`` on the other: 2 for a 3×3 convolution, 0 for a 2×2/2
  pooling. A grid adds the corners (:func:`halo_elements`).
* **Fused tiles** (:func:`fused_input_rows`): ``n`` output rows of a group need
  ``(n - 1)·s + d·(k - 1) + 1`` input rows per layer, applied from the last layer back
  (DeepThings' fused tile partitioning, Zhao et al., IEEE TCAD 2018, §III-A).
* **Channel-wise partial sums** (:func:`channel_partial_sum_bytes`): ``M`` workers holding
  input-channel slices each produce a full partial output map and reduce-scatter it: every
  worker sends ``(M - 1)/M`` of an output map, ``(M - 1)·C_out·H·W`` elements in all per
  convolution, the "significant communication overhead" of the lecture notes (after ADCNN,
  Zhang, Lin & Zhang, ICPP 2020).
* **Attention** (:func:`attention_bytes`, :func:`attention_steps`): split by heads
  (the notes' ``(B, L, E) -> (B, M, L, E/M)``; heads independent, one gather of ``B·L·E`` at
  the end) or along the sequence, where ``Q·K^T`` needs the other workers' keys and values: an
  all-gather of ``2·(M - 1)·B·L·E`` elements (a ring all-reduce of the zero-padded K and V,
  the notes' "all-reduce operation", moves twice that: :func:`sequence_allreduce_bytes`).
  FLOPs count matrix products only, a multiply-add as 2 (Narayanan et al., SC 2021, §5.1:
  ``8·B·L·E² + 4·B·L²·E`` for one attention layer).

Latency on contention-free links (each flow alone on its path takes ``latency + size /
bottleneck``, as the flow network gives it):

* :func:`staged_latency`: the critical path of scatter, stages, exchanges and gather.
* :func:`tile_stream_latency`: one worker's stream of tiles with ``prefetch`` in flight.
* :func:`fluid_bound`: a lower bound for tiles handed out as workers finish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PUBLISHED",
    "AttentionShape",
    "attention_bytes",
    "attention_steps",
    "channel_partial_sum_bytes",
    "fluid_bound",
    "fused_input_rows",
    "halo_elements",
    "halo_rows",
    "sequence_allreduce_bytes",
    "staged_latency",
    "tile_stream_latency",
]

PUBLISHED = {
    "adcnn_speedup_vs_single_device": 6.68,
    "adcnn_speedup_vs_cloud": 4.42,
    "modnn_speedup_low": 2.17,
    "modnn_speedup_high": 4.28,
    "modnn_bodp_delivery_saving": 0.30,
}
"""Figures the papers report, for comparison (never used to set a parameter).

ADCNN (Zhang, Lin & Zhang, "Adaptive Distributed Convolutional Neural Network Inference at the
Network Edge with ADCNN", ICPP 2020), as the lecture notes quote its evaluation: nine identical
Raspberry Pis (eight conv nodes, one central node) lower the average latency 6.68x against the
single-device scheme and 4.42x against the remote-cloud scheme. MoDNN (Mao et al., "MoDNN:
Local Distributed Mobile Computing System for Deep Neural Network", DATE 2017): 2.17x to 4.28x
with 2 to 4 worker nodes; BODP about 30% less data delivery time than a 2-D grid partition
(as issue 11 quotes MoDNN; the notes show BODP's figure for 4 workers without the number)."""


# ------------------------------------------------------------------------------- halos
def halo_rows(kernel: int, stride: int = 1, dilation: int = 1) -> int:
    """Extra input rows per internal tile boundary, both sides together: ``d·(k-1) + 1 - s``
    (never negative), for boundaries the stride divides."""
    return max(dilation * (kernel - 1) + 1 - stride, 0)


def halo_elements(height: int, width: int, rows: int, cols: int, halo: int) -> int:
    """Halo elements per channel that a ``rows × cols`` grid of tiles over an ``height ×
    width`` input exchanges for one layer of halo ``h`` (:func:`halo_rows`):
    ``(rows-1)·W·h + (cols-1)·H·h + (rows-1)·(cols-1)·h²``, the last term the corners."""
    return (
        (rows - 1) * width * halo
        + (cols - 1) * height * halo
        + (rows - 1) * (cols - 1) * halo * halo
    )


def fused_input_rows(rows_out: int, windows: Sequence[tuple[int, int, int]]) -> int:
    """Input rows ``n`` output rows of a fused group need, unclipped by the map's edges:
    ``n <- (n - 1)·s + d·(k - 1) + 1`` for every (kernel, stride, dilation) from the last
    layer back (DeepThings' FTP, Zhao et al. 2018, §III-A)."""
    n = rows_out
    for kernel, stride, dilation in reversed(windows):
        n = (n - 1) * stride + dilation * (kernel - 1) + 1
    return n


def channel_partial_sum_bytes(
    c_out: int, height: int, width: int, workers: int, dtype_bytes: int
) -> float:
    """Bytes a channel-wise split of one convolution moves when all ``workers`` hold input
    channels: ``(M - 1)·C_out·H·W`` elements (a reduce-scatter of the partial output maps)."""
    return float((workers - 1) * c_out * height * width * dtype_bytes)


# ---------------------------------------------------------------------------- attention
@dataclass(frozen=True)
class AttentionShape:
    """One self-attention layer: ``batch`` sequences (the notes' B) of ``seq_len`` tokens (L),
    embedding ``embed`` (E) in ``heads`` heads (M in the notes' head notation)."""

    batch: int
    seq_len: int
    embed: int
    heads: int


def attention_bytes(
    shape: AttentionShape, workers: int, partition: str, dtype_bytes: int, replicated: bool
) -> dict[str, float]:
    """Bytes of ``scatter``, ``exchange`` and ``gather`` of one attention layer on ``workers``.

    Head-wise: every worker needs the whole input (``M·B·L·E``, none if ``replicated``) and
    returns its heads (``B·L·E`` in all); sequence: ``B·L·E`` scattered in slices, keys and
    values all-gathered (``2·(M - 1)·B·L·E``), ``B·L·E`` gathered.
    """
    act = float(shape.batch * shape.seq_len * shape.embed * dtype_bytes)
    m = workers
    if partition == "head":
        return {"scatter": 0.0 if replicated else m * act, "exchange": 0.0, "gather": act}
    return {"scatter": 0.0 if replicated else act, "exchange": 2.0 * (m - 1) * act, "gather": act}


def sequence_allreduce_bytes(shape: AttentionShape, workers: int, dtype_bytes: int) -> float:
    """Bytes the sequence split would move with the notes' all-reduce instead of an
    all-gather: ring all-reduces (Patarasuk & Yuan, JPDC 2009: ``2(M-1)/M`` of the buffer per
    rank) of the zero-padded ``(B, L, E)`` K and V, ``4·(M - 1)·B·L·E`` in all."""
    act = float(shape.batch * shape.seq_len * shape.embed * dtype_bytes)
    return 2 * 2.0 * (workers - 1) / workers * act * workers


def attention_steps(
    shape: AttentionShape, workers: int, partition: str, dtype_bytes: int
) -> dict[str, list]:
    """(FLOP, bytes) entries of each worker's stages and of the central node, per kernel.

    Head-wise, worker ``i`` (``H/M`` heads, ``D = E/M`` columns): Q, K, V projections
    ``3·2·B·L·E·D``, scores ``2·B·L²·D``, softmax (no FLOPs counted, its traffic is), weighted
    values ``2·B·L²·D``; the central node applies ``W_O``: ``2·B·L·E²``. Sequence, worker ``i``
    (``n = L/M`` tokens, all weights): projections ``3·2·B·n·E²``; after the exchange, scores
    and weighted values ``2·2·B·n·L·E`` and ``W_O`` ``2·B·n·E²``. Bytes: weights read once,
    activations read and written once, the ``B·H·L×L`` (or ``n×L``) scores written, read by
    the softmax, written, read again.
    """
    b, L, e, h = shape.batch, shape.seq_len, shape.embed, shape.heads
    m, s = workers, float(dtype_bytes)
    if partition == "head":
        d, hl = e // m, h // m
        proj = (3 * 2.0 * b * L * e * d, s * (b * L * e + 3 * e * d + 3 * b * L * d))
        scores = (2.0 * b * L * L * d, s * (2 * b * L * d + b * hl * L * L))
        softmax = (0.0, s * 2 * b * hl * L * L)
        weighted = (2.0 * b * L * L * d, s * (b * hl * L * L + 2 * b * L * d))
        out = (2.0 * b * L * e * e, s * (2 * b * L * e + e * e))
        return {"worker": [[proj, scores, softmax, weighted]], "central": [out]}
    n = L // m
    proj = (3 * 2.0 * b * n * e * e, s * (b * n * e + 3 * e * e + 3 * b * n * e))
    scores = (2.0 * b * n * L * e, s * (b * n * e + b * L * e + b * h * n * L))
    softmax = (0.0, s * 2 * b * h * n * L)
    weighted = (2.0 * b * n * L * e, s * (b * h * n * L + b * L * e + b * n * e))
    out = (2.0 * b * n * e * e, s * (2 * b * n * e + e * e))
    return {"worker": [[proj], [scores, softmax, weighted, out]], "central": []}


# ------------------------------------------------------------------------------ latency
def staged_latency(
    arrival: np.ndarray,
    compute: np.ndarray,
    exchange: np.ndarray,
    gather: np.ndarray,
    head: float,
) -> tuple[float, np.ndarray]:
    """The critical path of a staged partition on contention-free links.

    Args:
        arrival: ``(M,)`` time each worker's scatter arrives (0 without one).
        compute: ``(S, M)`` seconds of each stage on each worker.
        exchange: ``(S, M, M)`` transfer time ``i -> j`` after stage ``s``, ``-inf`` where
            nothing is sent.
        gather: ``(M,)`` transfer time of each worker's output, ``-inf`` where nothing is sent.
        head: the central node's seconds after the gather.

    Worker ``i`` starts stage ``s`` when it finished stage ``s - 1`` and every transfer
    ``j -> i`` of stage ``s - 1`` arrived (sent when ``j`` finished it). Returns the latency and
    the ``(S, M)`` finish times.
    """
    stages, m = compute.shape
    done = np.zeros((stages, m))
    ready = np.asarray(arrival, dtype=float)
    for s in range(stages):
        done[s] = ready + compute[s]
        if s + 1 < stages:
            incoming = (done[s][:, None] + exchange[s]).max(axis=0)
            ready = np.maximum(done[s], incoming)
    return float((done[-1] + gather).max()) + head, done


def tile_stream_latency(
    send: Sequence[float], compute: Sequence[float], back: Sequence[float], prefetch: int
) -> float:
    """When the last result of one worker's tiles is back at the central node.

    Tile ``k``'s input takes ``send[k]`` seconds, its compute ``compute[k]``, its result
    ``back[k]``. The central node sends one tile at a time to the worker, tile ``k`` once tile
    ``k - 1`` has arrived and fewer than ``prefetch`` of its tiles are unfinished (a result
    back frees a place); the worker computes in order and returns results one at a time.
    """
    arrived = end = returned = 0.0
    back_at: list[float] = []
    for k in range(len(compute)):
        credit = back_at[k - prefetch] if k >= prefetch else 0.0
        arrived = max(arrived, credit) + send[k]
        end = max(arrived, end) + compute[k]
        returned = max(end, returned) + back[k]
        back_at.append(returned)
    return returned


def fluid_bound(tile_seconds: np.ndarray, first: float, last: float, head: float) -> float:
    """A lower bound on adaptive tiles: ``(M, T)`` seconds of tile ``t`` on worker ``i``,
    shared as a fluid at each worker's mean rate, after the first input arrives (``first``)
    and before the last result returns (``last``), then the head."""
    rates = 1.0 / tile_seconds.mean(axis=1)
    return first + tile_seconds.shape[1] / float(rates.sum()) + last + head
