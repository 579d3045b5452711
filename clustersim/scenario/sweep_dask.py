"""Sweeps on Dask: a ``distributed.LocalCluster`` started for the sweep, or an existing cluster.

``--scheduler dask`` starts a LocalCluster of ``jobs`` single-threaded worker processes for the
sweep and stops it after; ``--scheduler tcp://HOST:PORT`` uses a running cluster (started with
``dask-scheduler`` and ``dask-worker`` on a set of machines, or by dask-jobqueue on SLURM/PBS,
or dask-kubernetes), whose workers must have the same clustersim installed. Each point is one
task (:func:`~clustersim.scenario.sweep_point.run_point` on the validated scenario, shipped by
value: the workers read no file); rows stream back as they complete (``as_completed``) and are
written by the client, never by a worker. A task whose worker is lost is rescheduled by Dask on
another worker, up to ``retries`` times for the LocalCluster (the scheduler's
``distributed.scheduler.allowed-failures``; a remote scheduler keeps its own setting), then
becomes a ``lost`` row.

``distributed`` is imported only here, only when asked for: the base install does not need it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Sequence
from typing import Any

from clustersim.errors import InputError
from clustersim.scenario.limits import RunLimits
from clustersim.scenario.sweep_point import SweepPoint, failure_row, run_point

__all__ = ["INSTALL_HINT", "dask_rows", "import_distributed"]

INSTALL_HINT = "pip install -e '.[dask]'"
"""How to get Dask (from a clone; ``pip install 'clustersim[dask]'`` from an index)."""

_CLOSE_TIMEOUT_S = 5


def import_distributed() -> Any:
    """The ``distributed`` module, or an InputError (exit 2) saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise InputError(
            f"--scheduler dask and tcp:// need Dask's distributed scheduler, which is not "
            f"installed here ({exc}); install the optional extra with {INSTALL_HINT} (or "
            "pip install 'clustersim[dask]'), or run with --scheduler local"
        ) from None
    return distributed


def _client(distributed: Any, scheduler: str, workers: int, retries: int) -> tuple[Any, Any]:
    """(client, the LocalCluster it owns or None)."""
    if scheduler == "dask":
        import dask

        with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        return distributed.Client(cluster), cluster
    try:
        return distributed.Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc}); start one "
            "with dask-scheduler (and dask-worker on each machine), or use --scheduler dask for "
            "a cluster on this machine"
        ) from None


def dask_rows(
    points: Sequence[SweepPoint],
    *,
    scheduler: str,
    workers: int,
    limits: RunLimits | None = None,
    retries: int = 2,
) -> Iterator[dict[str, Any]]:
    """Yield one row per point, as the Dask cluster completes them."""
    distributed = import_distributed()
    if not points:
        return
    client, cluster = _client(distributed, scheduler, workers, retries)
    futures: dict[Any, SweepPoint] = {}
    stopped = True
    try:
        for point in points:
            future = client.submit(
                run_point,
                point,
                limits,
                key=f"clustersim-point-{point.index}-{point.scenario_hash[:16]}",
                pure=False,
            )
            futures[future] = point
        for future in distributed.as_completed(list(futures)):
            point = futures.pop(future)
            try:
                row = future.result()
            except distributed.KilledWorker as exc:
                row = failure_row(
                    point,
                    "lost",
                    f"every Dask worker that ran this point died ({exc}); the point may need "
                    "more memory than a worker has",
                )
            except Exception as exc:  # e.g. clustersim missing or different on a worker
                row = failure_row(
                    point,
                    "error",
                    f"the Dask task failed: {type(exc).__name__}: {exc} (is the same clustersim "
                    "installed on every worker?)",
                )
            future.release()
            yield row
        stopped = False
    finally:
        if futures:
            client.cancel(list(futures))
        client.close(timeout=_CLOSE_TIMEOUT_S)
        if cluster is not None:
            if stopped:  # busy workers take seconds to close: the points they run are lost
                _kill_workers(cluster)
            cluster.close(timeout=_CLOSE_TIMEOUT_S)


def _kill_workers(cluster: Any) -> None:
    """SIGKILL the worker processes of a LocalCluster we own (its nannies then stop at once)."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(nanny, "pid", None)
        if isinstance(pid, int):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
