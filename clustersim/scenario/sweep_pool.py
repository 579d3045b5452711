"""A local process pool for sweeps that stops at once and leaves no worker behind.

``concurrent.futures.ProcessPoolExecutor`` waits for the running points when it shuts down (a
Ctrl-C took 44-51 s with two workers) and its workers outlive a parent killed with SIGTERM or
SIGKILL. This pool holds one pipe to each of its worker processes and gives each one point at a
time, so that:

* **Ctrl-C** (SIGINT reaches the whole foreground process group) is ignored by the workers and
  handled by the sweep's process alone: it terminates the workers (the points they were
  running are lost, the finished rows are not) and is back within about a second.
* **No worker outlives its sweep**: each worker watches its parent through the sentinel
  multiprocessing gives every child (a pipe whose other end only the parent holds, so it reads
  end-of-file however the parent died, SIGKILL included) and exits at once.
* **A worker that dies** (killed, out of memory, a crash in a native library) costs its point
  another attempt on a fresh worker, up to ``retries`` more times; then the point becomes a
  ``lost`` row and the sweep goes on.

Workers are started with ``forkserver`` where the platform has it (a fork of a small server
that has imported clustersim once: fast, and safe in a process with threads, such as a progress
bar's or a notebook kernel's), else ``spawn``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from clustersim.scenario.limits import RunLimits
from clustersim.scenario.sweep_point import SweepPoint, failure_row, run_point

__all__ = ["LocalPool", "WorkerStartError", "start_method"]

_STOP_GRACE_S = 1.0
"""Seconds terminated workers get to exit before they are killed."""
_READY = "ready"
"""A worker's first message: it started and imported what it needs."""


class WorkerStartError(RuntimeError):
    """The pool's worker processes die before they can take a point."""


def start_method() -> str:
    """``forkserver`` where available (Linux, macOS), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _watch_parent() -> None:
    """Exit this process the moment its parent is gone (however it died)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="clustersim-parent-watch", daemon=True).start()


def _worker_main(conn: Connection, limits: RunLimits | None) -> None:
    """A worker: run the points sent on ``conn`` one by one and send each row back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sweep's process to handle
    _watch_parent()
    conn.send(_READY)
    while True:
        try:
            point = conn.recv()
        except (EOFError, OSError):
            return
        if point is None:
            return
        conn.send(run_point(point, limits))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    point: SweepPoint | None = None


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


class LocalPool:
    """``workers`` processes running sweep points; use as a context manager."""

    def __init__(self, workers: int, *, limits: RunLimits | None = None, retries: int = 2) -> None:
        self.workers = max(1, workers)
        self.limits = limits
        self.retries = max(0, retries)
        self._context = multiprocessing.get_context(start_method())
        self._pool: list[_Worker] = []

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _preload(self, points: Sequence[SweepPoint]) -> None:
        """Have the fork server import clustersim and the points' kinds once, for every worker.

        It only takes effect if the fork server of this process has not started yet.
        """
        if self._context.get_start_method() != "forkserver":
            return
        modules = ["clustersim.scenario.sweep_pool"]
        for point in points:
            module = getattr(point.scenario.kind.simulate, "__module__", None)
            if module and module.startswith("clustersim.") and module not in modules:
                modules.append(module)
        self._context.set_forkserver_preload(modules)

    def _start_worker(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child_end, self.limits),
            name=f"clustersim-sweep-worker-{len(self._pool)}",
            daemon=True,
        )
        process.start()
        child_end.close()  # only the worker holds it now: its death reads as end-of-file here
        worker = _Worker(process, parent_end)
        self._pool.append(worker)  # from now on close() stops it, whatever happens
        try:
            ready = parent_end.recv()
        except (EOFError, OSError):
            ready = None
        if ready != _READY:
            process.join(_STOP_GRACE_S)
            self._retire(worker)
            raise WorkerStartError(
                f"a sweep worker process could not start ({_death(process.exitcode)}); its "
                "error is printed above. A script that runs a sweep with more than one job must "
                "start it under if __name__ == '__main__': (worker processes import the main "
                "module), and cannot be read from standard input"
            )
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.conn.close()
        worker.process.join(0)
        self._pool.remove(worker)

    def run(self, points: Sequence[SweepPoint]) -> Iterator[dict[str, Any]]:
        """Yield one row per point, in the order they finish."""
        if not points:
            return
        self._preload(points)
        todo: deque[SweepPoint] = deque(points)
        attempts: dict[int, int] = {}
        for _ in range(min(self.workers, len(points))):
            self._start_worker()
        while todo or any(w.point is not None for w in self._pool):
            for worker in list(self._pool):  # hand a point to every idle worker
                if worker.point is None and todo:
                    point = todo.popleft()
                    try:
                        worker.conn.send(point)
                    except (BrokenPipeError, OSError):  # died while idle: a fresh one takes it
                        todo.appendleft(point)
                        self._retire(worker)
                        self._start_worker()
                        continue
                    worker.point = point
            busy = [w for w in self._pool if w.point is not None]
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                point = worker.point
                assert point is not None
                try:
                    row = worker.conn.recv() if worker.conn.poll() else None
                except (EOFError, OSError):
                    row = None
                if row is not None:
                    worker.point = None
                    yield row
                    continue
                # the worker died while running the point
                worker.process.join(_STOP_GRACE_S)
                why = _death(worker.process.exitcode)
                self._retire(worker)
                attempts[point.index] = attempts.get(point.index, 0) + 1
                if attempts[point.index] <= self.retries:
                    todo.appendleft(point)
                else:
                    yield failure_row(
                        point,
                        "lost",
                        f"the worker process running this point died ({why}) on each of "
                        f"{attempts[point.index]} attempts; the point may need more memory than "
                        "the machine has (lower the sizes, or run fewer --jobs)",
                    )
                if todo:
                    self._start_worker()

    def close(self) -> None:
        """Stop every worker now: terminate, wait at most a second, then kill."""
        workers, self._pool = self._pool, []
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in workers:
            worker.process.join(_STOP_GRACE_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(_STOP_GRACE_S)
            worker.conn.close()
