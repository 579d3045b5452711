"""Sweeps: run a scenario over a grid of overrides, one row per point, resumable.

Every point is validated before any runs, through the path ``clustersim validate`` takes
(:func:`~clustersim.scenario.runner.check_scenario`: the schema, the cluster, the kind's
``prepare`` and the size estimate): one invalid point stops the sweep before anything runs,
naming its index, its grid values and the error. A point that fails while it runs is a row with
its ``status`` and ``error`` (:mod:`clustersim.scenario.sweep_point`), and the sweep goes on.

Rows go to a JSONL journal, and a CSV derived from it (:mod:`clustersim.scenario.sweep_store`),
the moment they finish; each carries its grid ``index`` and its ``scenario_hash``, the hash of
its fully resolved scenario. ``resume=True`` keeps the rows already in the output whose hash is
a point of this grid and runs only the others, so a killed sweep finishes what is left; an
existing output is never replaced without ``overwrite=True``.

Points run where ``scheduler`` says: ``"local"`` (a local process pool of ``jobs`` workers,
:mod:`clustersim.scenario.sweep_pool`; ``jobs=1`` runs them in this process, in grid order),
``"dask"`` (a Dask LocalCluster started for the sweep) or ``"tcp://HOST:PORT"`` (a running
Dask cluster), :mod:`clustersim.scenario.sweep_dask`.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.scenario.limits import RunLimits
from clustersim.scenario.loader import Scenario, load_scenario, parse_override
from clustersim.scenario.runner import check_scenario, prepare_scenario
from clustersim.scenario.safe_yaml import load_yaml
from clustersim.scenario.sweep_point import (
    FAILED_STATUSES,
    STATUSES,
    SweepPoint,
    point_label,
    result_row,
    run_point,
    scenario_hash,
)
from clustersim.scenario.sweep_store import SweepOutput, read_journal

__all__ = [
    "SweepRun",
    "grid_points",
    "parse_grid",
    "plan_points",
    "result_row",
    "run_sweep",
    "scheduler_kind",
]

_REMOTE_SCHEMES = ("tcp://", "tls://", "ucx://", "ws://", "wss://")


def _split_values(text: str) -> list[str]:
    """Split ``a,b,[c,d]`` on top-level commas (brackets and braces nest)."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``["cluster.topology.nodes=2,4,8"]`` -> ``[("cluster.topology.nodes", [2, 4, 8])]``."""
    grid = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise InputError(
                f"--grid expects KEY=V1,V2,... such as cluster.topology.nodes=2,4,8, got {spec!r}"
            )
        try:
            parsed = [load_yaml(v) if v else "" for v in _split_values(values)]
        except InputError as exc:
            raise InputError(
                f"--grid {spec!r}: a value is not valid YAML ({exc}); quote it to pass a string"
            ) from None
        grid.append((key.strip(), parsed))
    keys = [key for key, _ in grid]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise InputError(
            f"--grid names {', '.join(repeated)} more than once; give each axis once with all "
            "its values (KEY=V1,V2,...)"
        )
    return grid


def grid_points(grid: list[tuple[str, list[Any]]]) -> list[list[tuple[str, Any]]]:
    """The cartesian product of the grid, first key slowest, as lists of (key, value)."""
    keys = [key for key, _ in grid]
    return [
        list(zip(keys, combo, strict=True))
        for combo in itertools.product(*(values for _, values in grid))
    ]


def scheduler_kind(scheduler: str) -> str:
    """``"local"``, ``"dask"`` or ``"remote"``; an InputError for anything else."""
    if scheduler in ("local", "dask"):
        return scheduler
    if scheduler.startswith(_REMOTE_SCHEMES) and len(scheduler) > scheduler.index("//") + 2:
        return "remote"
    raise InputError(
        f"--scheduler {scheduler!r}: expected local (a process pool on this machine), dask (a "
        "Dask LocalCluster started for the sweep) or the address of a running Dask scheduler "
        "such as tcp://HOST:8786"
    )


class _Checker:
    """``check_scenario`` for the points of one scenario file, reading and parsing it once.

    The first point goes through :func:`~clustersim.scenario.runner.check_scenario` itself,
    with every check of the file (its size, YAML bounds, duplicate keys). The others go through
    the two steps ``check_scenario`` is made of, :func:`load_scenario` (on the mapping the file
    holds, with the file named as the source, so every message and every resolved scenario is
    the same) and :func:`prepare_scenario` (the cluster, the kind's ``prepare``, the size
    estimate). Parsing the YAML is most of a small point's validation (2.2 of 2.6 ms for
    ``ring_allreduce.yaml``, ``benchmarks/sweep.py``); ``tests/scenario/test_sweep_validation.py``
    holds the two paths to the same scenarios and the same errors.
    """

    def __init__(self, source: str | Path, limits: RunLimits | None) -> None:
        self.source = source
        self.limits = limits
        self.raw: dict[str, Any] | None = None

    def __call__(self, overrides: list[Any]) -> Scenario:
        if self.raw is None:
            scenario, _ = check_scenario(self.source, overrides, limits=self.limits)
            self.raw = load_yaml(Path(self.source).read_text(encoding="utf-8"))
            return scenario
        scenario = load_scenario(self.raw, overrides, source=str(self.source))
        prepare_scenario(scenario, Simulation(scenario.seed), self.limits)
        return scenario


def plan_points(
    source: str | Path,
    grid: list[tuple[str, list[Any]]],
    base_overrides: Sequence[str] = (),
    limits: RunLimits | None = None,
) -> list[SweepPoint]:
    """Validate every point as ``clustersim validate`` would; the first bad one is an error
    naming its index, its grid values and what is wrong, before anything has run."""
    combos = grid_points(grid)
    check = _Checker(source, limits)
    try:  # read once, not once a point (the values are the same YAML either way)
        base = [parse_override(item) if isinstance(item, str) else item for item in base_overrides]
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    points: list[SweepPoint] = []
    seen: dict[str, SweepPoint] = {}
    for index, values in enumerate(combos):
        try:
            scenario = check([*base, *values])
        except InputError as exc:
            raise InputError(
                f"sweep point {index} of {len(combos)} ({point_label(values)}) is invalid, so "
                f"no point was run: {exc}"
            ) from None
        point = SweepPoint(index, tuple(values), scenario, scenario_hash(scenario))
        twin = seen.get(point.scenario_hash)
        if twin is not None:
            raise InputError(
                f"sweep points {twin.index} ({point_label(twin.values)}) and {index} "
                f"({point_label(values)}) are the same scenario once resolved; give each grid "
                "value once"
            )
        seen[point.scenario_hash] = point
        points.append(point)
    return points


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SweepRun:
    """A validated sweep, ready to run: iterate it for its new rows, as they finish.

    Constructing it validates every point and the output (so bad input costs nothing and
    touches no file); iterating it runs the points still to run. Use it as a context manager
    (or call :meth:`close`) so that an interruption outside the loop still stops the workers
    and leaves complete files. After the loop, :attr:`counts`, :attr:`skipped`,
    :attr:`not_run` and :meth:`exit_code` summarise it.
    """

    def __init__(
        self,
        source: str | Path,
        grid: list[tuple[str, list[Any]]],
        *,
        base_overrides: Sequence[str] = (),
        out: Path | None = None,
        jobs: int | None = None,
        scheduler: str = "local",
        resume: bool = False,
        overwrite: bool = False,
        limits: RunLimits | None = None,
        retries: int = 2,
    ) -> None:
        self.scheduler = scheduler
        self._kind = scheduler_kind(scheduler)
        if jobs is not None and jobs < 1:
            raise InputError(f"--jobs {jobs}: expected at least 1 worker")
        if retries < 0:
            raise InputError(f"--retries {retries}: expected 0 or more")
        if resume and overwrite:
            raise InputError("--resume and --overwrite exclude each other: pick one")
        if resume and out is None:
            raise InputError("--resume needs --out: the rows to resume are read from there")
        if self._kind != "local":
            from clustersim.scenario.sweep_dask import import_distributed

            import_distributed()  # before the validation of every point: fail fast
        self.source = source
        self.axes = [key for key, _ in grid]
        self.limits = limits
        self.retries = retries
        self.output = SweepOutput(Path(out), self.axes) if out is not None else None
        if self.output is not None:
            self.output.check_writable()
        self.points = plan_points(source, grid, base_overrides, limits)
        self.kept = self._kept_rows(resume, overwrite)
        done = {row["scenario_hash"] for row in self.kept}
        self.todo = [p for p in self.points if p.scenario_hash not in done]
        self.jobs = max(1, min(jobs or _cpu_count(), len(self.todo) or 1))
        self.counts: Counter[str] = Counter()
        self.finished: list[dict[str, Any]] = []
        """The rows this run produced, in the order they finished."""
        self.interrupted = False
        self._rows_iter: Iterator[dict[str, Any]] | None = None

    @property
    def skipped(self) -> int:
        """Points whose rows were already in the output (``resume``)."""
        return len(self.kept)

    @property
    def not_run(self) -> int:
        """Points still without a row (an interrupted sweep)."""
        return len(self.todo) - sum(self.counts.values())

    def _kept_rows(self, resume: bool, overwrite: bool) -> list[dict[str, Any]]:
        """The rows of an earlier run to keep, re-indexed to this grid; checks the output."""
        if self.output is None:
            return []
        existing = self.output.existing()
        if not existing or overwrite:
            return []
        names = " and ".join(str(p) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        if not resume:
            raise InputError(
                f"--out: {names} already {verb}; --resume finishes that sweep (running only the "
                "points it does not have), --overwrite replaces it, or choose another --out"
            )
        if not self.output.journal.exists():
            raise InputError(
                f"--out: {names} {verb} but its journal {self.output.journal} does not, so the "
                "sweep cannot be resumed from it; use --overwrite or another --out"
            )
        rows, _ = read_journal(self.output.journal)
        by_hash = {p.scenario_hash: p for p in self.points}
        kept: dict[str, dict[str, Any]] = {}
        for number, row in enumerate(rows, start=1):
            digest = row.get("scenario_hash")
            if not isinstance(digest, str) or row.get("status") not in STATUSES:
                raise InputError(
                    f"{self.output.journal}: row {number} has no scenario_hash or status, so "
                    "this is not a sweep journal; use --overwrite or another --out"
                )
            point = by_hash.get(digest)
            if point is None:
                raise InputError(
                    f"{self.output.journal}: row {number} (index {row.get('index')}) is not a "
                    "point of this sweep (another scenario or grid); resume it with the grid "
                    "that made it, or use --overwrite or another --out"
                )
            if row["status"] == "lost":  # its worker died: worth another try
                kept.pop(digest, None)
                continue
            row = {**row, "index": point.index, **dict(point.values)}
            kept[digest] = row
        return list(kept.values())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._rows_iter is None:
            self._rows_iter = self._rows()
        return self._rows_iter

    def __enter__(self) -> SweepRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers and finish the output files (also after an interruption)."""
        if self._rows_iter is not None:
            self._rows_iter.close()  # type: ignore[attr-defined]

    def _rows(self) -> Iterator[dict[str, Any]]:
        if self.output is not None:
            self.output.start(self.kept)
        try:
            for row in self._execute():
                if self.output is not None:
                    self.output.add(row)
                self.counts[row["status"]] += 1
                self.finished.append(row)
                yield row
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        finally:
            if self.output is not None:
                self.output.finish()

    def _execute(self) -> Iterator[dict[str, Any]]:
        if self._kind != "local":
            from clustersim.scenario.sweep_dask import dask_rows

            yield from dask_rows(
                self.todo,
                scheduler="dask" if self._kind == "dask" else self.scheduler,
                workers=self.jobs,
                limits=self.limits,
                retries=self.retries,
            )
        elif self.jobs == 1:
            for point in self.todo:
                yield run_point(point, self.limits)
        else:
            from clustersim.scenario.sweep_pool import LocalPool

            with LocalPool(self.jobs, limits=self.limits, retries=self.retries) as pool:
                yield from pool.run(self.todo)

    def exit_code(self) -> int:
        """130 interrupted; 3 a point failed to simulate; 1 a check or expectation failed;
        0 otherwise (rows kept from an earlier run count too)."""
        if self.interrupted:
            return 130
        statuses = Counter(row["status"] for row in self.kept) + self.counts
        if any(statuses[s] for s in FAILED_STATUSES):
            return 3
        if statuses["checks_failed"]:
            return 1
        return 0

    def status_counts(self) -> dict[str, int]:
        """Rows per status, this run's and the kept ones together, in summary order."""
        statuses = Counter(row["status"] for row in self.kept) + self.counts
        return {status: statuses[status] for status in STATUSES}


def run_sweep(source: str | Path, grid: list[tuple[str, list[Any]]], **options: Any) -> SweepRun:
    """Validate a sweep and return it, ready to iterate for its rows (see :class:`SweepRun`,
    whose keyword arguments ``options`` are: ``base_overrides``, ``out``, ``jobs``,
    ``scheduler``, ``resume``, ``overwrite``, ``limits``, ``retries``).

    ``list(run_sweep(...))`` runs it all; rows arrive in completion order, each written to
    ``out`` (``.csv`` or ``.jsonl``) before it is yielded.
    """
    return SweepRun(source, grid, **options)
