"""Closed forms of DDNN: bytes per sample and the latency of each exit's path.

Communication (Teerapittayanon, McDanel & Kung, ICDCS 2017, §IV-E): an end device sends its
class scores to the local aggregator, ``4·|C|`` bytes (float32), and, when the sample does not
leave at the local exit, its binary feature map, ``f·o/8`` bytes for ``f`` filters of ``o``
outputs each; so per device and sample ``c = 4·|C| + (1 - l)·f·o/8`` with ``l`` the fraction
of samples that leave locally. Offloading the raw input instead costs the image itself, one
byte per pixel and channel (the paper compares with 32×32 RGB images, 3,072 bytes).

Latency of a path (a sample alone in the system, every device identical): the devices compute
in parallel, then each fan-in phase (scores to the aggregator, the request back, feature maps
up) takes ``max_f(latency_f + size / rate_f)`` with ``rate_f`` each flow's share when all the
phase's flows start together (:func:`fan_in_time`); on a shared Wi-Fi medium ``V`` devices
get ``B / V`` each, which is the contention at the aggregator the simulation shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "bytes_per_device",
    "equal_share_rates",
    "fan_in_time",
    "path_latencies",
    "raw_bytes",
]


def bytes_per_device(
    classes: int, local_fraction: float, feature_elements: int, binary: bool
) -> float:
    """``c = 4·|C| + (1 - l)·f·o/8`` bytes (binary) or ``4·|C| + (1 - l)·4·f·o`` (float32
    feature maps), per device and sample (DDNN §IV-E)."""
    feature = np.ceil(feature_elements / 8) if binary else 4.0 * feature_elements
    return 4.0 * classes + (1.0 - local_fraction) * float(feature)


def raw_bytes(image_shape: Sequence[int]) -> float:
    """The raw input one camera would offload: one byte per pixel and channel."""
    return float(np.prod(image_shape))


def equal_share_rates(
    entry_flow: np.ndarray, entry_link: np.ndarray, capacity: np.ndarray, flows: int
) -> np.ndarray:
    """Each flow's rate when all ``flows`` flows of a symmetric pattern stream at once: the
    smallest ``capacity / (flows crossing the link)`` on its route (max-min fair sharing,
    Bertsekas & Gallager, "Data Networks", §6.5.2, reduces to this when every flow is limited
    by a link it shares equally with the others). ``entry_flow``/``entry_link`` are the
    pattern's flow-link incidence; ``capacity`` covers real links and media."""
    counts = np.bincount(entry_link, minlength=capacity.size)
    share = capacity[entry_link] / counts[entry_link]
    rates = np.full(flows, np.inf)
    np.minimum.at(rates, entry_flow, share)
    return rates


def fan_in_time(latency: np.ndarray, rate: np.ndarray, size: float) -> float:
    """When the last of a phase's flows arrives: ``max_f(latency_f + size / rate_f)``."""
    return float(np.max(np.asarray(latency) + size / np.asarray(rate)))


def path_latencies(
    device_s: float,
    scores_s: float,
    local_s: float,
    request_s: float,
    features_s: float,
    upper_s: list[float],
    forward_s: float,
) -> list[float]:
    """Latency of a sample leaving at each tier, bottom up.

    ``device_s`` the devices' compute, ``scores_s`` their scores' fan-in, ``local_s`` the local
    aggregation; then the request, the feature maps' fan-in, and ``upper_s`` the compute of
    the edge and the cloud (one entry without an edge tier) with ``forward_s`` the edge's
    feature map to the cloud between them.
    """
    local = device_s + scores_s + local_s
    paths = [local]
    t = local + request_s + features_s
    for k, compute in enumerate(upper_s):
        if k:
            t += forward_s
        t += compute
        paths.append(t)
    return paths
