"""Sweeps on Dask: a real 2-worker LocalCluster (worker processes) gives the rows a sweep in
this process gives, failed points included; without Dask installed, --scheduler dask is exit 2
saying how to install it. (CI installs the dask extra, so the LocalCluster test runs there.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.scenario.sweep import parse_grid, run_sweep
from tests.paths import SCENARIOS
from tests.scenario.test_sweep_failures import probe_file


def _rows(run: object) -> list[dict]:
    rows = sorted(run, key=lambda r: r["index"])  # type: ignore[call-overload]
    return [{k: v for k, v in row.items() if k not in ("wall_s", "cpu_s")} for row in rows]


def test_a_dask_local_cluster_gives_the_rows_of_the_local_pool(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    path = probe_file(tmp_path)
    grid = parse_grid(["workload.fail=none,simulation,check", "workload.value=1,2"])
    out = tmp_path / "rows.csv"
    dask = run_sweep(path, grid, jobs=2, scheduler="dask", out=out)
    rows = _rows(dask)
    assert rows == _rows(run_sweep(path, grid, jobs=1)) and len(rows) == 6
    assert [r["status"] for r in rows[::2]] == ["ok", "sim_failed", "checks_failed"]
    assert dask.exit_code() == 3
    assert out.read_text().count("\n") == 7  # header and 6 rows, written on the client


@pytest.mark.parametrize("scheduler", ["dask", "tcp://127.0.0.1:8786"])
def test_without_dask_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, scheduler: str
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(SCENARIOS / "ring_allreduce.yaml"),
            "--grid",
            "cluster.topology.nodes=2,4",
            "--scheduler",
            scheduler,
        ],
    )
    assert result.exit_code == 2, result.output
    assert "pip install -e '.[dask]'" in result.stderr and "Traceback" not in result.output
