"""Closed forms for FedMARL's baselines: FedAvg's latency and bandwidth terms without contention.

With every client taking part in every round (FedAvg), the round's latency is at least the
slowest client's contention-free round (download, local epochs, upload, each alone on its
path; the lecture notes: "the total latency of each training round [is] bottlenecked by the
straggler"), plus the server's aggregation: :func:`clustersim.federated.kind.analytic`'s
``round_time_mean_s`` with ``m = K``. The bandwidth is every client's upload every round. So

    w2 · Σ_t H_t ≥ w2 · T · max_n T_n,        w3 · Σ_t B_t = w3 · T · Σ_n bytes_n / 10⁶,

the first an equality on a contention-free topology and a lower bound when uploads share a
link or a Wi-Fi access point's airtime (:func:`fedavg_terms`).
"""

from __future__ import annotations

__all__ = ["fedavg_terms"]

MB = 1e6


def fedavg_terms(
    round_time: float,
    rounds: int,
    upload_bytes_per_round: float,
    weights: tuple[float, float, float],
) -> dict[str, float]:
    """FedAvg's total latency (s), uploads (bytes), and its latency and bandwidth terms."""
    _, w2, w3 = weights
    latency = rounds * round_time
    upload = rounds * upload_bytes_per_round
    return {
        "fedavg_latency_total_s": latency,
        "fedavg_upload_bytes": upload,
        "fedavg_latency_term": w2 * latency,
        "fedavg_bandwidth_term": w3 * upload / MB,
    }
