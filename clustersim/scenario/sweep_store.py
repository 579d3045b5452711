"""A sweep's output: a JSONL journal, the source of truth, and a CSV written from it.

Each finished row is appended to the journal (``rows.jsonl``; next to ``rows.csv`` when the
output asked for is a CSV) and flushed at once, so a sweep killed with SIGKILL loses no
finished point, and a row with fields no earlier row had is just another line. The CSV is
derived: a row whose fields the header already has is appended; a row with new fields makes
the CSV be rewritten whole, atomically (a temporary file renamed over it), with the union of
the columns, so the CSV on disk is always a complete table. When the sweep ends (or is
interrupted) both files are rewritten in grid order, one row per point, with the columns in a
stable order: ``index``, the grid axes, ``status``, the metrics, the ``analytic_*``
predictions, the checks, then ``error``, ``wall_s``, ``cpu_s`` and ``scenario_hash``. Metrics and
predictions keep the order in which they first appear in that grid order, so the same sweep
always gives the same header, whatever order its points finished in. A list- or mapping-valued
metric (a per-round curve) is a JSON value in the journal and compact JSON text in its CSV cell
(``[0.1,0.25,0.4]``), read back as the list by :func:`read_rows`.

JSONL rather than Parquet: it needs no dependency, appending one line is the cheapest durable
write there is, a torn last line (a kill in the middle of a write) is detected and dropped,
and pandas, polars and DuckDB all read it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from clustersim.errors import InputError

__all__ = ["SweepOutput", "column_order", "journal_path", "read_journal", "read_rows"]

_CHECKS = ("checks_passed", "expectations_met")
_TAIL = ("error", "wall_s", "cpu_s", "scenario_hash")
_INTEGER = re.compile(r"[+-]?\d+")


def journal_path(out: Path) -> Path:
    """The JSONL journal of an output: ``out`` itself, or ``rows.jsonl`` beside ``rows.csv``."""
    return out if out.suffix == ".jsonl" else out.with_suffix(".jsonl")


def column_order(rows: Iterable[dict[str, Any]], axes: Sequence[str]) -> list[str]:
    """The union of the rows' fields in a stable order (rows are taken in the order given).

    ``index``, the grid ``axes``, ``status``, metrics, ``analytic_*``, checks, ``error``,
    ``wall_s``, ``cpu_s``, ``scenario_hash``; within metrics and predictions, first appearance.
    """
    fixed = {"index", "status", *axes, *_CHECKS, *_TAIL}
    metrics: dict[str, None] = {}
    analytic: dict[str, None] = {}
    present: set[str] = set()
    for row in rows:
        for key in row:
            present.add(key)
            if key in fixed:
                continue
            (analytic if key.startswith("analytic_") else metrics).setdefault(key, None)
    head = [key for key in ("index", *axes, "status") if key in present]
    tail = [key for key in (*_CHECKS, *_TAIL) if key in present]
    return [*head, *metrics, *analytic, *tail]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):  # a curve, or a grid value such as [2, 4]: one cell
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    return value


def _parse_cell(text: str) -> Any:
    """A CSV cell back to the value the row held (numbers, booleans, lists; "" is None)."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        pass
    if text[0] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def read_journal(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """The rows of a journal, and whether its last line was torn (and so dropped).

    A sweep killed in the middle of a write can leave a last line without its newline that is
    not valid JSON; any other line that is not a JSON object is an error naming the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a sweep journal: {exc}") from None
    lines = text.split("\n")
    torn = False
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            if number == len(lines):  # the last line, with no newline after it: a torn write
                torn = True
                continue
            raise InputError(
                f"{path}: line {number} is not a sweep row (a JSON object); this file is not a "
                "sweep journal, or it was edited"
            )
        rows.append(row)
    return rows, torn


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a sweep output, ``.jsonl`` or ``.csv`` (cells parsed back to values)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; expected a sweep's rows (.csv or .jsonl)")
    if path.suffix == ".jsonl":
        return read_journal(path)[0]
    if path.suffix != ".csv":
        raise InputError(f"{path}: expected a sweep's rows as a .csv or .jsonl file")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return [
                {key: _parse_cell(value or "") for key, value in row.items()}
                for row in csv.DictReader(handle)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot be read as CSV: {exc}") from None


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, allow_nan=False) + "\n"


class SweepOutput:
    """The files of one sweep: the journal, and the CSV when ``out`` is a ``.csv``."""

    def __init__(self, out: Path, axes: Sequence[str]) -> None:
        out = Path(out)
        if out.suffix not in (".csv", ".jsonl"):
            raise InputError(f"--out {out}: expected a .csv or .jsonl file name")
        self.journal = journal_path(out)
        self.csv = out if out.suffix == ".csv" else None
        self.axes = list(axes)
        self._rows: dict[str, dict[str, Any]] = {}
        self._handle: TextIO | None = None
        self._csv_handle: TextIO | None = None
        self._csv_columns: list[str] = []
        self._started = False

    @property
    def paths(self) -> list[Path]:
        """The files this output writes, the asked-for one first."""
        return [self.csv, self.journal] if self.csv is not None else [self.journal]

    def existing(self) -> list[Path]:
        """The output files that exist already and are not empty."""
        return [p for p in self.paths if p.exists() and (p.is_dir() or p.stat().st_size > 0)]

    def check_writable(self) -> None:
        """Refuse an output path that is a folder or whose folder cannot be written (nothing
        is created yet: :meth:`start` makes the folder)."""
        for path in self.paths:
            if path.is_dir():
                raise InputError(f"--out {path}: is a directory; expected a file name")
            folder = path.parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
                raise InputError(f"--out {path}: {folder} is not a writable folder")

    def start(self, kept: Sequence[dict[str, Any]]) -> None:
        """Write the rows kept from an earlier run (or none), then open for appending."""
        self._rows = {row["scenario_hash"]: row for row in kept}
        self._started = True
        try:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--out {self.journal}: cannot create its folder: {exc}") from None
        self._rewrite()
        self._handle = self.journal.open("a", encoding="utf-8")

    def add(self, row: dict[str, Any]) -> None:
        """Append one finished row to the journal and the CSV, flushed."""
        assert self._handle is not None, "start() first"
        self._rows[row["scenario_hash"]] = row
        self._handle.write(_json_line(row))
        self._handle.flush()
        if self.csv is None:
            return
        if set(row) <= set(self._csv_columns) and self._csv_handle is not None:
            self._csv_handle.write(_csv_text([row], self._csv_columns).split("\n", 1)[1])
            self._csv_handle.flush()
        else:  # new fields: the whole table again, with the union of the columns
            self._write_csv()

    def finish(self) -> None:
        """Close, and rewrite both files in grid order with the stable column order."""
        if not self._started:  # nothing was written: leave whatever is there alone
            return
        for handle in (self._handle, self._csv_handle):
            if handle is not None:
                handle.close()
        self._handle = self._csv_handle = None
        self._rewrite()

    def _ordered(self) -> list[dict[str, Any]]:
        return sorted(self._rows.values(), key=lambda row: row["index"])

    def _rewrite(self) -> None:
        _write_atomically(self.journal, "".join(_json_line(row) for row in self._ordered()))
        if self.csv is not None:
            self._write_csv()

    def _write_csv(self) -> None:
        assert self.csv is not None
        rows = self._ordered()
        self._csv_columns = column_order(rows, self.axes)
        if self._csv_handle is not None:
            self._csv_handle.close()
            self._csv_handle = None
        _write_atomically(self.csv, _csv_text(rows, self._csv_columns) if rows else "")
        if self._handle is not None:  # still running: keep appending to the new file
            self._csv_handle = self.csv.open("a", newline="", encoding="utf-8")
