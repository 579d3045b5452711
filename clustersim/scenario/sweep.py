"""Sweeps: run a scenario over a grid of overrides and stream one row per finished point.

Every point is validated before anything runs, so a typo in the grid costs nothing. Points run
on a local process pool (``jobs`` workers; 1 runs them in this process, in grid order), and
each finished row is written and flushed at once, so a crash loses no finished point. Rows carry
their grid ``index``; with several workers they arrive in completion order.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TextIO

import yaml

from clustersim.errors import InputError
from clustersim.result import Result
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario, run_scenario

__all__ = ["grid_points", "parse_grid", "result_row", "run_sweep"]


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
        grid.append((key.strip(), [yaml.safe_load(v) if v else "" for v in _split_values(values)]))
    return grid


def grid_points(grid: list[tuple[str, list[Any]]]) -> list[list[tuple[str, Any]]]:
    """The cartesian product of the grid, first key slowest, as lists of (key, value)."""
    keys = [key for key, _ in grid]
    return [
        list(zip(keys, combo, strict=True))
        for combo in itertools.product(*(values for _, values in grid))
    ]


def result_row(index: int, point: list[tuple[str, Any]], result: Result) -> dict[str, Any]:
    """One flat row: index, grid values, scalar metrics, ``analytic_*``, checks, wall time."""
    row: dict[str, Any] = {"index": index}
    row.update({key: value for key, value in point})
    scalar = (int, float, str, bool)
    row.update({k: v for k, v in result.metrics.items() if isinstance(v, scalar) or v is None})
    row.update(
        {
            f"analytic_{k}": v
            for k, v in result.analytic.items()
            if isinstance(v, scalar) or v is None
        }
    )
    row["checks_passed"] = all(c.get("passed", False) for c in result.checks.values())
    if result.expectations:
        row["expectations_met"] = all(e["met"] for e in result.expectations.values())
    row["wall_s"] = round(result.wall_s, 6)
    return row


def _run_point(source: str, base: list[str], point: list[tuple[str, Any]]) -> Result:
    scenario = load_scenario(source, [*base, *point])
    result = run_scenario(scenario)
    result.trace = None  # nothing to ship back across processes
    return result


class _RowWriter:
    """Writes rows to a .csv or .jsonl file, flushing each one."""

    def __init__(self, handle: TextIO, fmt: str) -> None:
        self.handle = handle
        self.fmt = fmt
        self.csv: csv.DictWriter | None = None

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.handle.write(json.dumps(row) + "\n")
        else:
            if self.csv is None:
                self.csv = csv.DictWriter(self.handle, fieldnames=list(row), extrasaction="ignore")
                self.csv.writeheader()
            self.csv.writerow(row)
        self.handle.flush()


def run_sweep(
    source: str | Path,
    grid: list[tuple[str, list[Any]]],
    *,
    base_overrides: Sequence[str] = (),
    out: Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Run every grid point; yield (and write to ``out``) each row as it finishes."""
    points = grid_points(grid)
    for point in points:  # validate everything first: bad input costs no run
        check_scenario(source, [*base_overrides, *point])
    fmt = "jsonl" if out is not None and out.suffix == ".jsonl" else "csv"
    if out is not None and out.suffix not in (".csv", ".jsonl"):
        raise InputError(f"--out {out}: expected a .csv or .jsonl file name")
    workers = max(1, min(jobs or os.cpu_count() or 1, len(points)))
    handle = None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = out.open("w", newline="", encoding="utf-8")
    writer = _RowWriter(handle, fmt) if handle else None
    try:
        for done, (index, result) in enumerate(
            _results(str(source), list(base_overrides), points, workers), start=1
        ):
            row = result_row(index, points[index], result)
            if writer:
                writer.write(row)
            if progress:
                progress(done, len(points), row)
            yield row
    finally:
        if handle:
            handle.close()


def _results(
    source: str, base: list[str], points: list[list[tuple[str, Any]]], workers: int
) -> Iterator[tuple[int, Result]]:
    if workers == 1:
        for index, point in enumerate(points):
            yield index, _run_point(source, base, point)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(_run_point, source, base, point): i for i, point in enumerate(points)
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
