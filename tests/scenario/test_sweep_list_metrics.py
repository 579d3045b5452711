"""List-valued metrics in sweep rows: a federated sweep's per-round curves are in its rows, as
JSON in the journal and as compact JSON text in a CSV cell, read back as the same lists; the
CSV keeps the union of the columns in the stable order; a resumed sweep ends with the rows of
a clean one; ``clustersim plot`` refuses a list column with a message naming the others."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clustersim
from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.plot.sweep import plot_sweep
from clustersim.result import to_plain
from clustersim.scenario.sweep import run_sweep
from clustersim.scenario.sweep_store import column_order, read_journal, read_rows
from tests.paths import SCENARIOS

FEDPROX = SCENARIOS / "federated_fedprox_stragglers.yaml"
BASE = ["workload.rounds=3", "workload.verify=false", "expect=null"]
COMPARE = [{"fedavg": {"algorithm": "fedavg", "mu": 0}}, {"mu0": {"mu": 0.0}}]
"""The second point compares with FedProx at mu = 0 instead: new list columns (mu0_*)."""
GRID = [("workload.stragglers", [0.0, 0.5]), ("workload.compare", COMPARE)]


def _untimed(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("wall_s", "cpu_s")} for row in rows]


def _present(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("curves") / "rows.csv"
    list(run_sweep(FEDPROX, GRID, base_overrides=BASE, out=out, jobs=1))
    return out


def test_rows_carry_the_curves_of_a_single_run(swept: Path) -> None:
    rows, _ = read_journal(swept.with_suffix(".jsonl"))
    assert [(r["workload.stragglers"], r["workload.compare"]) for r in rows] == [
        (s, c) for s in (0.0, 0.5) for c in COMPARE
    ]
    for row in rows:
        overrides = [*BASE, *(f"{k}={json.dumps(row[k])}" for k, _ in GRID)]
        metrics = to_plain(clustersim.run(FEDPROX, overrides).metrics)
        for name in ("loss_curve", "accuracy_curve", "round_time_s", "participation_per_client"):
            assert isinstance(row[name], list) and len(row[name]) > 1
            assert row[name] == metrics[name]
        assert len(row["loss_curve"]) == len(row["eval_rounds"]) == 3
    assert rows[0]["loss_curve"] != rows[2]["loss_curve"]  # stragglers change the curve
    assert "mu0_loss_curve" in rows[1] and "mu0_loss_curve" not in rows[0]


def test_the_csv_holds_compact_json_and_reads_back_as_the_journal(swept: Path) -> None:
    journal, _ = read_journal(swept.with_suffix(".jsonl"))
    with swept.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, cells = reader.fieldnames, list(reader)
    assert header == column_order(journal, [key for key, _ in GRID])
    assert header.index("status") < header.index("loss_curve") < header.index("checks_passed")
    assert {"mu0_loss_curve", "fedavg_loss_curve"} <= set(header)  # the union of the rows
    text = cells[0]["loss_curve"]
    assert text.startswith("[") and " " not in text
    assert json.loads(text) == journal[0]["loss_curve"]
    assert cells[0]["mu0_loss_curve"] == ""  # a column only another row has
    assert json.loads(cells[1]["workload.compare"]) == COMPARE[1]
    assert _present(read_rows(swept)) == _present(journal)  # a CSV cell "" is None or absent


def test_a_resumed_sweep_of_curves_ends_with_the_rows_of_a_clean_one(
    swept: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rows.csv"
    first = [("workload.stragglers", [0.5]), ("workload.compare", COMPARE)]
    list(run_sweep(FEDPROX, first, base_overrides=BASE, out=out, jobs=1))
    run = run_sweep(FEDPROX, GRID, base_overrides=BASE, out=out, jobs=1, resume=True)
    assert run.skipped == 2 and [p.index for p in run.todo] == [0, 1]
    list(run)
    clean = read_journal(swept.with_suffix(".jsonl"))[0]
    assert _untimed(read_journal(out.with_suffix(".jsonl"))[0]) == _untimed(clean)
    assert _untimed(read_rows(out)) == _untimed(read_rows(swept))  # the CSV, cell for cell
    assert out.read_text().splitlines()[0] == swept.read_text().splitlines()[0]


def test_plot_refuses_a_list_column_and_draws_the_scalar_ones(swept: Path) -> None:
    rows = read_rows(swept)
    x, hue = "workload.stragglers", "workload.compare"
    with pytest.raises(InputError, match=r"--y 'loss_curve' holds lists .* final_loss"):
        plot_sweep(rows, x=x, y="loss_curve", where=[(hue, COMPARE[0])])
    with pytest.raises(InputError, match=r"--hue 'workload.compare' holds dicts"):
        plot_sweep(rows, x=x, y="final_loss", hue=hue)
    fig = plot_sweep(rows, x=x, y="final_loss", where=[(hue, COMPARE[0])])
    (markers, *_) = fig.axes[0].get_lines()
    assert list(markers.get_ydata()) == [r["final_loss"] for r in rows if r[hue] == COMPARE[0]]
    result = CliRunner().invoke(app, ["plot", str(swept), "--x", x, "--y", "accuracy_curve"])
    assert result.exit_code == 2 and "'accuracy_curve' holds lists" in result.stderr
