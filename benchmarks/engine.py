"""The engine's cost per event, measured as ratios in one run (docs/architecture.md §6).

Every figure is printed next to a reference measured in the same run on the same machine, so
that the ratios mean something on a busy machine too:

* ``flows``: ``k`` processes each send single flows back to back through one switch, alone on
  their links; the cost of an engine event against a bare SimPy event, for k = 1 ... 1024
  batches in flight (flat is the goal: the cost must not grow with flows that did not change);
* ``incast``: the same with every flow into one node, so each start and end re-solves a
  component of k flows (the cost must grow with the component, not with the whole network);
* ``ring``: ring all-reduce at N ranks (timing only), cost per event and against a bare loop;
* ``independent``: 10,000 single-flow transfers through one switch;
* ``async_ps``: the asynchronous parameter server with 1,024 workers;
* ``startup``: ``clustersim --help`` and ``clustersim validate`` as whole processes.

Usage::

    python benchmarks/engine.py                  # everything
    python benchmarks/engine.py flows ring       # some parts
    python benchmarks/engine.py ring --ranks 1024 4096 16384
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import simpy

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.hardware import topology as topo
from clustersim.hardware.network import FlowNetwork

ROOT = Path(__file__).resolve().parents[1]


def bare_simpy(events: int) -> float:
    """Seconds a bare SimPy loop takes for ``events`` timeouts."""
    env = simpy.Environment()

    def proc():
        for _ in range(events):
            yield env.timeout(1e-6)

    env.process(proc())
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def bare_per_event(events: int = 50_000, repeat: int = 3) -> float:
    """Seconds per bare SimPy event, the best of ``repeat`` loops (measured beside each
    figure: on a shared machine the best of a few runs is the steadiest estimate)."""
    return min(bare_simpy(events) for _ in range(repeat)) / events


def senders(k: int, per_sender: int, incast: bool) -> tuple[float, int]:
    """``k`` processes sending ``per_sender`` flows each; (wall seconds, events)."""
    nodes = 2 * k + 1
    sim = Simulation(0)
    net = FlowNetwork(sim, topo.switch(nodes=nodes, bandwidth=1e9, latency=0.0))
    sizes = np.random.default_rng(0).uniform(1e6, 2e6, size=(k, per_sender))

    def proc(i: int):
        dst = 2 * k if incast else 2 * i + 1
        for size in sizes[i]:
            yield net.transfer(2 * i, dst, float(size))

    for i in range(k):
        sim.process(proc(i), f"sender{i}")
    start = time.perf_counter()
    sim.run()
    return time.perf_counter() - start, sim.events_processed


def bench_flows(incast: bool) -> None:
    name = "incast (one shared link)" if incast else "flows alone on their links"
    print(f"\n## {name}: cost per event against a bare SimPy event")
    print(f"{'in flight':>9}  {'events':>7}  {'us/event':>8}  {'bare us':>7}  {'ratio':>6}")
    for k in (1, 16, 64, 256, 1024):
        per = max(4 if incast else 20, (4000 if incast else 20000) // k)
        runs = [senders(k, per, incast) for _ in range(3)]
        wall, events = min(runs)
        per_event, bare = wall / events, bare_per_event()
        print(
            f"{k:>9}  {events:>7}  {per_event * 1e6:>8.1f}  {bare * 1e6:>7.2f}  "
            f"{per_event / bare:>5.1f}x"
        )


def bench_ring(ranks: list[int]) -> None:
    print("\n## ring all-reduce, 64 MiB, verify off (in process)")
    print(f"{'N':>6}  {'run s':>7}  {'events':>7}  {'us/event':>8}  {'ratio':>6}  sim/formula-1")
    for n in ranks:
        result = clustersim.run(
            ROOT / "scenarios" / "ring_allreduce.yaml",
            [f"cluster.topology.nodes={n}", "workload.verify=false"],
        )
        events = result.metrics["sim_events"]
        bare = bare_per_event() * events
        error = result.metrics["time_s"] / result.analytic["time_s"] - 1
        print(
            f"{n:>6}  {result.wall_s:>7.3f}  {events:>7}  {result.wall_s / events * 1e6:>8.1f}  "
            f"{result.wall_s / bare:>5.0f}x  {error:+.1e}"
        )


def bench_independent(count: int = 10_000) -> None:
    print(f"\n## {count:,} independent single-flow transfers through one switch")
    nodes = 2 * count
    sim = Simulation(0)
    net = FlowNetwork(sim, topo.switch(nodes=nodes, bandwidth=1e9, latency=1e-6))
    sizes = np.random.default_rng(1).uniform(1e5, 1e7, size=count)

    def proc(i: int):
        yield net.transfer(2 * i, 2 * i + 1, float(sizes[i]))

    for i in range(count):
        sim.process(proc(i), f"t{i}")
    start = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - start
    bare = bare_per_event() * sim.events_processed
    print(
        f"{wall:.2f} s for {sim.events_processed} events "
        f"({wall / sim.events_processed * 1e6:.1f} us/event, {wall / bare:.0f}x bare SimPy)"
    )


def bench_async_ps(workers: int = 1024) -> None:
    print(f"\n## asynchronous parameter server, {workers} workers, 10 iterations")
    result = clustersim.run(
        ROOT / "scenarios" / "ps_vs_ring.yaml",
        [
            f"workload.workers={workers}",
            f"cluster.topology.nodes={workers + 1}",
            "workload.mode=async",
            "workload.iterations=10",
        ],
    )
    events = result.metrics["sim_events"]
    print(
        f"{result.wall_s:.2f} s for {events} events ({result.wall_s / events * 1e6:.1f} us/event)"
    )


def _clustersim() -> str:
    local = Path(sys.executable).with_name("clustersim")
    return str(local) if local.exists() else (shutil.which("clustersim") or "clustersim")


def bench_startup(repeat: int = 5) -> None:
    print(f"\n## start-up, whole processes (best of {repeat})")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "clustersim --help": [_clustersim(), "--help"],
        "clustersim validate ring": [
            _clustersim(), "validate", str(ROOT / "scenarios" / "ring_allreduce.yaml")
        ],
    }  # fmt: skip
    for label, command in commands.items():
        best = min(_timed(command) for _ in range(repeat))
        print(f"{label:<26} {best:.3f} s")


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["flows", "incast", "ring", "independent", "async_ps", "startup"]
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"some of: {', '.join(parts)}")
    parser.add_argument("--ranks", type=int, nargs="+", default=[64, 1024, 4096])
    args = parser.parse_args()
    chosen = args.parts or parts
    unknown = sorted(set(chosen) - set(parts))
    if unknown:
        parser.error(f"unknown parts {unknown}; expected some of {parts}")
    if "flows" in chosen:
        bench_flows(incast=False)
    if "incast" in chosen:
        bench_flows(incast=True)
    if "ring" in chosen:
        bench_ring(args.ranks)
    if "independent" in chosen:
        bench_independent()
    if "async_ps" in chosen:
        bench_async_ps()
    if "startup" in chosen:
        bench_startup()


if __name__ == "__main__":
    main()
