"""Resume: a sweep killed with SIGKILL midway and resumed gives exactly the rows of a clean run,
with no duplicates; an existing output is never replaced without --overwrite."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.sweep import parse_grid, run_sweep
from clustersim.scenario.sweep_store import read_journal
from tests.paths import REPO, SCENARIOS
from tests.scenario.test_sweep_failures import PROBE_CLI, probe_file

GRID = ["workload.value=1,2,3,4", "workload.fail=none,check", "workload.sleep_s=0.1"]


def _without_wall(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("wall_s", "cpu_s")} for row in rows]


def _csv_without_wall(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    timed = {header.index("wall_s"), header.index("cpu_s")}
    return [",".join(c for i, c in enumerate(line.split(",")) if i not in timed) for line in lines]


def test_a_sweep_killed_midway_resumes_to_the_rows_of_a_clean_run(tmp_path: Path) -> None:
    path = probe_file(tmp_path)
    out = tmp_path / "rows.csv"
    args = [*PROBE_CLI, "sweep", str(path), "--out", str(out), "--jobs", "1"]
    for spec in GRID:
        args += ["--grid", spec]
    process = subprocess.Popen(args, cwd=REPO, stderr=subprocess.DEVNULL)
    journal = out.with_suffix(".jsonl")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    before, _ = read_journal(journal)
    assert 3 <= len(before) < 8, "the sweep was not killed midway"

    refused = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    assert refused.returncode == 2 and "--resume finishes that sweep" in refused.stderr
    assert read_journal(journal)[0] == before  # untouched

    resumed = subprocess.run([*args, "--resume"], cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 1, resumed.stderr  # the check=fail points
    assert f"{len(before)} | of the rows above were in --out already" in resumed.stderr

    clean = tmp_path / "clean.csv"
    list(run_sweep(path, parse_grid(GRID), out=clean, jobs=1))
    rows, torn = read_journal(journal)
    assert not torn
    assert _without_wall(rows) == _without_wall(read_journal(clean.with_suffix(".jsonl"))[0])
    assert len({row["scenario_hash"] for row in rows}) == len(rows) == 8
    assert _csv_without_wall(out) == _csv_without_wall(clean)


def test_resume_reruns_only_what_is_missing_or_lost(tmp_path: Path) -> None:
    path = probe_file(tmp_path)
    out = tmp_path / "rows.jsonl"
    grid = parse_grid(["workload.value=1,2,3"])
    list(run_sweep(path, grid, out=out, jobs=1))
    rows, _ = read_journal(out)
    rows[1]["status"] = "lost"  # as if its worker had died on every attempt
    out.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))  # and point 2 never ran
    run = run_sweep(path, grid, out=out, jobs=1, resume=True)
    assert run.skipped == 1 and [p.index for p in run.todo] == [1, 2]
    assert [r["index"] for r in run] == [1, 2]
    assert [r["status"] for r in read_journal(out)[0]] == ["ok", "ok", "ok"]


def test_a_grown_grid_resumes_with_new_indices(tmp_path: Path) -> None:
    path = probe_file(tmp_path)
    out = tmp_path / "rows.jsonl"
    list(run_sweep(path, parse_grid(["workload.value=2,4"]), out=out, jobs=1))
    run = run_sweep(path, parse_grid(["workload.value=1,2,3,4"]), out=out, jobs=1, resume=True)
    assert [r["workload.value"] for r in run] == [1, 3]
    final = read_journal(out)[0]
    assert [(r["index"], r["workload.value"]) for r in final] == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_resume_refuses_rows_of_another_sweep(tmp_path: Path) -> None:
    path = probe_file(tmp_path)
    out = tmp_path / "rows.jsonl"
    list(run_sweep(path, parse_grid(["workload.value=1,2"]), out=out, jobs=1))
    with pytest.raises(InputError, match=r"row 2 \(index 1\) is not a point of this sweep"):
        run_sweep(path, parse_grid(["workload.value=1,3"]), out=out, resume=True)
    out.write_text('{"index": 0}\n')
    with pytest.raises(InputError, match="not a sweep journal"):
        run_sweep(path, parse_grid(["workload.value=1"]), out=out, resume=True)


def test_overwrite_replaces_and_nothing_else_does(tmp_path: Path) -> None:
    ring = SCENARIOS / "ring_allreduce.yaml"
    out = tmp_path / "rows.csv"
    out.write_text("precious,results\n1,2\n")
    base = ["sweep", str(ring), "--grid", "cluster.topology.nodes=2,4", "--out", str(out)]
    base += ["--set", "workload.verify=false", "--jobs", "1"]
    refused = CliRunner().invoke(app, base)
    assert refused.exit_code == 2 and "already exists" in refused.stderr
    assert out.read_text() == "precious,results\n1,2\n"
    no_journal = CliRunner().invoke(app, [*base, "--resume"])
    assert no_journal.exit_code == 2 and "cannot be resumed" in no_journal.stderr
    replaced = CliRunner().invoke(app, [*base, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert out.read_text().startswith("index,cluster.topology.nodes,status,")
