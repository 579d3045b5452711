"""Ring all-reduce scaling: how long clustersim takes for 64, 256 and 1024 ranks.

Runs ``scenarios/ring_allreduce.yaml`` (64 MiB, 50 GiB/s, 500 ns links, ring topology, timing
only) at each rank count three ways:

* as ``clustersim run ... --json`` in its own process, timing the whole process (interpreter
  start, imports, loading, simulation, JSON output): what a user waits for. Twice: with the
  environment as it is, and with a warm bytecode cache (``PYTHONDONTWRITEBYTECODE`` unset and
  ``PYTHONPYCACHEPREFIX`` pointing at a temporary directory filled by one warm-up run), because
  an environment that sets ``PYTHONDONTWRITEBYTECODE`` recompiles an editable install's modules
  on every start;
  The process's CPU time (user + system, from ``getrusage``) is reported beside its wall time:
  on a shared machine it is the steadier figure;
* in this process with :func:`clustersim.run`, reading ``result.wall_s`` and the SimPy events
  processed (``metrics["sim_events"]``);
* as a bare SimPy loop processing the same number of events (one process yielding
  ``env.timeout(1e-6)`` that many times): the floor any SimPy model with that event count pays.

It also times ``python -c "import clustersim.cli"`` (the CLI's startup cost, both ways) next to
``python -c pass``. Every figure is the best of ``--repeat`` runs, and all ratios are measured
in this one run of the script: nothing is compared with stored numbers and nothing is asserted.

    python benchmarks/ring_scaling.py [--repeat 3] [--ranks 64 256 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simpy

import clustersim

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ring_allreduce.yaml"
SETTINGS = {
    "cluster.topology.kind": "ring",
    "workload.size": "64MiB",
    "cluster.link.bandwidth": "50GiB/s",
    "cluster.link.latency": "500ns",
    "workload.verify": "false",
}
DEFAULT_RANKS = (64, 256, 1024)
TARGET_S = 1.4  # the target for 1024 ranks in its own process (a C++ peer needs 2.8 s)


def overrides(ranks: int) -> list[str]:
    """``--set`` values for a ``ranks``-rank ring."""
    return [f"cluster.topology.nodes={ranks}"] + [f"{k}={v}" for k, v in SETTINGS.items()]


def clustersim_command() -> list[str]:
    """The ``clustersim`` console script of this interpreter (not a shell shim in front of it)."""
    beside = Path(sys.executable).parent / "clustersim"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("clustersim")
    return [found] if found else [sys.executable, "-m", "clustersim"]


def best_of(repeat: int, fn):
    """(smallest wall time in seconds, the last return value) over ``repeat`` calls of ``fn``."""
    best, value = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - started)
    return best, value


def run_process(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``command`` to completion; return its JSON stdout."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return json.loads(done.stdout)


def time_process(
    repeat: int, command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, dict]:
    """Best wall seconds, best CPU seconds (user + system) and the JSON of ``command``.

    CPU time is what the process itself spent; unlike wall time it hardly moves when other
    work shares the machine.
    """
    best_wall = best_cpu = float("inf")
    output: dict = {}
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        output = run_process(command, env)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu, output


def cached_environment(cache_dir: str) -> dict[str, str]:
    """os.environ with bytecode written to and read from ``cache_dir`` (not the checkout)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def cli_command(cli: list[str], ranks: int) -> list[str]:
    """``clustersim run SCENARIO --set ... --json`` for ``ranks`` ranks."""
    command = [*cli, "run", str(SCENARIO)]
    for item in overrides(ranks):
        command += ["--set", item]
    return [*command, "--json"]


def bare_simpy(events: int) -> float:
    """Seconds a bare SimPy loop takes to process ``events`` timeouts."""

    def ticker(env: simpy.Environment, n: int):
        for _ in range(n):
            yield env.timeout(1e-6)

    env = simpy.Environment()
    env.process(ticker(env, events))
    started = time.perf_counter()
    env.run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument("--ranks", type=int, nargs="+", default=list(DEFAULT_RANKS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clustersim-pyc-") as cache_dir:
        report(args.ranks, max(1, args.repeat), cached_environment(cache_dir))


def report(all_ranks: list[int], repeat: int, cached_env: dict[str, str]) -> None:
    """Measure and print the table and the startup costs."""
    cli = clustersim_command()
    print(
        f"clustersim {clustersim.__version__}, Python {sys.version.split()[0]}, "
        f"simpy {simpy.__version__}, {os.cpu_count()} CPUs; best of {repeat}; "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')}"
    )
    print(f"command: {' '.join(cli_command(cli, 1024))}\n".replace(str(ROOT) + os.sep, ""))

    clustersim.run(SCENARIO, overrides(8))  # warm up imports and caches in this process
    run_process(cli_command(cli, 8), cached_env)  # fill the bytecode cache

    header = (
        "N",
        "process s",
        "process CPU s",
        "process s (pyc)",
        "in-proc run s",
        "events",
        "bare SimPy s",
        "run/bare",
        "sim vs formula",
    )
    rows = []
    for ranks in all_ranks:
        command = cli_command(cli, ranks)
        process_s, cpu_s, reported = time_process(repeat, command)
        cached_s, _, _ = time_process(repeat, command, cached_env)

        run_s, result = float("inf"), None
        for _ in range(repeat):
            result = clustersim.run(SCENARIO, overrides(ranks))
            run_s = min(run_s, result.wall_s)
        assert result is not None
        events = int(result.metrics["sim_events"])
        bare_s = min(bare_simpy(events) for _ in range(repeat))
        sim_t, formula_t = result.metrics["time_s"], result.analytic["time_s"]
        if reported["metrics"]["time_s"] != sim_t:
            print(f"warning: N={ranks}: the CLI and in-process runs disagree on time_s")
        rows.append(
            (
                ranks,
                process_s,
                cpu_s,
                cached_s,
                run_s,
                events,
                bare_s,
                (sim_t - formula_t) / formula_t,
            )
        )

    cells = [
        (
            str(n),
            f"{p:.3f}",
            f"{cpu:.3f}",
            f"{c:.3f}",
            f"{r:.3f}",
            str(e),
            f"{b:.4f}",
            f"{r / b:.0f}x",
            f"{rel:+.1e}",
        )
        for n, p, cpu, c, r, e, b, rel in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))

    def start(code: str, env: dict[str, str] | None = None) -> float:
        return best_of(
            repeat, lambda: subprocess.run([sys.executable, "-c", code], check=True, env=env)
        )[0]

    python_s = start("pass")
    import_s = start("import clustersim.cli")
    import_cached_s = start("import clustersim.cli", cached_env)
    print(
        f"\nstartup: python -c pass {python_s:.3f} s; "
        f'python -c "import clustersim.cli" {import_s:.3f} s, '
        f"{import_cached_s:.3f} s with a warm bytecode cache"
    )
    for ranks, process_s, _, cached_s, *_ in rows:
        if ranks == 1024:
            print(
                f"1024 ranks in its own process: {process_s:.3f} s as is, {cached_s:.3f} s with "
                f"a warm bytecode cache; target {TARGET_S} s: {process_s / TARGET_S:.2f}x and "
                f"{cached_s / TARGET_S:.2f}x of it (the C++ peer: 2.8 s)"
            )


if __name__ == "__main__":
    main()
