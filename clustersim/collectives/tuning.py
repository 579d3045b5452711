"""NCCL's tuner: which algorithm NCCL would run a collective with, from its own cost model.

NCCL picks, per call, the (algorithm, protocol) pair of least predicted time
(``getAlgoInfo`` in ``src/enqueue.cc``), with the model of ``src/graph/tuning.cc``
(``ncclTopoTuneModel`` and ``ncclTopoGetAlgoTime``). This module is that model, as NCCL 2.7.5
ships it (the release whose ``tuning.cc`` the constants below are copied from; later releases
retune the numbers and add algorithms such as NVLS, but keep the shape):

    time = latency + size / algorithm bandwidth           (µs, with bandwidths in GB/s)

* **latency** (µs): a base latency per (algorithm, protocol) plus per-step hardware latencies:
  the ring all-reduce pays ``2(p-1)`` steps, ``2(nodes-1)`` of them across the network; the tree
  pays ``2·((p/nodes - 1)·intra + log2(nodes)·inter)`` (a chain inside each node, a tree across
  nodes, up and down). The ring's latency grows ×1.9 past ``p/16 · 64 KiB`` on several nodes
  (NCCL's "plateau effect of ring").
* **bandwidth**: the bus bandwidth ``busBw`` (NCCL: channels × per-channel speed found by its
  topology search) converted to algorithm bandwidth: ring ``busBw · p / (2(p-1))`` for an
  all-reduce, tree ``busBw · 0.5``; the tree's bus bandwidth is ``min(0.9·busBw, 80 GB/s)`` (110
  GB/s on at most two nodes), the LL protocol divides bandwidth by 4 (ring) or 3.8 (tree), and
  a tree of a medium-sized message is slowed by NCCL's measured ``treeCorrectionFactor``.

Simplifications (the model is otherwise the code's, constant for constant):

* Protocols LL and Simple only. LL128 is enabled by default only on NVLink with Volta or Ampere
  GPUs (``tuning.cc``, ``pEnable``), and CollNet needs SHARP-capable switches; neither is
  modelled. The ``compCap80`` bandwidth caps (A100 only) are left out.
* ``busBw`` is the contention-free bottleneck bandwidth of the algorithm's routes on the
  simulated cluster (one channel at the link's full speed), where NCCL searches its topology.
* Nodes are the machines of the cluster: devices joined by direct device-to-device links
  (NVLink-like) form one machine; a device reached only through switches is a machine of its
  own. Links inside a machine are priced as NVLink (``hwLat[NVLINK]``), links between machines
  as network (``hwLat[NET]``).
* NCCL's "tree" is its double binary tree across nodes with chains inside them; clustersim runs
  it as :func:`~clustersim.collectives.trees.double_binary_tree_allreduce` over all ranks.
* Only the all-reduce has a choice to make: NCCL 2.7.5 runs broadcast, reduce, all-gather and
  reduce-scatter with the ring only (``tuning.cc`` skips every other algorithm for them), and
  an all-to-all is grouped point-to-point sends all posted at once (``direct`` here).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NCCL_VERSION", "NcclChoice", "nccl_allreduce_times", "nccl_choice"]

NCCL_VERSION = "2.7.5"
"""The NCCL release whose ``src/graph/tuning.cc`` the constants come from."""

_BASE_LAT = {
    ("tree", "LL"): 4.4,
    ("tree", "Simple"): 0.0,
    ("ring", "LL"): 3.6,
    ("ring", "Simple"): 8.4,
}
"""``baseLat`` (µs) of (algorithm, protocol)."""

_HW_LAT = {
    "nvlink": {("tree", "LL"): 0.52, ("tree", "Simple"): 28.0, ("ring", "LL"): 0.47,
               ("ring", "Simple"): 3.4},
    "net": {("tree", "LL"): 5.0, ("tree", "Simple"): 50.0, ("ring", "LL"): 2.7,
            ("ring", "Simple"): 9.6},
}  # fmt: skip
"""``hwLat`` (µs per step) of (algorithm, protocol) on NVLink and on the network."""

_TREE_CORRECTION = {
    "LL": (1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.4, 0.5, 0.6, 0.7,
           0.8, 0.9, 1.0, 1.0, 1.0),
    "Simple": (0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5,
               0.5, 0.6, 0.6, 0.7, 0.8, 0.9),
}  # fmt: skip
"""``treeCorrectionFactor[protocol][log2(bytes / 64)]``, powers of two from 64 B to 128 MiB."""

_ALGORITHM = {"ring": "ring", "tree": "double_binary_tree"}
"""NCCL's algorithm -> the clustersim all-reduce that runs it."""


def _log2i(n: int) -> int:
    """NCCL's ``log2i``: the floor of ``log2(n)``, 0 for ``n <= 1``."""
    return max(int(n).bit_length() - 1, 0)


def nccl_allreduce_times(
    size: float, p: int, nodes: int, ring_bw: float, tree_bw: float
) -> dict[tuple[str, str], float]:
    """NCCL's predicted all-reduce time (s) for each (algorithm, protocol).

    Args:
        size: bytes of the buffer.
        p: ranks.
        nodes: machines the ranks are on.
        ring_bw, tree_bw: bus bandwidth (bytes/s) of the ring and of the tree.
    """
    nbytes = int(size)
    steps, inter_steps = 2 * (p - 1), 2 * (nodes - 1)
    times: dict[tuple[str, str], float] = {}
    for protocol in ("LL", "Simple"):
        intra = _HW_LAT["nvlink"]
        inter = _HW_LAT["net"]
        # ring: busBw · p / nsteps, LL at a quarter of the bus bandwidth
        bus = ring_bw / 1e9 * (0.25 if protocol == "LL" else 1.0)
        bandwidth = bus * p / steps
        intra_lat = intra[("ring", protocol)] * (1.8 if nodes > 1 and protocol == "LL" else 1.0)
        latency = _BASE_LAT[("ring", protocol)] + (steps - inter_steps) * intra_lat
        latency += inter_steps * inter[("ring", protocol)]
        if protocol == "Simple" and nodes > 1 and nbytes >= p / 16.0 * 65536:
            latency *= 1.9  # NCCL: "Plateau effect of ring"
        times[("ring", protocol)] = (latency + nbytes / (1000 * bandwidth)) * 1e-6
        # tree: min(0.9 busBw, maxTreeBw) · 0.5, corrected for medium sizes
        bus = min(tree_bw / 1e9 * 0.9, 80.0 if nodes > 2 else 110.0)
        bus *= 1 / 3.8 if protocol == "LL" else 1.0
        bandwidth = bus * 0.5
        log_size = _log2i(nbytes >> 6)
        if log_size < 22:
            bandwidth *= _TREE_CORRECTION[protocol][log_size]
        intra_lat = intra[("tree", protocol)]
        intra_lat *= 1.8 if nodes > 1 and protocol == "LL" else 1.0
        latency = _BASE_LAT[("tree", protocol)] + 2 * (
            (p // nodes - 1) * intra_lat + _log2i(nodes) * inter[("tree", protocol)]
        )
        times[("tree", protocol)] = (latency + nbytes / (1000 * bandwidth)) * 1e-6
    return times


@dataclass(frozen=True)
class NcclChoice:
    """What NCCL's tuner picks for one call.

    Attributes:
        algorithm: the clustersim algorithm that runs NCCL's choice.
        nccl_algorithm, protocol: NCCL's names (``ring``/``tree``, ``LL``/``Simple``);
            empty when NCCL has no choice to make for the op.
        times: NCCL's predicted seconds per (algorithm, protocol), for an all-reduce.
    """

    algorithm: str
    nccl_algorithm: str = ""
    protocol: str = ""
    times: dict[tuple[str, str], float] | None = None


def nccl_choice(
    op: str, size: float, p: int, nodes: int, ring_bw: float, tree_bw: float
) -> NcclChoice:
    """The algorithm NCCL's tuner would run ``op`` of ``size`` bytes on ``p`` ranks with.

    Ties go to the first in NCCL's order (tree before ring, LL before Simple), as
    ``getAlgoInfo``'s strict ``<`` does.
    """
    if op == "alltoall":
        return NcclChoice("direct")
    if op != "allreduce":
        return NcclChoice("ring", "ring", "")
    times = nccl_allreduce_times(size, p, nodes, ring_bw, tree_bw)
    order = [("tree", "LL"), ("tree", "Simple"), ("ring", "LL"), ("ring", "Simple")]
    best = min(order, key=lambda key: (times[key], order.index(key)))
    return NcclChoice(_ALGORITHM[best[0]], best[0], best[1], times)
