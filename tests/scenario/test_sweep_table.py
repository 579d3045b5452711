"""Complete, deterministic tables: the CSV's columns are the union of every row's fields in a
stable order (index, grid axes, status, metrics, analytic, checks, error, wall time, hash),
written from the JSONL journal so that a row with new fields never corrupts the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clustersim.cli import app
from clustersim.errors import InputError
from clustersim.scenario.sweep_store import SweepOutput, column_order, read_journal, read_rows
from tests.paths import SCENARIOS


def test_the_csv_has_every_field_of_every_row(tmp_path: Path) -> None:
    """The issue's case: the speculative row has fields the tree row does not."""
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(SCENARIOS / "speculative_methods.yaml"),
            "--grid",
            "workload.method=tree,speculative,pearl",
            "--set",
            "workload.tokens=100",
            "--set",
            "workload.verify=false",
            "--out",
            str(out),
            "--jobs",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    journal = read_rows(out.with_suffix(".jsonl"))
    header = next(csv.reader(out.open()))
    union = set().union(*(set(row) for row in journal))
    assert set(header) == union and len(header) == len(union)
    sizes = {row["workload.method"]: len(row) for row in journal}
    assert sizes["speculative"] > sizes["tree"]  # so a first-row header would drop fields
    assert header[:3] == ["index", "workload.method", "status"]
    assert header[-4:] == ["expectations_met", "wall_s", "cpu_s", "scenario_hash"]
    first_analytic = next(i for i, key in enumerate(header) if key.startswith("analytic_"))
    assert all(key.startswith("analytic_") for key in header[first_analytic:-5])
    for csv_row, json_row in zip(read_rows(out), journal, strict=True):
        assert csv_row == {key: json_row.get(key) for key in header}


def _row(index: int, **fields: object) -> dict:
    return {"index": index, "n": index, "status": "ok", **fields, "scenario_hash": f"h{index}"}


def test_files_do_not_depend_on_the_order_rows_finish(tmp_path: Path) -> None:
    rows = [
        _row(0, time_s=1.0, analytic_time_s=1.0, checks_passed=True),
        _row(1, time_s=2.0, bytes_total=5, analytic_time_s=2.0, checks_passed=True),
        _row(2, status="sim_failed", error="deadlock"),
    ]
    texts = []
    for order, folder in (([0, 1, 2], "a"), ([2, 1, 0], "b")):
        output = SweepOutput(tmp_path / folder / "rows.csv", ["n"])
        output.start([])
        for i in order:
            output.add(rows[i])
        output.finish()
        texts.append((output.csv.read_text(), output.journal.read_text()))
    assert texts[0] == texts[1]
    header = texts[0][0].splitlines()[0].split(",")
    assert header == [
        "index",
        "n",
        "status",
        "time_s",
        "bytes_total",
        "analytic_time_s",
        "checks_passed",
        "error",
        "scenario_hash",
    ]
    assert column_order([rows[2], rows[0]], ["n"])[:3] == ["index", "n", "status"]


def test_a_later_row_with_new_fields_rewrites_a_complete_csv(tmp_path: Path) -> None:
    output = SweepOutput(tmp_path / "rows.csv", ["n"])
    output.start([])
    output.add(_row(0, time_s=1.0))
    output.add(_row(1, time_s=2.0, extra=[1, 2]))  # a field the header does not have yet
    output.add(_row(2, time_s=3.0))  # appended under the new header
    live = list(csv.reader((tmp_path / "rows.csv").open()))  # before finish: still a table
    assert live[0] == ["index", "n", "status", "time_s", "extra", "scenario_hash"]
    assert all(len(line) == len(live[0]) for line in live) and len(live) == 4
    output.finish()
    assert read_rows(tmp_path / "rows.csv")[1]["extra"] == [1, 2]
    assert [r["index"] for r in read_rows(tmp_path / "rows.jsonl")] == [0, 1, 2]


def test_a_torn_last_line_is_dropped_and_a_bad_line_is_an_error(tmp_path: Path) -> None:
    journal = tmp_path / "rows.jsonl"
    good = json.dumps(_row(0, time_s=1.0))
    journal.write_text(good + "\n" + good[:17])  # killed in the middle of the second write
    rows, torn = read_journal(journal)
    assert torn and rows == [json.loads(good)]
    journal.write_text(good + "\nnot json\n" + good + "\n")
    with pytest.raises(InputError, match="line 2 is not a sweep row"):
        read_journal(journal)
