"""Parameter-server cost model: traffic, the synchronous iteration time, straggler order statistics.

The cost view of the ``parameter_server`` kind (docs/architecture.md §1): pure functions of
numbers, no SimPy.

**Traffic.** Each of ``W`` workers pushes its gradient of ``G`` bytes (one shard of ``G/S`` to
each of ``S`` servers) and pulls the updated parameters (``G`` bytes) back: ``2·W·G`` bytes per
iteration, which is the lecture notes' ``2(N-1)G`` for ``N = W + 1`` nodes and one server. The
server's link carries ``W·G/S`` bytes each way per iteration; a worker's link carries ``G``.
With ``b`` backup workers only ``W-b`` gradients are pushed (the late ones are dropped before
they are sent), while all ``W`` workers pull.

**Synchronous iteration (contention-free).** A step is compute, a barrier, one push phase in
which every worker sends at once, and one pull phase::

    T = C_(W-b) + T_push + T_pull
    T_push = alpha_push + max( max_s (W-b)·G_s / B_in(s),  max_w G / B_out(w), G_s / B_route )
    T_pull = alpha_pull + max( max_s  W·G_s    / B_out(s), max_w G / B_in(w),  G_s / B_route )

``C_(W-b)`` is the ``(W-b)``-th smallest worker compute time (the slowest one without backup
workers), ``alpha`` the largest worker-server route latency, ``G_s`` the bytes of shard ``s``,
``B_in``/``B_out`` the total capacity of the links into/out of a node and ``B_route`` the
smallest bottleneck of a worker-server route. On a switch (star) every flow crosses its
worker's link and its server's link, max-min fair sharing gives each of the ``W·S`` flows
``min(B_s/W, B_w/S)`` and all flows of a phase end together, so the formula is exact; on a
fully connected topology every flow has its own link and the route term is exact. With one
server and equal links it is ``C + 2·(alpha + W·G/B)``: the central link is the bottleneck and
the time grows linearly with ``W`` (the lecture notes: "PS scheme is not scalable").
Aggregation and the update at the server are free (the alpha-beta model without its gamma
term). Where routes share links (an oversubscribed uplink) the simulation is slower.

**Stragglers.** When worker ``w``'s compute in an iteration is ``c_w·f`` with a random slowdown
``f``, the barrier waits for the ``(W-b)``-th order statistic, so the expected iteration time
adds ``E[X_(W-b:W)] - C_(W-b)``. :func:`expected_order_statistic` integrates
``E[X] = ∫ P(X > x) dx`` with the probability that more than ``b`` workers are still computing
(a Poisson-binomial recursion over workers, so unequal ``c_w`` are fine). For identical
exponential delays the mean maximum has the closed form ``1 + scale·H_W`` (the harmonic number;
David & Nagaraja, *Order Statistics*, 3rd ed., §3.1), which the tests use as a reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "expected_order_statistic",
    "order_statistic",
    "ps_bytes_total",
    "ps_phase_time",
    "ps_sync_iteration_time",
    "slowdown_cdf",
    "slowdown_support",
]

_GRID_POINTS = 20_001
_TAIL_SIGMAS = 9.0
_EXP_TAIL_SCALES = 45.0


def ps_bytes_total(
    workers: int, model_bytes: float, iterations: int = 1, backup_workers: int = 0
) -> float:
    """Bytes on the wire: ``(W-b)·G`` pushed plus ``W·G`` pulled per iteration (2·W·G if b=0)."""
    return float(iterations) * (2 * workers - backup_workers) * float(model_bytes)


def ps_phase_time(
    alpha: float,
    fan_in: int,
    shard_bytes: Sequence[float] | np.ndarray,
    server_bandwidth: Sequence[float] | np.ndarray,
    model_bytes: float,
    worker_bandwidth: Sequence[float] | np.ndarray,
    route_bandwidth: float = math.inf,
) -> float:
    """One push (or pull) phase: ``alpha + max(max_s fan_in·G_s/B_s, max_w G/B_w, G_s/B_route)``.

    ``fan_in`` workers exchange shard ``s`` (``shard_bytes[s]`` bytes) with server ``s`` at once;
    ``server_bandwidth[s]`` is the total capacity of the server's links in the phase's direction,
    ``worker_bandwidth`` the workers', and ``route_bandwidth`` the smallest bottleneck of a
    worker-server route (a flow never streams faster than its route allows: on a fully
    connected topology each flow has its own link and this term decides).
    """
    shards = np.asarray(shard_bytes, dtype=float)
    server_bw = np.asarray(server_bandwidth, dtype=float)
    worker_bw = np.asarray(worker_bandwidth, dtype=float)
    server_term = float((fan_in * shards / server_bw).max())
    worker_term = float((model_bytes / worker_bw).max())
    route_term = float(shards.max()) / route_bandwidth
    return alpha + max(server_term, worker_term, route_term)


def ps_sync_iteration_time(compute_s: float, push_s: float, pull_s: float) -> float:
    """A synchronous step: compute up to the barrier, then push, then pull (no overlap)."""
    return compute_s + push_s + pull_s


def order_statistic(values: Sequence[float] | np.ndarray, backup_workers: int = 0) -> float:
    """The ``(W-b)``-th smallest of ``values``: when a barrier that drops ``b`` late ones opens."""
    v = np.sort(np.asarray(values, dtype=float))
    return float(v[v.size - 1 - backup_workers])


# ------------------------------------------------------------------ straggler distributions
def slowdown_cdf(
    dist: str, factor: np.ndarray, *, mu: float = 0.0, sigma: float = 0.5, scale: float = 1.0
) -> np.ndarray:
    """CDF of the slowdown factor ``f`` at ``factor``.

    ``lognormal``: ``f = exp(mu + sigma·Z)`` (median ``e^mu``). ``exponential``: ``f = 1 + E``
    with ``E`` exponential of mean ``scale`` (the shifted-exponential straggler model).
    """
    x = np.asarray(factor, dtype=float)
    if dist == "lognormal":
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(x, 0.0)) - mu) / (sigma * math.sqrt(2.0))
        erf = np.frompyfunc(math.erf, 1, 1)
        return 0.5 * (1.0 + erf(z).astype(float))
    if dist == "exponential":
        return np.where(x <= 1.0, 0.0, -np.expm1(-(x - 1.0) / scale))
    raise ValueError(f"unknown slowdown distribution {dist!r}")


def slowdown_support(
    dist: str, *, mu: float = 0.0, sigma: float = 0.5, scale: float = 1.0
) -> tuple[float, float]:
    """Factors below/above which the CDF is 0/1 to double precision (for integration)."""
    if dist == "lognormal":
        return math.exp(mu - _TAIL_SIGMAS * sigma), math.exp(mu + _TAIL_SIGMAS * sigma)
    if dist == "exponential":
        return 1.0, 1.0 + _EXP_TAIL_SCALES * scale
    raise ValueError(f"unknown slowdown distribution {dist!r}")


def expected_order_statistic(
    base_s: Sequence[float] | np.ndarray, dist: str, backup_workers: int = 0, **shape: float
) -> float:
    """``E[X_(W-b:W)]`` for independent ``X_w = base_s[w]·f_w``, ``f_w`` drawn from ``dist``.

    This is the expected time at which all but ``backup_workers`` workers have finished
    computing: the barrier of a synchronous step. ``shape`` is ``mu``/``sigma`` (lognormal) or
    ``scale`` (exponential). Computed as ``x_lo + ∫_{x_lo}^{x_hi} P(X_(W-b) > x) dx`` on a
    log-spaced grid (trapezoid rule), with ``P`` from the Poisson-binomial recursion over the
    workers' CDFs; the result is accurate to about 1e-7 relative.
    """
    base = np.asarray(base_s, dtype=float)
    b = int(backup_workers)
    if base.size == 0 or b >= base.size:
        raise ValueError("need more workers than backup workers")
    positive = base[base > 0]
    if positive.size <= b:  # enough workers finish at once
        return 0.0
    f_lo, f_hi = slowdown_support(dist, **shape)
    x_lo, x_hi = float(positive.min()) * f_lo, float(positive.max()) * f_hi
    x = np.exp(np.linspace(math.log(x_lo), math.log(x_hi), _GRID_POINTS))
    # not_done[j] = P(exactly j of the workers seen so far are still computing at x), j <= b.
    not_done = np.zeros((b + 1, x.size))
    not_done[0] = 1.0
    cdf_cache: dict[float, np.ndarray] = {}
    for c in positive.tolist():
        done = cdf_cache.get(c)
        if done is None:
            done = cdf_cache[c] = slowdown_cdf(dist, x / c, **shape)
        shifted = np.vstack([np.zeros((1, x.size)), not_done[:-1]])
        not_done = not_done * done + shifted * (1.0 - done)
    survival = 1.0 - not_done.sum(axis=0)
    integrand = survival * x  # dx = x dt on the log grid
    dt = (math.log(x_hi) - math.log(x_lo)) / (_GRID_POINTS - 1)
    return x_lo + float(dt * (integrand.sum() - 0.5 * (integrand[0] + integrand[-1])))
