"""Sweeps: grid parsing, cartesian order, streamed rows, bad input before any run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.sweep import grid_points, parse_grid, run_sweep

RING = Path(__file__).resolve().parents[2] / "scenarios" / "ring_allreduce.yaml"
BASE = ["workload.verify=false"]


def test_parse_grid_reads_yaml_values_and_nested_lists() -> None:
    grid = parse_grid(
        ["cluster.topology.nodes=2,4", "workload.ranks=[n0,n1],[n1,n0]", "workload.size=1MiB"]
    )
    assert grid == [
        ("cluster.topology.nodes", [2, 4]),
        ("workload.ranks", [["n0", "n1"], ["n1", "n0"]]),
        ("workload.size", ["1MiB"]),
    ]
    points = grid_points(grid)
    assert len(points) == 4 and points[1][1] == ("workload.ranks", ["n1", "n0"])
    with pytest.raises(InputError, match="KEY=V1,V2"):
        parse_grid(["nodes"])


def test_rows_follow_the_grid_and_match_single_runs(tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    grid = parse_grid(["cluster.topology.nodes=2,4,8"])
    rows = list(run_sweep(RING, grid, base_overrides=BASE, out=out, jobs=1))
    assert [r["index"] for r in rows] == [0, 1, 2]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["cluster.topology.nodes"] for r in written] == [2, 4, 8]
    for row in written:
        n = row["cluster.topology.nodes"]
        assert row["bytes_total"] == 2 * (n - 1) * 64 * 2**20
        assert row["time_s"] == pytest.approx(row["analytic_time_s"], rel=1e-6)
        assert row["checks_passed"] is True


def test_process_pool_gives_the_same_rows(tmp_path: Path) -> None:
    grid = parse_grid(["cluster.topology.nodes=2,3,5,8"])
    serial = sorted(run_sweep(RING, grid, base_overrides=BASE, jobs=1), key=lambda r: r["index"])
    pooled = sorted(run_sweep(RING, grid, base_overrides=BASE, jobs=2), key=lambda r: r["index"])
    for a, b in zip(serial, pooled, strict=True):
        for timed in ("wall_s", "cpu_s"):
            a.pop(timed), b.pop(timed)
        assert a == b


def test_cli_sweep_writes_csv_and_rejects_bad_points_before_running(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "sweep.csv"
    ok = runner.invoke(
        app,
        [
            "sweep",
            str(RING),
            "--grid",
            "workload.size=1MiB,2MiB",
            "--set",
            "workload.verify=false",
            "--out",
            str(out),
            "--jobs",
            "1",
        ],
    )
    assert ok.exit_code == 0, ok.output
    rows = list(csv.DictReader(out.open()))
    assert [r["workload.size"] for r in rows] == ["1MiB", "2MiB"]
    bad_out = tmp_path / "bad.csv"
    bad = runner.invoke(
        app, ["sweep", str(RING), "--grid", "cluster.topology.nodes=4,1", "--out", str(bad_out)]
    )
    assert bad.exit_code == 2 and "at least 2" in bad.stderr
    assert not bad_out.exists()
