"""Readable tables of a Result: metric, simulated, analytic, relative difference, checks."""

from __future__ import annotations

import math
import re
from typing import Any

from clustersim.result import Result
from clustersim.units import format_bytes, format_rate, format_time

__all__ = ["expectation_text", "format_table", "format_value"]


def format_value(name: str, value: Any) -> str:
    """Format a metric by its unit suffix: ``_s`` time, ``_Bps`` rate, ``bytes`` size."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        numbers = [v for v in value if isinstance(v, (int, float))]
        if len(numbers) == len(value):
            low, high = min(numbers), max(numbers)
            if low == high:
                return f"{format_value(name, low)} (all {len(value)})"
            return f"{format_value(name, low)} .. {format_value(name, high)} ({len(value)})"
        return ", ".join(map(str, value))
    if not isinstance(value, (int, float)):
        return str(value)
    name = re.sub(r"_per_[a-z]+$", "", name)  # "comm_busy_s_per_rank" is in seconds
    if name.endswith("_Bps"):
        return format_rate(float(value), 4)
    if name.endswith("_s") or name.endswith("_s_per_byte"):
        return format_time(float(value), 4)
    if "bytes" in name:
        return format_bytes(float(value), 4)
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def _relative(sim: Any, ref: Any) -> str:
    if not isinstance(sim, (int, float)) or not isinstance(ref, (int, float)) or ref == 0:
        return ""
    return f"{(sim - ref) / ref:+.2e}"


def format_table(result: Result) -> str:
    """The table ``clustersim run`` prints without ``--json``."""
    names = list(result.metrics) + [k for k in result.analytic if k not in result.metrics]
    rows = [("metric", "simulated", "analytic", "rel. diff")]
    for name in names:
        sim = result.metrics.get(name)
        ref = result.analytic.get(name)
        rows.append(
            (
                name,
                format_value(name, sim) if name in result.metrics else "",
                format_value(name, ref) if name in result.analytic else "",
                _relative(sim, ref),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"scenario {result.scenario}  (seed {result.seed}, wall {result.wall_s:.3f} s)", ""]
    for i, row in enumerate(rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
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
