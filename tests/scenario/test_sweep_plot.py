"""The sweep plot: ``clustersim plot ROWS --x KEY --y KEY [--hue KEY] [--analytic]`` draws the
rows (simulated as markers, the analytic prediction as a line where the rows have one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.plot.sweep import plot_sweep
from clustersim.scenario.sweep import parse_grid, run_sweep
from clustersim.scenario.sweep_store import read_rows
from tests.paths import SCENARIOS

runner = CliRunner()


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All-reduce time against N for two algorithms on a fully connected cluster."""
    out = tmp_path_factory.mktemp("plot") / "rows.csv"
    grid = parse_grid(["workload.algorithm=ring,direct", "cluster.topology.nodes=2,4,8"])
    list(
        run_sweep(
            SCENARIOS / "allreduce_algorithms.yaml",
            grid,
            base_overrides=["workload.verify=false"],
            out=out,
            jobs=1,
        )
    )
    return out


def test_the_cli_writes_the_picture(rows_csv: Path) -> None:
    png = rows_csv.with_name("time.png")
    args = ["plot", str(rows_csv), "--x", "cluster.topology.nodes", "--y", "time_s"]
    result = runner.invoke(app, [*args, "--hue", "workload.algorithm", "--analytic", "--out", png])
    assert result.exit_code == 0, result.output
    assert f"wrote {png}" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_points_are_the_simulated_values_and_lines_the_formula(rows_csv: Path) -> None:
    rows = read_rows(rows_csv)
    fig = plot_sweep(
        rows, x="cluster.topology.nodes", y="time_s", hue="workload.algorithm", analytic=True
    )
    lines = fig.axes[0].get_lines()
    for algorithm in ("ring", "direct"):
        mine = [r for r in rows if r["workload.algorithm"] == algorithm]
        markers = next(line for line in lines if line.get_label() == algorithm)
        assert list(markers.get_xdata()) == [2, 4, 8]
        assert list(markers.get_ydata()) == [r["time_s"] for r in mine]
        formula = next(
            line
            for line in lines
            if line.get_linestyle() == "-"
            and line.get_color() == markers.get_color()
            and len(line.get_xdata())
        )
        assert list(formula.get_ydata()) == [r["analytic_time_s"] for r in mine]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["ring", "direct", "simulated", "analytic (analytic_time_s)"]


def test_a_categorical_x_and_a_filter(rows_csv: Path) -> None:
    rows = read_rows(rows_csv.with_suffix(".jsonl"))
    fig = plot_sweep(
        rows, x="workload.algorithm", y="busbw_Bps", where=[("cluster.topology.nodes", 8)]
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ring", "direct"]
    assert list(ax.get_lines()[0].get_ydata()) == [
        r["busbw_Bps"] for r in rows if r["cluster.topology.nodes"] == 8
    ]


def test_rows_without_the_value_are_left_out_and_counted() -> None:
    rows = [
        {"index": 0, "n": 2, "status": "ok", "time_s": 1.0},
        {"index": 1, "n": 4, "status": "sim_failed", "error": "deadlock"},
        {"index": 2, "n": 8, "status": "checks_failed", "time_s": 3.0},
    ]
    fig = plot_sweep(rows, x="n", y="time_s")
    ax = fig.axes[0]
    assert list(ax.get_lines()[0].get_xdata()) == [2]  # ok points
    assert list(ax.get_lines()[1].get_xdata()) == [8]  # the failed check, a cross
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "1 rows without time_s left out" in labels


def test_bad_keys_and_mixed_rows_are_input_errors(rows_csv: Path) -> None:
    rows = read_rows(rows_csv)
    with pytest.raises(InputError, match="did you mean 'time_s'"):
        plot_sweep(rows, x="cluster.topology.nodes", y="time")
    with pytest.raises(InputError, match=r"differ in workload.algorithm; draw them apart"):
        plot_sweep(rows, x="cluster.topology.nodes", y="time_s")
    result = runner.invoke(app, ["plot", str(rows_csv), "--x", "nodes", "--y", "time_s"])
    assert result.exit_code == 2 and "--x 'nodes' is not a column" in result.stderr
    missing = runner.invoke(app, ["plot", "nowhere.csv", "--x", "a", "--y", "b"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
