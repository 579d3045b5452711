"""Closed forms of Neurosurgeon: latency and mobile energy of every split point.

Kang, Hauswald, Gao, Rovinski, Mudge, Mars & Tang, "Neurosurgeon: Collaborative Intelligence
Between the Cloud and Mobile Edge", ASPLOS 2017, §4 (Algorithm 1): with per-layer latencies
``m_i`` on the mobile and ``c_i`` in the cloud and the size ``D_k`` of what crosses the
network when the first ``k`` of ``L`` layers run on the mobile (the input for ``k = 0``, the
output of layer ``k - 1`` otherwise), the end-to-end latency of split ``k`` is

    T(k) = Σ_{i<k} m_i + [k < L] · (α_up + D_k / B_up + Σ_{i>=k} c_i + α_down + R / B_down)

with the links' one-way latency ``α`` and bandwidth ``B`` and ``R`` the result's bytes sent
back (the paper's cost is the same sum, with the upload time from the measured bandwidth).
The mobile's energy (the paper's other objective) is

    E(k) = P_compute · Σ_{i<k} m_i + [k < L] · (P_tx · (t_up + t_down) + P_idle · Σ_{i>=k} c_i)

counting the radio at ``P_tx`` for the whole transfer each way and the wait for the cloud at
``P_idle``. Neurosurgeon picks ``argmin_k`` of the objective; ties go to the smaller ``k``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_split", "split_energies", "split_latencies", "transfer_time"]


def transfer_time(latency: float, size: float, bandwidth: float) -> float:
    """One transfer alone on its path: ``α + size / B``."""
    return latency + size / bandwidth


def _parts(
    mobile: np.ndarray,
    cloud: np.ndarray,
    sent: np.ndarray,
    up: tuple[float, float],
    down: tuple[float, float],
    result: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per split ``k = 0..L``: mobile compute, uplink, cloud compute, downlink times."""
    m = np.asarray(mobile, dtype=float)
    c = np.asarray(cloud, dtype=float)
    size = np.asarray(sent, dtype=float)
    layers = m.size
    offloaded = np.arange(layers + 1) < layers
    on_mobile = np.concatenate([[0.0], np.cumsum(m)])
    in_cloud = np.concatenate([np.cumsum(c[::-1])[::-1], [0.0]])
    uplink = np.where(offloaded, up[0] + size / up[1], 0.0)
    downlink = np.where(offloaded, down[0] + result / down[1], 0.0)
    return on_mobile, uplink, in_cloud, downlink


def split_latencies(
    mobile: np.ndarray,
    cloud: np.ndarray,
    sent: np.ndarray,
    up: tuple[float, float],
    down: tuple[float, float],
    result: float,
) -> np.ndarray:
    """``T(k)`` for ``k = 0..L``: ``mobile``/``cloud`` per-layer seconds (length ``L``),
    ``sent[k]`` bytes uploaded at split ``k`` (length ``L + 1``), ``up``/``down`` as
    ``(latency s, bandwidth B/s)``, ``result`` bytes returned."""
    a, b, c, d = _parts(mobile, cloud, sent, up, down, result)
    return a + b + c + d


def split_energies(
    mobile: np.ndarray,
    cloud: np.ndarray,
    sent: np.ndarray,
    up: tuple[float, float],
    down: tuple[float, float],
    result: float,
    power: tuple[float, float, float],
) -> np.ndarray:
    """``E(k)`` in joules for ``k = 0..L`` with ``power = (compute, idle, transmit)`` watts."""
    a, b, c, d = _parts(mobile, cloud, sent, up, down, result)
    compute, idle, transmit = power
    return compute * a + transmit * (b + d) + idle * c


def best_split(values: np.ndarray) -> int:
    """Neurosurgeon's choice: the split with the smallest objective (the first on ties)."""
    return int(np.argmin(values))
