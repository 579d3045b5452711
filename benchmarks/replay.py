"""The numeric replay of a verified collective against ``np.add`` over the same bytes.

A verified run (``verify: true``) draws every rank's buffer, replays the algorithm's kernel on
it step by step and checks the result against the float64 sum. This script measures, for a few
(op, algorithm) cases at 8 ranks × 64 MiB, each in a fresh interpreter:

* ``replay s``: the kernel steps alone (``schedule.replay``) on buffers already in memory;
* ``np.add s``: ``np.add(acc, x_i, out=acc)`` over the same buffers, ``p - 1`` times: the
  additions any all-reduce of ``p`` buffers must make, the floor of a replay;
* ``verify s``: what ``verify: true`` adds to a run (``clustersim.run`` with ``verify: true``
  minus the same run with ``verify: false``, best of ``--repeat``): drawing the inputs, the
  replay and the check;
* ``cold +s``: how much longer the process's first verified run took: the first touch of the
  buffers' memory (page faults; on a virtual machine the host backs the pages then, which can
  cost more than everything else together);
* ``peak / buffers``: the growth of the process's peak resident memory during its first verified
  run (``ru_maxrss``) over the ranks' buffers, ``p × size``.

It also times the Quickstart, ``clustersim run scenarios/ring_allreduce.yaml``, as a whole
process (wall seconds and peak resident memory from ``wait4``).

Ratios are measured in one run on one machine; nothing here is asserted. ``--before DIR`` runs
the same cases against another checkout of the package (``DIR/clustersim``), printed next to
this tree's, for before/after comparisons::

    python benchmarks/replay.py
    python benchmarks/replay.py --before /tmp/old   # e.g. git archive HEAD~1 | tar -x -C /tmp/old
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20
CASES = [
    ("allreduce", "ring", 8),
    ("allreduce", "halving_doubling", 8),
    ("allreduce", "double_binary_tree", 8),
    ("allreduce", "direct", 8),
    ("alltoall", "pairwise", 6),
    ("broadcast", "ring", 8),
]
PIPELINE_CHUNK = 512 * 2**10


def _spec(op: str, algorithm: str, p: int, size: int, verify: bool) -> dict:
    return {
        "name": f"replay-{op}-{algorithm}-{p}",
        "seed": 1,
        "cluster": {
            "topology": {"kind": "fully_connected", "nodes": p},
            "device": "H100",
            "link": {"bandwidth": "50 GiB/s", "latency": "500 ns"},
        },
        "workload": {
            "kind": "collective",
            "op": op,
            "algorithm": algorithm,
            "size": size,
            "verify": verify,
        },
    }


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def child(op: str, algorithm: str, p: int, size: int, repeat: int) -> dict:
    """One case in this (fresh) interpreter; returns the measurements."""
    import math
    import resource

    import numpy as np

    import clustersim
    from clustersim.collectives.algorithms import ALGORITHMS
    from clustersim.collectives.kernels import chunk_lengths
    from clustersim.collectives.schedule import Plan, replay

    if (op, algorithm) not in ALGORITHMS:
        return {"missing": True}
    clustersim.run(_spec(op, algorithm, p, 4096 * p, False))  # imports and first-call costs
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    clustersim.run(_spec(op, algorithm, p, size, True))
    cold = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    warm = _best(lambda: clustersim.run(_spec(op, algorithm, p, size, True)), repeat)
    timing = _best(lambda: clustersim.run(_spec(op, algorithm, p, size, False)), repeat)

    entry = ALGORITHMS[(op, algorithm)]
    elements = size // 4
    pipelines = {"double_binary_tree": 2, "ring": 1}.get(algorithm, 2)
    k = max(1, math.ceil(size / pipelines / PIPELINE_CHUNK))
    lengths = chunk_lengths(elements, entry.layout(p, k))
    plan = Plan(p, lengths * 4.0, 0)
    buffers = np.ones((p, lengths.size, int(lengths.max())), dtype=np.float32)
    replay_s = _best(lambda: replay(entry.schedule(plan), buffers), repeat)
    flat = buffers.reshape(p, -1)

    def add() -> None:
        for i in range(1, p):
            np.add(flat[0], flat[i], out=flat[0])

    add_s = _best(add, repeat)
    return {
        "replay_s": replay_s,
        "add_s": add_s,
        "verify_s": warm - timing,
        "first_touch_s": cold - warm,
        "peak_bytes": peak,
        "buffers_bytes": p * size,
    }


def _run_child(args: list[str], code: str | None) -> dict:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def quickstart(code: str | None) -> tuple[float, float]:
    """Wall seconds and peak resident bytes of ``clustersim run scenarios/ring_allreduce.yaml``."""
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
    scenario = str(ROOT / "scenarios" / "ring_allreduce.yaml")
    start = time.perf_counter()
    proc = subprocess.Popen(  # -m puts the working directory first on sys.path: run from `code`
        [sys.executable, "-m", "clustersim", "run", scenario, "--json"],
        cwd=code or ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024.0


def _cells(m: dict) -> list[str]:
    if "missing" in m:
        return ["n/a"] * 7
    if "error" in m:
        return ["error"] + [""] * 6
    return [
        f"{m['replay_s']:.3f}",
        f"{m['add_s']:.3f}",
        f"{m['replay_s'] / m['add_s']:.2f}x",
        f"{m['verify_s']:.2f}",
        f"{m['verify_s'] / m['add_s']:.0f}x",
        f"{m['first_touch_s']:+.2f}",
        f"{m['peak_bytes'] / m['buffers_bytes']:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64, help="bytes per rank, MiB")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many")
    parser.add_argument("--before", help="another checkout to compare with (its root folder)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = args.size_mib * MiB
    if args.child:
        op, algorithm, p = args.child
        print(json.dumps(child(op, algorithm, int(p), size, args.repeat)))
        return
    trees = [("after", None)] + ([("before", args.before)] if args.before else [])
    header = ["case", "tree", "replay s", "np.add s", "replay/add", "verify s", "verify/add"]
    header += ["cold +s", "peak/buffers"]
    rows = [header]
    for op, algorithm, p in CASES:
        for label, code in trees:
            measured = _run_child([op, algorithm, str(p)], code)
            case = f"{op} {algorithm} {p}x{args.size_mib} MiB"
            rows.append([case, label, *_cells(measured)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  ".join(cell.rjust(w) if j else cell.ljust(w) for j, (cell, w) in enumerate(
            zip(row, widths, strict=True))))  # fmt: skip
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for label, code in trees:
        wall, rss = quickstart(code)
        print(
            f"Quickstart ({label}): clustersim run scenarios/ring_allreduce.yaml: "
            f"{wall:.2f} s, peak resident {rss / 2**30:.2f} GiB "
            f"(the ranks' buffers: {8 * 64 * MiB / 2**30:.2f} GiB)"
        )


if __name__ == "__main__":
    main()
