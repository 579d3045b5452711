"""Readable tables of a Result: metric, simulated, analytic, how the two compare, the notes.

**One unit family per kind of quantity**, recognised from the metric's name (its unit suffix,
``docs/architecture.md §5``) and chosen from the tools people compare the numbers with:

=====================  ======================================  ================================
quantity               name                                    printed in
=====================  ======================================  ================================
time                   ends ``_s`` (``_s_per_rank`` ...)       ns, us, ms, s
memory a device holds  ``bytes`` with ``memory`` or            binary: KiB, MiB, GiB, TiB
                       ``params_bytes``                        (nvidia-smi prints MiB, PyTorch's
                                                               ``memory_summary`` KiB...GiB)
data: bytes on the     any other ``bytes``                     decimal: B, kB, MB, GB, TB
wire, payloads,                                                (nccl-tests' sizes, link and NIC
memory traffic                                                 datasheets)
data rate              ends ``_Bps``                           decimal: MB/s, GB/s (nccl-tests'
                                                               algbw and busbw: 1 GB/s = 1e9 B/s)
FLOP count             ``flops``                               FLOP, kFLOP ... PFLOP
energy                 ends ``_j``                             nJ ... J, kJ
ratio, fraction,       ``_ratio``, ``_fraction``, ...,         a number (4 significant digits;
count                  integers                                integers in full)
=====================  ======================================  ================================

A list (or a mapping: per link, per stage) prints once when every value prints the same
(``16 MB (all 8)``), else as ``min .. max (n)`` in its family, with the key of the largest
value of a mapping (the busiest link); a ``..._curve`` prints its first and last points.

**The analytic column explains itself.** A kind may return an
:class:`~clustersim.kinds.contract.AnalyticNote` per analytic value
(``WorkloadKind.analytic_notes``): its formula and source, what the formula assumes, and the
effect the simulation models and the formula leaves out. The ``vs analytic`` column prints
``matches`` when the two agree to 1e-9, otherwise the relative difference in percent followed
by that effect (``+67.7 % stragglers``); a note without a formula makes the analytic cell read
``no closed form``. Under the table, one line per distinct note gives formula and assumption.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import Any

from clustersim.kinds.contract import AnalyticNote
from clustersim.result import Result
from clustersim.units import format_flops, format_time, parse_bytes

__all__ = ["expectation_text", "format_table", "format_value", "quantity"]

_DIGITS = 4
_MATCH = 1e-9
"""Relative difference below which simulation and formula are said to match."""
_WIDTH = 100

# The unit ladders of the two byte families; what each unit means comes from clustersim.units.
_DECIMAL = tuple((u, parse_bytes(f"1 {u}")) for u in ("B", "kB", "MB", "GB", "TB", "PB"))
_BINARY = tuple((u, parse_bytes(f"1 {u}")) for u in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))
_ENERGY = (("nJ", 1e-9), ("µJ", 1e-6), ("mJ", 1e-3), ("J", 1.0), ("kJ", 1e3), ("MJ", 1e6))

_NUMBER_SUFFIX = re.compile(
    r"_(ratio|fraction|factor|coefficient|efficiency|utilization|speedup|reduction|accuracy)$"
)
_PER = re.compile(r"_per_([a-z]+)$")


def quantity(name: str) -> str:
    """The quantity family of a metric name: ``time``, ``memory``, ``data``, ``rate``,
    ``flops``, ``energy`` or ``number`` (see the module docstring)."""
    base = name
    while _PER.search(base) and not base.endswith("_per_s"):
        base = _PER.sub("", base)
    if _NUMBER_SUFFIX.search(base) or base.endswith("_per_s"):
        return "number"
    if base.endswith("_Bps"):
        return "rate"
    if base.endswith("_s"):
        return "time"
    if base.endswith("_j"):
        return "energy"
    if "bytes" in base:
        return "memory" if ("memory" in base or "params_bytes" in base) else "data"
    if "flops" in base:
        return "flops"
    return "number"


def _scaled(value: float, ladder: tuple[tuple[str, float], ...], suffix: str = "") -> str:
    """``value`` in the largest unit of ``ladder`` not above it, to 4 significant digits."""
    if value == 0:
        return f"0 {ladder[0][0]}{suffix}"
    magnitude = abs(value)
    index = max((i for i, (_, scale) in enumerate(ladder) if magnitude >= scale), default=0)
    text = f"{value / ladder[index][1]:.{_DIGITS}g}"
    if index + 1 < len(ladder) and abs(float(text)) * ladder[index][1] >= ladder[index + 1][1]:
        index += 1  # rounding carried into the next unit: 999.96 kB is 1 MB
        text = f"{value / ladder[index][1]:.{_DIGITS}g}"
    return f"{text} {ladder[index][0]}{suffix}"


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value == 0 or 1e-4 <= abs(value) < 1e5:
        return f"{value:.{_DIGITS + 2}g}"
    if abs(value) >= 1e5 and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:.{_DIGITS}g}"


def _scalar(name: str, value: int | float) -> str:
    """One number of metric ``name`` in its family's units."""
    family = quantity(name)
    per_byte = name.endswith("_per_byte")
    value_f = float(value)
    if not math.isfinite(value_f):
        return str(value_f)
    if family == "time":
        return format_time(value_f, _DIGITS) + ("/B" if per_byte else "")
    if family == "rate":
        return _scaled(value_f, _DECIMAL, "/s")
    if family == "data":
        return _scaled(value_f, _DECIMAL)
    if family == "memory":
        return _scaled(value_f, _BINARY)
    if family == "flops":
        return format_flops(value_f, _DIGITS)
    if family == "energy":
        return _scaled(value_f, _ENERGY)
    return _number(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_value(name: str, value: Any) -> str:
    """Format a metric value in the units of its family (see the module docstring)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    keys: list[str] | None = None
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if not all(_is_number(v) for v in value):
            return ", ".join("-" if v is None else str(v) for v in value)
        once = {v: _scalar(name, v) for v in set(value)}  # 1,024 equal ranks: formatted once
        shown = [once[v] for v in value]
        if len(set(shown)) == 1:
            return shown[0] if len(shown) == 1 else f"{shown[0]} (all {len(shown)})"
        if name.endswith("_curve") or name.endswith("_curve_s"):
            return f"{shown[0]} -> {shown[-1]} ({len(shown)} points)"
        low = min(range(len(value)), key=lambda i: value[i])
        high = max(range(len(value)), key=lambda i: value[i])
        where = f", max {keys[high]}" if keys is not None else ""
        return f"{shown[low]} .. {shown[high]} ({len(shown)}{where})"
    if not _is_number(value):
        return str(value)
    return _scalar(name, value)


def _relative(sim: Any, ref: Any) -> float | None:
    """The largest relative difference of ``sim`` from ``ref`` (elementwise for lists)."""
    if isinstance(sim, dict) and isinstance(ref, dict) and sim.keys() == ref.keys():
        sim, ref = list(sim.values()), list(ref.values())
    if isinstance(sim, (list, tuple)) and isinstance(ref, (list, tuple)):
        if len(sim) != len(ref) or not sim:
            return None
        pairs = [_relative(a, b) for a, b in zip(sim, ref, strict=True)]
        if any(p is None for p in pairs):
            return None
        return max(pairs, key=lambda p: abs(p or 0.0))
    if not (_is_number(sim) and _is_number(ref)):
        return None
    if ref == 0:
        return 0.0 if sim == 0 else None
    rel = (sim - ref) / ref
    return rel if math.isfinite(rel) else None


def _comparison(sim: Any, ref: Any, note: AnalyticNote | None) -> str:
    """The ``vs analytic`` cell: ``matches``, or ``+2.68 %`` and the effect the note names."""
    rel = _relative(sim, ref)
    if rel is None:
        return ""
    if abs(rel) < _MATCH:
        return "matches"
    text = f"{100 * rel:+.3g} %"
    if note is not None and note.departs:
        text += f" {note.departs}"
    return text


def _analytic_cell(name: str, result: Result) -> str:
    if name in result.analytic:
        return format_value(name, result.analytic[name])
    note = result.analytic_notes.get(name)
    if note is not None and note.formula is None:
        return "no closed form"
    return ""


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False
    )


def _note_lines(result: Result, names: list[str]) -> list[str]:
    """The notes under the table: each analytic value's formula and source, then each distinct
    assumption (or reason there is no closed form) with the values it covers."""
    notes = {n: result.analytic_notes[n] for n in names if n in result.analytic_notes}
    lines: list[str] = []
    for name, note in notes.items():
        if note.formula is not None:
            lines += _wrapped(f"{name}: {note.formula}")
    grouped: dict[tuple[bool, str], list[str]] = {}
    for name, note in notes.items():
        if note.assumes or note.formula is None:
            grouped.setdefault((note.formula is None, note.assumes), []).append(name)
    for (closed_form_missing, text), covered in grouped.items():
        head = "no closed form for" if closed_form_missing else "assumed for"
        lines += _wrapped(f"{head} {', '.join(covered)}" + (f": {text}" if text else ""))
    bare = [n for n in names if n in result.analytic and n not in notes]
    if bare and lines:
        lines += _wrapped(f"{', '.join(bare)}: see `clustersim list` for the kind's formulas")
    return lines


def format_table(result: Result) -> str:
    """The table ``clustersim run`` prints without ``--json``."""
    extra = [k for k in result.analytic if k not in result.metrics]
    names = list(result.metrics) + extra
    rows = [("metric", "simulated", "analytic", "vs analytic")]
    for name in names:
        sim = result.metrics.get(name)
        ref = result.analytic.get(name)
        rows.append(
            (
                name,
                format_value(name, sim) if name in result.metrics else "",
                _analytic_cell(name, result),
                _comparison(sim, ref, result.analytic_notes.get(name))
                if name in result.metrics and name in result.analytic
                else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"scenario {result.scenario}  (seed {result.seed}, wall {result.wall_s:.3f} s)", ""]
    for i, row in enumerate(rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = _note_lines(result, names)
    if notes:
        lines += ["", "analytic column", *notes]
    if result.checks:
        lines += ["", "checks"]
        for name, record in result.checks.items():
            status = "PASS" if record.get("passed") else "FAIL"
            details = ", ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in record.items()
                if k != "passed"
            )
            lines.append(f"  {status}  {name}" + (f"  ({details})" if details else ""))
    if result.expectations:
        lines += ["", "expectations"]
        for name, record in result.expectations.items():
            lines.append(
                f"  {'MET ' if record['met'] else 'MISS'}  {name}  {expectation_text(name, record)}"
            )
    return "\n".join(lines)


def expectation_text(name: str, record: dict[str, Any]) -> str:
    """``value ... bound (relative error)`` of one expectation, in the metric's units."""
    if "skipped" in record:
        return f"({record['skipped']})"
    if "error" in record:
        return f"({record['error']})"
    if name.startswith("checks."):
        return f"(expected {record['expected']}, got {record['value']})"
    value = format_value(name, record["value"])
    if record["bound"] == "range":
        low, high = record["min"], record["max"]
        shown = " and ".join(
            f"{word} {format_value(name, limit)}"
            for word, limit in (("at least", low), ("at most", high))
            if math.isfinite(limit)
        )
        return f"{value}, expected {shown}"
    target = format_value(name, record["target"])
    where = "the analytic " if record["bound"] == "analytic" else ""
    tolerance = record["tolerance"]
    atol = f", atol {tolerance['atol']:g}" if tolerance["atol"] else ""
    return (
        f"{value}, expected {where}{target} (relative error {record['rel_err']:.2e}, "
        f"rtol {tolerance['rtol']:.0e}{atol})"
    )
