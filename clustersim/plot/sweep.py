"""A sweep's rows as a picture: one column against another, simulated as points and the
analytic prediction as a line, one colour per value of a third (matplotlib, imported lazily).

``clustersim plot rows.csv --x cluster.topology.nodes --y time_s --hue workload.algorithm
--analytic`` draws the all-reduce time against N for each algorithm with its formula: a point
off its line is a run that departs from its formula.
"""

from __future__ import annotations

import difflib
import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustersim.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_sweep", "save_sweep_plot"]

_UNITS = (("_Bps", "B/s"), ("_s", "s"), ("_bytes", "B"), ("_flops", "FLOP"), ("_J", "J"))
"""Metric-name suffix -> unit (docs/architecture.md §5: names carry their unit)."""


def _unit(key: str) -> str | None:
    if key.removeprefix("analytic_").startswith("bytes_"):
        return "B"
    for suffix, unit in _UNITS:
        if key.endswith(suffix):
            return unit
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _number(value) and math.isfinite(value)


def _check_key(key: str, columns: list[str], option: str) -> None:
    if key in columns:
        return
    close = difflib.get_close_matches(key, columns, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(
        f"{option} {key!r} is not a column of these rows{hint}; columns: {', '.join(columns)}"
    )


def _axes_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The grid axes: the columns a sweep row holds between ``index`` and ``status``."""
    keys = list(rows[0]) if rows else []
    if "index" in keys and "status" in keys:
        return keys[keys.index("index") + 1 : keys.index("status")]
    return []


def _matches(value: Any, wanted: Any) -> bool:
    return value == wanted or str(value) == str(wanted)


def _select(
    rows: Sequence[dict[str, Any]],
    x: str,
    y: str,
    hue: str | None,
    where: Iterable[tuple[str, Any]],
) -> list[dict[str, Any]]:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if not rows:
        raise InputError("there are no rows to plot")
    for key, option in ((x, "--x"), (y, "--y"), (hue, "--hue")):
        if key is not None:
            _check_key(key, columns, option)
    kept = list(rows)
    for key, wanted in where:
        _check_key(key, columns, "--where")
        kept = [row for row in kept if _matches(row.get(key), wanted)]
        if not kept:
            values = sorted({str(row.get(key)) for row in rows})
            raise InputError(f"--where {key}={wanted}: no row has it; {key} is {', '.join(values)}")
    kept.sort(key=lambda row: row.get("index", 0))
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for row in kept:
        if row.get(y) is None:
            continue
        spot = (str(row.get(hue)) if hue else "", str(row.get(x)))
        twin = seen.get(spot)
        if twin is not None:
            differ = [
                a for a in _axes_of(rows) if a not in (x, hue) and twin.get(a) != row.get(a)
            ] or [k for k in columns if k not in (x, y, hue) and twin.get(k) != row.get(k)][:3]
            raise InputError(
                f"rows {twin.get('index')} and {row.get('index')} have the same {x}"
                f"{' and ' + hue if hue else ''} but differ in {', '.join(differ)}; draw them "
                f"apart with --hue {differ[0]}, or keep one with --where {differ[0]}=VALUE"
            )
        seen[spot] = row
    return kept


def plot_sweep(
    rows: Sequence[dict[str, Any]],
    *,
    x: str,
    y: str,
    hue: str | None = None,
    analytic: bool = False,
    where: Iterable[tuple[str, Any]] = (),
    ax: Axes | None = None,
    logx: bool = False,
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """Draw ``y`` against ``x`` for a sweep's rows, one colour per value of ``hue``.

    Simulated values are markers (a cross for a row whose checks failed or whose
    expectations were missed); with ``analytic``, ``analytic_<y>`` is a line through the rows
    that have it. Rows without ``y`` (points that failed to simulate) are left out and counted
    in the legend. A numeric ``x`` is a numeric axis; anything else is one tick per value, in
    grid order. ``where`` keeps the rows whose column equals the value. Two rows at the same
    ``x`` and ``hue`` are an error naming the column they differ in.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    kept = _select(rows, x, y, hue, where)
    if ax is None:  # a figure of its own, without pyplot: no backend, no global state
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=(8, 4.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    fig = ax.figure
    xs = [row.get(x) for row in kept]
    numeric = all(_number(v) for v in xs if v is not None)
    categories = list(dict.fromkeys(str(v) for v in xs))

    def position(value: Any) -> float:
        return float(value) if numeric else float(categories.index(str(value)))

    groups: dict[str, list[dict[str, Any]]] = {}
    for row in kept:
        groups.setdefault(str(row.get(hue)) if hue else y, []).append(row)
    prediction = f"analytic_{y}"
    missing = 0
    drew_failed = drew_line = False
    for i, (label, members) in enumerate(groups.items()):
        colour = f"C{i % 10}"
        members = sorted(members, key=lambda row: position(row.get(x)))
        good = [r for r in members if _finite(r.get(y)) and r.get("status", "ok") == "ok"]
        bad = [r for r in members if _finite(r.get(y)) and r.get("status", "ok") != "ok"]
        missing += sum(not _finite(r.get(y)) for r in members)
        ax.plot(
            [position(r[x]) for r in good],
            [r[y] for r in good],
            "o",
            color=colour,
            markersize=6,
            label=label,
        )
        if bad:
            drew_failed = True
            ax.plot([position(r[x]) for r in bad], [r[y] for r in bad], "X", color=colour)
        if analytic:
            line = [r for r in members if _finite(r.get(prediction))]
            if line:
                drew_line = True
                ax.plot(
                    [position(r[x]) for r in line],
                    [r[prediction] for r in line],
                    "-",
                    color=colour,
                    linewidth=1.2,
                    alpha=0.8,
                )
    handles, _ = ax.get_legend_handles_labels()
    extra = [Line2D([], [], marker="o", linestyle="", color="0.4", label="simulated")]
    if drew_line:
        extra.append(Line2D([], [], linestyle="-", color="0.4", label=f"analytic ({prediction})"))
    elif analytic:
        extra.append(Line2D([], [], linestyle="", label=f"no {prediction} in these rows"))
    if drew_failed:
        extra.append(
            Line2D(
                [],
                [],
                marker="X",
                linestyle="",
                color="0.4",
                label="check failed or expectation missed",
            )
        )
    if missing:
        extra.append(Line2D([], [], linestyle="", label=f"{missing} rows without {y} left out"))
    ax.legend(handles=[*handles, *extra], title=hue, fontsize="small")
    integers = numeric and all(float(v).is_integer() for v in xs)
    if not numeric:
        ax.set_xticks(range(len(categories)), categories)
    if logx and numeric:
        ax.set_xscale("log", base=2 if integers else 10)
        if integers and len(set(xs)) <= 16:  # the grid's own values, written out
            ticks = sorted({float(v) for v in xs})
            ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    if logy:
        ax.set_yscale("log")
    for key, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        unit = _unit(key)
        if unit is not None and (key != x or numeric):
            axis.set_major_formatter(EngFormatter(unit=unit))
    if integers and not logx:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(textwrap.fill(title, 90, break_on_hyphens=False), fontsize="medium")
    return fig


def save_sweep_plot(rows: Sequence[dict[str, Any]], path: str | Path, **options: Any) -> Path:
    """:func:`plot_sweep` written to ``path`` (.png, .pdf or .svg); returns the path."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"--out {path}: expected a .png, .pdf or .svg file name")
    fig = plot_sweep(rows, **options)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise InputError(f"--out {path}: cannot be written: {exc}") from None
    return path
