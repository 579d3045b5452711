"""The ``parameter_server`` workload kind: workers push gradients to sharded servers and pull.

A parameter server (Li et al., "Scaling Distributed Machine Learning with the Parameter Server",
OSDI 2014) keeps the model on ``S`` server nodes, each holding one shard of the parameters
(split as evenly as the elements allow). In every iteration each of ``W`` workers computes a
gradient of ``G`` bytes (``model_size``), pushes shard ``s`` of it to server ``s`` and pulls the
updated shards back: ``2·W·G`` bytes per iteration, the lecture notes' ``2(N-1)G`` for ``N``
nodes with one server, all through the server's link, which is why the scheme does not scale.

Three views (DESIGN.md §1):

* **kernel**: :func:`ps_push` adds a pushed gradient into the servers' shard accumulators;
  :func:`ps_aggregate` applies a set of pushes and returns the concatenated shards. With
  ``verify: true`` the processes call it on real numpy gradients and the check
  ``ps_aggregate_equals_sum`` compares the sharded sums with the direct sum.
* **process**: one SimPy process per worker (compute on its device, then push, then pull) and,
  in ``sync`` mode, one server process that runs the barrier. Pushes and pulls are flow batches
  on the FlowNetwork: in ``sync`` one batch of ``(W-b)·S`` push flows and one of ``W·S`` pull
  flows per step; in ``async``/``ssp`` one batch of ``S`` flows per worker and phase.
* **cost**: :mod:`clustersim.training.parameter_server.costs`.

Modes:

* ``sync``: bulk-synchronous steps. All workers start a step together from the same
  parameters; the server waits (the barrier) for the first ``W-b`` gradients, then those
  workers push at once, then every worker pulls. With ``backup_workers: b`` the ``b`` workers
  still computing at the barrier abandon their step and their gradients are dropped: the
  backup workers of Chen, Pan, Monga, Bengio & Jozefowicz, "Revisiting Distributed
  Synchronous SGD", arXiv:1604.00981 (2016), §3 (the lecture notes' "backup nodes").
  TensorFlow's SyncReplicasOptimizer lets a late worker finish and discards its stale gradient
  at the server; abandoning it at the barrier keeps every worker on the same step, so the step
  time is the ``(W-b)``-th order statistic of the compute times plus the communication.
* ``async``: each worker loops compute, push, pull on its own; the server applies every
  gradient when its push has fully arrived (Dean et al., "Large Scale Distributed Deep
  Networks", NIPS 2012, Downpour SGD). A gradient's *staleness* is the number of updates the
  server applied between the worker's pull of the parameters it used and the arrival of the
  gradient.
* ``ssp``: stale synchronous parallel (Ho et al., "More Effective Distributed ML via a Stale
  Synchronous Parallel Parameter Server", NIPS 2013): as ``async``, but a worker may start
  iteration ``c`` only when the slowest worker has finished iteration ``c - staleness - 1``,
  i.e. the clock gap never exceeds ``staleness``; ``staleness: 0`` is bulk-synchronous.

Stragglers: ``stragglers`` multiplies each worker's compute in each iteration by a factor, from
``{dist: lognormal, sigma, mu}`` (``exp(mu + sigma·Z)``), ``{dist: exponential, scale}``
(``1 + Exp(mean=scale)``), drawn from ``cluster.sim.rng("stragglers")`` as an
``(iterations, workers)`` array, or a fixed list with one factor per worker. The device's own
``cluster.slowdown`` applies on top.

Nodes: the servers are the devices with ``role: ps`` in a custom topology, otherwise the first
``servers`` devices in rank order; the workers are the next ``workers`` devices. Server-side
aggregation is free (no gamma term).
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from clustersim.collectives.kernels import chunk_lengths
from clustersim.errors import InputError
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.network import FlowPattern
from clustersim.kinds.contract import Outcome, WorkloadKind, check
from clustersim.kinds.validation import validate_nested
from clustersim.training.parameter_server.costs import (
    expected_order_statistic,
    order_statistic,
    ps_bytes_total,
    ps_phase_time,
    ps_sync_iteration_time,
)
from clustersim.units import Bytes, Flops, format_bytes, parse_flops, parse_time

__all__ = [
    "ComputeWork",
    "ParameterServerParams",
    "StragglerDistribution",
    "analytic",
    "ps_aggregate",
    "ps_push",
    "simulate",
]

VERIFY_MEMORY_LIMIT = 256 * 2**20
"""Bytes of gradient buffers one verified step may hold; above it verify is refused."""


# ------------------------------------------------------------------------------------ params
class ComputeWork(BaseModel):
    """Per-iteration work of a worker, timed with its device's roofline."""

    model_config = ConfigDict(extra="forbid")

    flops: Flops = Field(description="FLOP per iteration per worker, e.g. 2 TFLOP")
    bytes: Bytes = Field(0.0, description="bytes of device memory traffic per iteration")

    @field_validator("flops", "bytes")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if not value >= 0:
            raise InputError(f"must be non-negative, got {value!r}")
        return value


class StragglerDistribution(BaseModel):
    """A random per-worker, per-iteration compute slowdown factor."""

    model_config = ConfigDict(extra="forbid")

    dist: Literal["lognormal", "exponential"]
    sigma: float = Field(0.5, description="lognormal: std-dev of log f")
    mu: float = Field(0.0, description="lognormal: mean of log f (median e^mu)")
    scale: float = Field(1.0, description="exponential: mean of f - 1")

    @model_validator(mode="after")
    def _fields_match_dist(self) -> StragglerDistribution:
        own = {"lognormal": {"sigma", "mu"}, "exponential": {"scale"}}[self.dist]
        foreign = sorted((self.model_fields_set - {"dist"}) - own)
        if foreign:
            raise InputError(
                f"{', '.join(foreign)} does not apply to dist {self.dist!r}; "
                f"its parameters are {', '.join(sorted(own))}"
            )
        for name in sorted(own):
            value = getattr(self, name)
            if name == "mu" and not math.isfinite(value):
                raise InputError(f"mu must be a finite number, got {value!r}")
            if name != "mu" and not (math.isfinite(value) and value > 0):
                raise InputError(f"{name} must be a positive finite number, got {value!r}")
        return self

    def shape(self) -> dict[str, float]:
        """Keyword arguments for :func:`~clustersim.training.parameter_server.costs.expected_order_statistic`."""
        if self.dist == "lognormal":
            return {"mu": self.mu, "sigma": self.sigma}
        return {"scale": self.scale}

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Slowdown factors of the given shape."""
        if self.dist == "lognormal":
            return rng.lognormal(self.mu, self.sigma, size=shape)
        return 1.0 + rng.exponential(self.scale, size=shape)


_FLOP_STRING = re.compile(r"FLOP\s*$")


class ParameterServerParams(BaseModel):
    """Parameters of ``kind: parameter_server``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["parameter_server"] = "parameter_server"
    workers: int | None = Field(
        None, ge=1, description="worker count (default: every device that is not a server)"
    )
    servers: int | None = Field(
        None,
        ge=1,
        description="server count, parameters sharded evenly (default: the role: ps nodes, else 1)",
    )
    model_size: Bytes = Field(description="G: bytes of gradients (= bytes of parameters)")
    dtype: Literal["float16", "float32", "float64"] = Field(
        "float32", description="gradient element type: shards are whole elements"
    )
    compute: float | ComputeWork = Field(
        0.0,
        description="per-iteration compute per worker: a time (20 ms) or FLOPs (2 TFLOP, "
        "or {flops, bytes}) run on the device roofline",
    )
    iterations: int = Field(10, ge=1)
    mode: Literal["sync", "async", "ssp"] = "sync"
    staleness: int | None = Field(None, ge=0, description="ssp: the clock-gap bound")
    backup_workers: int = Field(
        0, ge=0, description="sync: proceed with the first workers - backup_workers gradients"
    )
    stragglers: StragglerDistribution | list[float] | None = Field(
        None,
        description="compute slowdown: {dist: lognormal, sigma: 0.5}, {dist: exponential, "
        "scale: 1}, or one factor per worker",
    )
    verify: bool = Field(False, description="replay the sharded aggregation on numpy gradients")

    @field_validator("compute", mode="before")
    @classmethod
    def _parse_compute(cls, value: Any) -> Any:
        if isinstance(value, ComputeWork):
            return value
        if isinstance(value, dict):
            return validate_nested(ComputeWork, value)
        if isinstance(value, str) and _FLOP_STRING.search(value):
            return {"flops": parse_flops(value)}
        try:
            seconds = parse_time(value)
        except InputError as exc:
            raise InputError(
                f"compute must be a time such as '20 ms', a FLOP count such as '2 TFLOP', or "
                f"{{flops: ..., bytes: ...}}; {exc}"
            ) from None
        if seconds < 0:
            raise InputError(f"compute must be a non-negative time, got {value!r}")
        return seconds

    @field_validator("model_size")
    @classmethod
    def _positive_size(cls, value: float) -> float:
        if not value > 0:
            raise InputError(f"model_size must be a positive number of bytes, got {value!r}")
        return value

    @field_validator("stragglers", mode="before")
    @classmethod
    def _parse_stragglers(cls, value: Any) -> Any:
        if value is None or isinstance(value, StragglerDistribution):
            return value
        if isinstance(value, dict):
            return validate_nested(StragglerDistribution, value)
        if (
            isinstance(value, list)
            and value
            and all(
                isinstance(f, (int, float))
                and not isinstance(f, bool)
                and math.isfinite(f)
                and f > 0
                for f in value
            )
        ):
            return [float(f) for f in value]
        raise InputError(
            "expected {dist: lognormal, sigma: 0.5}, {dist: exponential, scale: 1} or a list "
            f"with one positive finite factor per worker, got {value!r}"
        )

    @model_validator(mode="after")
    def _consistent(self) -> ParameterServerParams:
        itemsize = np.dtype(self.dtype).itemsize
        if self.model_size % itemsize:
            raise InputError(
                f"model_size {format_bytes(self.model_size)} is not a whole number of "
                f"{self.dtype} elements ({itemsize} B each)"
            )
        if self.mode == "ssp" and self.staleness is None:
            raise InputError("mode ssp needs a staleness bound (staleness: 0, 1, 2, ...)")
        if self.mode != "ssp" and self.staleness is not None:
            raise InputError(
                f"staleness ({self.staleness}) applies only to mode ssp, got mode {self.mode!r}"
            )
        if self.backup_workers and self.mode != "sync":
            raise InputError(
                f"backup_workers ({self.backup_workers}) applies only to mode sync, "
                f"got mode {self.mode!r}"
            )
        if self.workers is not None:
            _check_worker_counts(self, self.workers)
        return self


def _check_worker_counts(params: ParameterServerParams, workers: int) -> None:
    if params.backup_workers >= workers:
        raise InputError(
            f"backup_workers ({params.backup_workers}) must be less than workers ({workers}): "
            "a step needs at least one gradient"
        )
    if isinstance(params.stragglers, list) and len(params.stragglers) != workers:
        raise InputError(
            f"stragglers: a fixed list needs one factor per worker ({workers}), got "
            f"{len(params.stragglers)} factors"
        )


# ------------------------------------------------------------------------------------ kernel
def ps_push(accumulators: list[np.ndarray], gradient: np.ndarray, lengths: np.ndarray) -> None:
    """Add ``gradient`` into the servers' shard accumulators, shard ``s`` into server ``s``."""
    start = 0
    for acc, length in zip(accumulators, lengths.tolist(), strict=True):
        acc += gradient[start : start + length]
        start += length


def ps_aggregate(
    gradients: np.ndarray, lengths: np.ndarray, accumulators: list[np.ndarray] | None = None
) -> np.ndarray:
    """Push every row of ``gradients`` (in order) to sharded servers; return the joined shards.

    Each server sums its shard in the gradients' dtype, one push after another, as a server
    applying pushes in arrival order would. ``accumulators`` carries sums across calls.
    """
    if accumulators is None:
        accumulators = [np.zeros(int(n), dtype=gradients.dtype) for n in lengths]
    for row in gradients:
        ps_push(accumulators, row, lengths)
    return np.concatenate(accumulators)


class _Verifier:
    """Draws gradients, runs the kernel, and tracks the worst error against the float64 sum.

    Float tolerance as in :mod:`clustersim.collectives.kernels`: a sequential sum of ``n`` terms
    errs by at most ``(n-1)·u·Σ|x|`` (Higham, *Accuracy and Stability of Numerical Algorithms*,
    2nd ed., §4.2); the check allows twice that, so a missing or doubled push fails.
    """

    def __init__(
        self, cluster: Cluster, params: ParameterServerParams, lengths: np.ndarray, workers: int
    ) -> None:
        self.dtype = np.dtype(params.dtype)
        self.elements = int(lengths.sum())
        needed = 2 * workers * self.elements * self.dtype.itemsize
        if needed > VERIFY_MEMORY_LIMIT:
            raise InputError(
                f"workload.verify: replaying {workers} gradients of "
                f"{format_bytes(params.model_size, 3)} needs {format_bytes(needed, 3)}, over "
                f"the {format_bytes(VERIFY_MEMORY_LIMIT)} limit; set verify: false for a "
                "timing-only run, or use a smaller model_size"
            )
        self.lengths = lengths
        self.rng = cluster.sim.rng("parameter_server.gradients")
        self.unit_roundoff = float(np.finfo(self.dtype).eps) / 2
        self.passed = True
        self.max_abs_err = 0.0
        self.tolerance = 0.0
        self.pushes = 0
        # async / ssp: running sums over the whole run
        self.accumulators = [np.zeros(int(n), dtype=self.dtype) for n in lengths]
        self.reference = np.zeros(self.elements)
        self.magnitude = np.zeros(self.elements)
        self.terms = 0

    def gradients(self, count: int) -> np.ndarray:
        """``count`` gradients uniform in [-1, 1): signed, so that sums cancel as gradients do."""
        draw = self.dtype if self.dtype == np.float64 else np.dtype(np.float32)
        values = self.rng.random((count, self.elements), dtype=draw)
        values *= 2
        values -= 1
        return values.astype(self.dtype, copy=False)

    def _compare(
        self, result: np.ndarray, reference: np.ndarray, magnitude: np.ndarray, terms: int
    ) -> None:
        bound = 2.0 * max(terms - 1, 1) * self.unit_roundoff * magnitude
        error = np.abs(result.astype(np.float64) - reference)
        if error.size:
            self.max_abs_err = max(self.max_abs_err, float(error.max()))
            self.tolerance = max(self.tolerance, float(bound.max()))
            self.passed &= bool((error <= bound).all())

    def step(self, gradients: np.ndarray) -> None:
        """A synchronous step: aggregate the accepted gradients and compare at once."""
        self.pushes += len(gradients)
        result = ps_aggregate(gradients, self.lengths)
        wide = gradients.astype(np.float64)
        self._compare(result, wide.sum(axis=0), np.abs(wide).sum(axis=0), len(gradients))

    def push(self, gradient: np.ndarray) -> None:
        """An asynchronous push into the running sums."""
        self.pushes += 1
        self.terms += 1
        ps_push(self.accumulators, gradient, self.lengths)
        wide = gradient.astype(np.float64)
        self.reference += wide
        self.magnitude += np.abs(wide)

    def record(self) -> dict[str, Any]:
        if self.terms:
            self._compare(
                np.concatenate(self.accumulators), self.reference, self.magnitude, self.terms
            )
        return check(
            self.passed, max_abs_err=self.max_abs_err, tolerance=self.tolerance, pushes=self.pushes
        )


# ------------------------------------------------------------------------------ nodes, setup
@dataclass
class _Layout:
    servers: list[str]
    workers: list[str]
    shard_bytes: np.ndarray  # per server
    lengths: np.ndarray  # elements per server


def _layout(cluster: Cluster, params: ParameterServerParams) -> _Layout:
    devices = cluster.ranks
    ps_nodes = [n for n in devices if cluster.graph.nodes[n].get("role") == "ps"]
    switches_ps = [
        n
        for n, d in cluster.graph.nodes(data=True)
        if d.get("role") == "ps" and d.get("kind") != "device"
    ]
    if switches_ps:
        raise InputError(
            f"node {switches_ps[0]!r} has role ps but is a switch; a parameter "
            "server must be a device node"
        )
    if ps_nodes:
        if params.servers is not None and params.servers != len(ps_nodes):
            raise InputError(
                f"workload.servers is {params.servers} but the topology has {len(ps_nodes)} "
                f"nodes with role: ps ({', '.join(ps_nodes[:6])}); drop servers or make them "
                "agree"
            )
        servers = ps_nodes
    else:
        count = params.servers or 1
        if count >= len(devices):
            raise InputError(
                f"workload.servers ({count}) leaves no worker: the cluster has {len(devices)} "
                "devices"
            )
        servers = devices[:count]
    others = [n for n in devices if n not in set(servers)]
    workers = params.workers if params.workers is not None else len(others)
    if workers > len(others):
        raise InputError(
            f"servers + workers ({len(servers)} + {workers}) is more than the cluster's "
            f"{len(devices)} devices; lower workers or add nodes to cluster.topology"
        )
    if workers < 1:
        raise InputError("the cluster has no device left to be a worker")
    _check_worker_counts(params, workers)
    itemsize = np.dtype(params.dtype).itemsize
    elements = int(params.model_size) // itemsize
    if elements < len(servers):
        raise InputError(
            f"model_size {format_bytes(params.model_size)} has {elements} {params.dtype} "
            f"elements, fewer than the {len(servers)} servers it is sharded across"
        )
    lengths = chunk_lengths(elements, len(servers))
    return _Layout(servers, others[:workers], (lengths * itemsize).astype(float), lengths)


def _base_compute(
    cluster: Cluster, params: ParameterServerParams, workers: list[str]
) -> np.ndarray:
    """Seconds of one iteration's compute per worker, before any slowdown."""
    if isinstance(params.compute, ComputeWork):
        return np.array(
            [
                cluster.devices[w].spec.roofline_time(params.compute.flops, params.compute.bytes)
                for w in workers
            ]
        )
    return np.full(len(workers), float(params.compute))


def _factors(cluster: Cluster, params: ParameterServerParams, workers: int) -> np.ndarray:
    """Straggler factors, shape (iterations, workers)."""
    shape = (params.iterations, workers)
    if params.stragglers is None:
        return np.ones(shape)
    if isinstance(params.stragglers, list):
        return np.broadcast_to(np.asarray(params.stragglers, dtype=float), shape)
    return params.stragglers.draw(cluster.sim.rng("stragglers"), shape)


# ---------------------------------------------------------------------------------- process
@dataclass
class _Run:
    """Shared state of one simulated parameter-server run."""

    cluster: Cluster
    params: ParameterServerParams
    layout: _Layout
    base: np.ndarray  # per worker, seconds
    factors: np.ndarray  # (iterations, workers)
    verifier: _Verifier | None
    # per-flow streaming intervals touching each server (for the link's busy fraction)
    link_start: list[np.ndarray] = field(default_factory=list)
    link_end: list[np.ndarray] = field(default_factory=list)
    link_server: list[np.ndarray] = field(default_factory=list)
    bytes_pushed: float = 0.0
    bytes_pulled: float = 0.0
    compute_total: float = 0.0
    comm_total: float = 0.0
    idle_total: float = 0.0
    dropped: int = 0
    staleness: list[int] = field(default_factory=list)
    clock_gap_max: int = 0
    _patterns: dict[tuple[str, tuple[int, ...]], FlowPattern] = field(default_factory=dict)

    @property
    def n_workers(self) -> int:
        return len(self.layout.workers)

    def pattern(self, direction: str, workers: tuple[int, ...]) -> FlowPattern:
        """Flows worker-major, server-minor: push worker->server, pull server->worker."""
        key = (direction, workers)
        pattern = self._patterns.get(key)
        if pattern is None:
            net = self.cluster.network
            w_idx = self.cluster.rank_indices([self.layout.workers[w] for w in workers])
            s_idx = self.cluster.rank_indices(self.layout.servers)
            w_col = np.repeat(w_idx, s_idx.size)
            s_col = np.tile(s_idx, w_idx.size)
            pattern = (
                net.pattern(w_col, s_col) if direction == "push" else net.pattern(s_col, w_col)
            )
            self._patterns[key] = pattern
        return pattern

    def transfer(
        self, direction: str, workers: tuple[int, ...], label: str
    ) -> Generator[Any, Any, None]:
        """Push (or pull) every shard between ``workers`` and the servers, as one batch."""
        pattern = self.pattern(direction, workers)
        sizes = np.tile(self.layout.shard_bytes, len(workers))
        submitted = self.cluster.sim.now
        finish = yield self.cluster.network.transfer_all(pattern, sizes, label)
        self.link_start.append(submitted + pattern.latency)
        self.link_end.append(np.asarray(finish, dtype=float))
        self.link_server.append(np.tile(np.arange(len(self.layout.servers)), len(workers)))
        total = float(sizes.sum())
        if direction == "push":
            self.bytes_pushed += total
        else:
            self.bytes_pulled += total

    def compute(
        self, w: int, seconds_before_slowdown: float, fraction: float = 1.0
    ) -> Generator[Any, Any, float]:
        """Run worker ``w``'s compute (``fraction`` of the FLOPs when abandoned early)."""
        device = self.cluster.devices[self.layout.workers[w]]
        work = self.params.compute
        flops, moved = (work.flops, work.bytes) if isinstance(work, ComputeWork) else (0.0, 0.0)
        start = self.cluster.sim.now
        end = yield from device.compute(
            flops * fraction, moved * fraction, duration=seconds_before_slowdown, label="gradient"
        )
        self.compute_total += end - start
        return end

    def server_busy_s(self) -> np.ndarray:
        """Per server: time during which some flow to or from it was streaming (union)."""
        n = len(self.layout.servers)
        busy = np.zeros(n)
        if not self.link_start:
            return busy
        start = np.concatenate(self.link_start)
        end = np.concatenate(self.link_end)
        server = np.concatenate(self.link_server)
        for s in range(n):
            mine = server == s
            order = np.argsort(start[mine], kind="stable")
            a = start[mine][order]
            b = np.maximum.accumulate(end[mine][order])
            if a.size == 0:
                continue
            new = np.empty(a.size, dtype=bool)
            new[0] = True
            new[1:] = a[1:] > b[:-1]
            firsts = np.flatnonzero(new)
            lasts = np.append(firsts[1:] - 1, a.size - 1)
            busy[s] = float((b[lasts] - a[firsts]).sum())
        return busy


def _sync_processes(run: _Run) -> None:
    """Bulk-synchronous steps: per-worker compute processes and one server process."""
    sim = run.cluster.sim
    env = sim.env
    params = run.params
    w_count = run.n_workers
    need = w_count - params.backup_workers
    slow = np.array([run.cluster.devices[w].slowdown for w in run.layout.workers])
    durations = run.base * run.factors * slow  # effective compute seconds (iterations, workers)
    order = np.argsort(durations, axis=1, kind="stable")
    accepted = np.sort(order[:, :need], axis=1)
    barrier_after = np.take_along_axis(durations, order[:, need - 1 : need], axis=1)[:, 0]
    is_accepted = np.zeros(durations.shape, dtype=bool)
    np.put_along_axis(is_accepted, accepted, True, axis=1)
    barriers = [env.event() for _ in range(params.iterations)]
    params_ready = [env.event() for _ in range(params.iterations)]
    arrived = np.zeros(params.iterations, dtype=np.int64)
    compute_end = np.zeros(durations.shape)

    def worker(w: int) -> Generator[Any, Any, None]:
        for k in range(params.iterations):
            if is_accepted[k, w]:
                end = yield from run.compute(w, run.base[w] * run.factors[k, w])
                compute_end[k, w] = end
                arrived[k] += 1
                if arrived[k] == need:
                    barriers[k].succeed(end)
            else:  # a late worker: abandons its step at the barrier, gradient dropped
                fraction = barrier_after[k] / durations[k, w] if durations[k, w] > 0 else 1.0
                yield from run.compute(w, barrier_after[k] / slow[w], fraction)
                run.dropped += 1
            yield params_ready[k]

    def server() -> Generator[Any, Any, None]:
        for k in range(params.iterations):
            barrier = yield barriers[k]
            ok = accepted[k]
            run.idle_total += float((barrier - compute_end[k, ok]).sum())
            if run.verifier is not None:
                grads = run.verifier.gradients(len(ok))
            yield from run.transfer("push", tuple(ok.tolist()), f"push {k}")
            if run.verifier is not None:
                run.verifier.step(grads)
            yield from run.transfer("pull", tuple(range(w_count)), f"pull {k}")
            run.comm_total += (env.now - barrier) * w_count
            params_ready[k].succeed()

    for w in range(w_count):
        sim.process(worker(w), name=f"ps worker {run.layout.workers[w]}")
    sim.process(server(), name="ps server (sync barrier)")


def _async_processes(run: _Run) -> None:
    """Asynchronous (and stale-synchronous) workers, each looping compute, push, pull."""
    sim = run.cluster.sim
    env = sim.env
    params = run.params
    w_count = run.n_workers
    bound = params.staleness if params.mode == "ssp" else None
    clock = np.zeros(w_count, dtype=np.int64)
    state = {"version": 0, "advanced": env.event()}
    read_version = np.zeros(w_count, dtype=np.int64)

    def worker(w: int) -> Generator[Any, Any, None]:
        for k in range(params.iterations):
            run.clock_gap_max = max(run.clock_gap_max, int(k - clock.min()))
            yield from run.compute(w, run.base[w] * run.factors[k, w])
            grad = run.verifier.gradients(1)[0] if run.verifier is not None else None
            t0 = env.now
            yield from run.transfer("push", (w,), f"push {k}")
            run.staleness.append(state["version"] - int(read_version[w]))
            state["version"] += 1
            if grad is not None and run.verifier is not None:
                run.verifier.push(grad)
            clock[w] = k + 1
            advanced, state["advanced"] = state["advanced"], env.event()
            advanced.succeed()
            t1 = env.now
            if bound is not None and k + 1 < params.iterations:
                while k + 1 - clock.min() > bound:
                    yield state["advanced"]
            waited = env.now - t1
            run.idle_total += waited
            yield env.timeout(0)  # let every push that arrived at this instant be applied
            read_version[w] = state["version"]
            yield from run.transfer("pull", (w,), f"pull {k}")
            run.comm_total += env.now - t0 - waited

    for w in range(w_count):
        sim.process(worker(w), name=f"ps worker {run.layout.workers[w]}")


def simulate(cluster: Cluster, params: ParameterServerParams) -> Outcome:
    """Run ``iterations`` steps from t=0 and measure traffic, utilisation and waiting."""
    layout = _layout(cluster, params)
    w_count = len(layout.workers)
    verifier = _Verifier(cluster, params, layout.lengths, w_count) if params.verify else None
    run = _Run(
        cluster,
        params,
        layout,
        _base_compute(cluster, params, layout.workers),
        _factors(cluster, params, w_count),
        verifier,
    )
    if params.mode == "sync":
        _sync_processes(run)
    else:
        _async_processes(run)
    sim = cluster.sim
    sim.run()
    makespan = sim.now
    iters = params.iterations
    worker_iters = w_count * iters
    busy = run.server_busy_s()
    metrics: dict[str, Any] = {
        "time_per_iteration_s": makespan / iters,
        "time_s": makespan,
        "iterations": iters,
        "workers": w_count,
        "servers": len(layout.servers),
        **cluster.standard_metrics(),
        "bytes_pushed": run.bytes_pushed,
        "bytes_pulled": run.bytes_pulled,
        "server_link_utilization": float(busy.mean() / makespan) if makespan > 0 else 0.0,
        "compute_s": run.compute_total / worker_iters,
        "communication_s": run.comm_total / worker_iters,
        "straggler_idle_s": run.idle_total,
        "straggler_idle_fraction": (run.idle_total / (w_count * makespan) if makespan > 0 else 0.0),
        "gradients_dropped": run.dropped,
    }
    if params.mode != "sync":
        stale = np.asarray(run.staleness)
        metrics.update(
            {
                "staleness_mean": float(stale.mean()),
                "staleness_max": int(stale.max()),
                "clock_gap_max": run.clock_gap_max,
            }
        )
    metrics["sim_events"] = sim.events_processed
    checks = {"ps_aggregate_equals_sum": verifier.record()} if verifier is not None else {}
    return Outcome(metrics=metrics, checks=checks)


# ----------------------------------------------------------------------------------- analytic
def _link_capacity(cluster: Cluster, names: list[str], into: bool) -> np.ndarray:
    """Total capacity of the directed links into (or out of) each named node."""
    net = cluster.network
    column = 1 if into else 0
    total = np.bincount(net.link_ends[:, column], weights=net.capacity, minlength=len(net.nodes))
    return total[cluster.rank_indices(names)]


def analytic(cluster: Cluster, params: ParameterServerParams) -> dict[str, Any]:
    """The contention-free synchronous step (:mod:`~clustersim.training.parameter_server.costs`).

    ``time_per_iteration_s = C + T_push + T_pull`` with the compute ``C`` of the slowest
    accepted worker and no straggler slowdown, ``T_push = alpha + max((W-b)·G_s/B_in(server),
    G/B_out(worker))`` and ``T_pull = alpha + max(W·G_s/B_out(server), G/B_in(worker))``: with
    one server on a switch, ``C + 2·(alpha + W·G/B)``, ``alpha`` being the two-hop route latency.
    Without stragglers ``async`` and ``ssp`` run in lock-step and take the same time. With
    stragglers, ``time_per_iteration_with_stragglers_s`` (sync) replaces ``C`` by the expected
    ``(W-b)``-th order statistic of the slowed compute times (exact for a fixed list).
    ``bytes_max_link`` and ``server_link_utilization`` assume each server has a single link.
    """
    layout = _layout(cluster, params)
    w_count = len(layout.workers)
    b = params.backup_workers
    iters = params.iterations
    G = float(params.model_size)
    push_pattern = cluster.network.pattern(
        np.repeat(cluster.rank_indices(layout.workers), len(layout.servers)),
        np.tile(cluster.rank_indices(layout.servers), w_count),
    )
    pull_pattern = cluster.network.pattern(push_pattern.dst, push_pattern.src)
    srv_in = _link_capacity(cluster, layout.servers, into=True)
    srv_out = _link_capacity(cluster, layout.servers, into=False)
    wrk_in = _link_capacity(cluster, layout.workers, into=True)
    wrk_out = _link_capacity(cluster, layout.workers, into=False)
    alpha_push = float(push_pattern.latency.max())
    alpha_pull = float(pull_pattern.latency.max())
    push_s = ps_phase_time(
        alpha_push,
        w_count - b,
        layout.shard_bytes,
        srv_in,
        G,
        wrk_out,
        float(push_pattern.bottleneck.min()),
    )
    pull_s = ps_phase_time(
        alpha_pull,
        w_count,
        layout.shard_bytes,
        srv_out,
        G,
        wrk_in,
        float(pull_pattern.bottleneck.min()),
    )
    slow = np.array([cluster.devices[w].slowdown for w in layout.workers])
    base = _base_compute(cluster, params, layout.workers) * slow
    compute_s = order_statistic(base, b)
    time_s = ps_sync_iteration_time(compute_s, push_s, pull_s)
    out: dict[str, Any] = {
        "time_per_iteration_s": time_s,
        "time_s": time_s * iters,
        "bytes_total": ps_bytes_total(w_count, G, iters, b),
        "bytes_pushed": float(iters * (w_count - b) * G),
        "bytes_pulled": float(iters * w_count * G),
        "communication_s": push_s + pull_s,
        "push_s": push_s,
        "pull_s": pull_s,
    }
    single_link = all(cluster.graph.degree(s) == 1 for s in layout.servers)
    if single_link:
        out["bytes_max_link"] = float(iters * max(w_count * layout.shard_bytes.max(), G))
        streaming = (push_s - alpha_push) + (pull_s - alpha_pull)
        out["server_link_utilization"] = streaming / time_s if time_s > 0 else 0.0
    if params.stragglers is not None and params.mode == "sync":
        if isinstance(params.stragglers, list):
            expected = order_statistic(base * np.asarray(params.stragglers), b)
        else:
            expected = expected_order_statistic(
                base, params.stragglers.dist, b, **params.stragglers.shape()
            )
        out["time_per_iteration_with_stragglers_s"] = ps_sync_iteration_time(
            expected, push_s, pull_s
        )
        out["straggler_delay_s"] = expected - compute_s
    return out


def _details() -> list[str]:
    return [
        "sync: T = C_(W-b) + 2·(alpha + W·G/(S·B)) on a switch; bytes 2·W·G per iteration "
        "[Li et al. OSDI 2014; backup workers: Chen et al. arXiv:1604.00981]",
        "async: Downpour SGD [Dean et al. NIPS 2012]; ssp: clock gap <= staleness "
        "[Ho et al. NIPS 2013]",
    ]


def _prepare(cluster: Cluster, params: Any) -> tuple[Cluster, Any]:  # TRANSITION
    return cluster, params


KIND = WorkloadKind(
    name="parameter_server",
    description="workers push gradients to sharded parameter servers and pull parameters "
    "(sync with backup workers, async, ssp; stragglers)",
    params=ParameterServerParams,
    prepare=_prepare,  # TRANSITION: replaced by the real prepare step
    simulate=lambda plan: simulate(*plan),
    analytic=lambda plan: analytic(*plan),
    details=_details,
)
