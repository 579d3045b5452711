"""What a sweep costs on top of its runs, and what a second worker buys, measured in one run.

* ``overhead``: 1,000 points of a ~1 ms scenario (``scenarios/ring_allreduce.yaml`` with 2 ranks
  and ``verify: false``; the grid is the seed, so every point is its own scenario). Three
  figures on the same points: a plain loop of ``load_scenario`` + ``run_scenario`` (what a
  script of one's own would cost), the sum of the rows' ``wall_s`` (the runs themselves), and
  the sweep with ``jobs=1`` writing ``rows.csv`` and its journal. The sweep's overhead per point
  is its time less the runs', and less the plain loop's; the validation of every point up front
  (the same code path as ``clustersim validate``: load, build the cluster, the kind's
  ``prepare``, the size estimate) is timed on its own, since it is most of it.
* ``speedup``: CPU-bound points (the ring all-reduce at 1,024 ranks, timing only, about a
  second each) with 1 worker (in this process) and with 2 worker processes, each the whole
  sweep from the call to the last row, the pool's start included; the start of the fork
  server (once per process) is measured first, on its own.

Nothing here asserts a time (docs/architecture.md §6): the figures are ratios of one run.

Usage::

    python benchmarks/sweep.py                     # both
    python benchmarks/sweep.py overhead --points 200
    python benchmarks/sweep.py speedup --points 8 --ranks 512
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import run_scenario
from clustersim.scenario.sweep import parse_grid, plan_points, run_sweep

ROOT = Path(__file__).resolve().parents[1]
RING = ROOT / "scenarios" / "ring_allreduce.yaml"


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def overhead(points: int) -> None:
    """The sweep's cost per point on top of the runs, for ``points`` tiny points."""
    base = ["workload.verify=false", "cluster.topology.nodes=2"]
    grid = parse_grid([f"seed={','.join(str(i) for i in range(1, points + 1))}"])
    for seed in (1, 2):  # warm up: imports, the kind's module, caches
        run_scenario(load_scenario(RING, [*base, f"seed={seed}"]))

    started = time.perf_counter()
    for seed in range(1, points + 1):
        run_scenario(load_scenario(RING, [*base, f"seed={seed}"]))
    loop_s = time.perf_counter() - started

    started = time.perf_counter()
    plan_points(RING, grid, base)
    validate_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        rows = list(run_sweep(RING, grid, base_overrides=base, jobs=1, out=Path(folder) / "r.csv"))
        sweep_s = time.perf_counter() - started
    runs_s = sum(row["wall_s"] for row in rows)
    assert len(rows) == points and all(row["status"] == "ok" for row in rows)

    per = 1e3 / points
    print(
        f"overhead: {points} points of ring_allreduce.yaml (2 ranks, verify: false); load {_load()}"
    )
    for label, seconds in (
        ("plain loop of load_scenario + run_scenario", loop_s),
        ("the runs themselves (sum of rows' wall_s)", runs_s),
        ("sweep, jobs=1, rows.csv + rows.jsonl", sweep_s),
        ("of which validating every point up front", validate_s),
    ):
        print(f"  {label:44} {seconds:7.3f} s  {seconds * per:6.3f} ms/point")
    print(
        f"  sweep overhead per point: {(sweep_s - runs_s) * per:.3f} ms over the runs "
        f"({(sweep_s - runs_s) / runs_s:.0%} of a run), {(sweep_s - loop_s) * per:.3f} ms over "
        f"the plain loop, {(sweep_s - runs_s - validate_s) * per:.3f} ms without the validation"
    )


def _spin(seconds: float) -> float:
    """A pure-Python loop of about ``seconds`` of CPU; returns the CPU seconds it took."""
    cpu = time.process_time()
    n = 0
    while time.process_time() - cpu < seconds:
        for _ in range(10_000):
            n += 1
    return time.process_time() - cpu


def machine_ceiling(seconds: float = 3.0) -> float:
    """What two processes get on this machine at this moment: the wall time of one CPU-bound
    loop against two such loops in two processes at once (2.0 on two idle cores)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    _spin(seconds)
    alone = time.perf_counter() - started
    with context.Pool(2) as pool:
        pool.map(_spin, [0.01, 0.01])  # started and warm
        started = time.perf_counter()
        pool.map(_spin, [seconds, seconds])
        together = time.perf_counter() - started
    return 2 * alone / together


def speedup(points: int, ranks: int) -> None:
    """The wall time of ``points`` CPU-bound points with 1 worker and with 2."""
    base = ["workload.verify=false", f"cluster.topology.nodes={ranks}"]
    grid = parse_grid([f"seed={','.join(str(i) for i in range(1, points + 1))}"])
    started = time.perf_counter()  # the fork server starts once per process: its cost alone
    list(
        run_sweep(RING, parse_grid(["seed=1,2"]), base_overrides=["workload.verify=false"], jobs=2)
    )
    start_s = time.perf_counter() - started
    print(
        f"speedup: {points} points of the ring all-reduce at {ranks} ranks (verify: false); "
        f"{os.cpu_count()} CPUs, load {_load()}"
    )
    print(f"  first 2-worker sweep of 2 tiny points (fork server start): {start_s:.3f} s")
    times = {}
    for jobs in (1, 2):
        started = time.perf_counter()
        rows = list(run_sweep(RING, grid, base_overrides=base, jobs=jobs))
        times[jobs] = time.perf_counter() - started
        assert all(row["status"] == "ok" for row in rows)
        wall = sum(row["wall_s"] for row in rows)
        cpu = sum(row["cpu_s"] for row in rows)
        print(
            f"  jobs={jobs}: {times[jobs]:7.3f} s for the sweep; the points' wall {wall:7.3f} s, "
            f"CPU {cpu:7.3f} s: {cpu / times[jobs]:.2f} CPUs busy on average"
        )
    ceiling = machine_ceiling()
    print(
        f"  speed-up of 2 workers over 1: {times[1] / times[2]:.2f}x; this machine's own "
        f"ceiling now (two pure-Python loops in two processes against one): {ceiling:.2f}x "
        f"(load {_load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["overhead", "speedup"])
    parser.add_argument("--points", type=int, default=None, help="points per part")
    parser.add_argument("--ranks", type=int, default=1024, help="ranks of a CPU-bound point")
    args = parser.parse_args()
    if "overhead" in args.parts:
        overhead(args.points or 1000)
    if "speedup" in args.parts:
        speedup(args.points or 12, args.ranks)
    sys.stdout.flush()


if __name__ == "__main__":  # the pool's workers import this module: only the parent runs it
    main()
