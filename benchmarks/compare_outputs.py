"""Run every scenario with ``clustersim run --json`` and compare the outputs with a snapshot.

A refactor that moves code must not change what any scenario prints. This script records the
``--json`` output of every file in ``scenarios/`` (one JSON file per scenario, ``wall_s``
removed) and, given a second snapshot, compares them byte for byte::

    python benchmarks/compare_outputs.py record /tmp/before      # on the old tree
    python benchmarks/compare_outputs.py record /tmp/after       # on the new tree
    python benchmarks/compare_outputs.py compare /tmp/before /tmp/after [--ignore sim_events]

``record --only 'pipeline_*'`` records a subset; ``compare`` checks the scenarios in its second
folder against the first.

``--ignore KEY`` drops a metric from both sides before comparing (for a change that is meant to
alter it, such as an engine that counts events differently). The exit code is 0 when every
scenario matches and 1 otherwise; the differing keys are printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _clustersim() -> str:
    """The console script next to this interpreter (not a shim in front of it)."""
    local = Path(sys.executable).with_name("clustersim")
    return str(local) if local.exists() else (shutil.which("clustersim") or "clustersim")


def _run(path: Path, extra: list[str]) -> tuple[str, str]:
    done = subprocess.run(
        [_clustersim(), "run", str(path), "--json", *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        return path.stem, json.dumps({"exit": done.returncode, "stderr": done.stderr.strip()})
    out = json.loads(done.stdout)
    out.pop("wall_s", None)
    return path.stem, json.dumps(out, sort_keys=True, indent=1)


def record(folder: Path, jobs: int, extra: list[str], only: list[str]) -> None:
    """Write ``<folder>/<scenario>.json`` for every scenario (or those matching ``only``)."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in SCENARIOS if not only or any(fnmatch(p.name, g) for g in only)]
    with ThreadPoolExecutor(jobs) as pool:
        for stem, text in pool.map(lambda p: _run(p, extra), chosen):
            (folder / f"{stem}.json").write_text(text + "\n")
            print(f"recorded {stem}")


def _strip(data: dict, ignore: list[str]) -> dict:
    for section in ("metrics", "analytic"):
        for key in ignore:
            data.get(section, {}).pop(key, None)
    return data


def compare(before: Path, after: Path, ignore: list[str]) -> int:
    """Print one line per scenario recorded in ``after``; return the number that differ."""
    names = sorted(p.stem for p in after.glob("*.json"))
    differ = 0
    for name in names:
        a, b = before / f"{name}.json", after / f"{name}.json"
        if not (a.exists() and b.exists()):
            print(f"MISSING  {name}: only in {'before' if a.exists() else 'after'}")
            differ += 1
            continue
        left = _strip(json.loads(a.read_text()), ignore)
        right = _strip(json.loads(b.read_text()), ignore)
        if json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True):
            print(f"same     {name}")
            continue
        differ += 1
        keys = sorted(
            f"{section}.{key}"
            for section in ("metrics", "analytic", "checks")
            for key in set(left.get(section, {})) | set(right.get(section, {}))
            if left.get(section, {}).get(key) != right.get(section, {}).get(key)
        )
        print(f"DIFFERS  {name}: {', '.join(keys) or 'top-level fields'}")
    print(
        f"{len(names) - differ} of {len(names)} scenarios byte-identical"
        + (f" (ignoring {', '.join(ignore)})" if ignore else "")
    )
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run every scenario and store its JSON")
    rec.add_argument("folder", type=Path)
    rec.add_argument("--jobs", type=int, default=2)
    rec.add_argument("--only", action="append", default=[], help="a file-name glob, e.g. 'ps_*'")
    rec.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="an override applied to every scenario (rarely useful)",
    )
    cmp_ = sub.add_parser("compare", help="compare two recorded folders")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--ignore", action="append", default=[], help="a metric to leave out")
    args = parser.parse_args()
    if args.command == "record":
        extra = [item for value in args.overrides for item in ("--set", value)]
        record(args.folder, args.jobs, extra, args.only)
    else:
        sys.exit(1 if compare(args.before, args.after, args.ignore) else 0)


if __name__ == "__main__":
    main()
