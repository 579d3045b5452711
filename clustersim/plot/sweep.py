"""A sweep's rows as a picture: one column against another, simulated as points and the
analytic prediction as a line, one colour per value of a third (matplotlib, imported lazily).

``clustersim plot rows.csv --x cluster.topology.nodes --y time_s --hue workload.algorithm
--analytic`` draws the all-reduce time against N for each algorithm with its formula: a point
off its line is a run that departs from its formula.

From Python, :func:`plot_sweep` also draws several metrics of the same rows at once (``y`` a
list), values relative to one baseline row (``relative_to``: speed-ups), a column of figures
from elsewhere beside the simulated ones (``compare``: a paper's table joined to the rows),
horizontal reference lines, and readable names for columns and values (``labels``). Called
again with the same ``ax`` it adds its series to the ones already there: colours continue, and
the legend lists every series on the axes (and any other labelled artist drawn on them).
"""

from __future__ import annotations

import difflib
import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustersim.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_sweep", "save_sweep_plot"]

_UNITS = (("_Bps", "B/s"), ("_s", "s"), ("_bytes", "B"), ("_flops", "FLOP"), ("_J", "J"))
"""Metric-name suffix -> unit (docs/architecture.md §5: names carry their unit)."""

_SERIES = "clustersim.sweep.series"
"""gid of the marker artist of every series plot_sweep draws: what later calls count."""
_KEY = "clustersim.sweep.key"
"""gid of the empty artists that explain the markers and lines in the legend."""


def _unit(key: str, units: Mapping[str, str]) -> str | None:
    if key in units:
        return units[key]
    base = key.removeprefix("analytic_")
    if base.endswith("_per_s"):  # a rate (samples per second): its unit is in its name
        return None
    if base.startswith("bytes_"):
        return "B"
    for suffix, unit in _UNITS:
        if base.endswith(suffix):
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


def _check_scalar(key: str, rows: Sequence[dict[str, Any]], option: str) -> None:
    """A column drawn as x, y, hue or compare must hold one value per row, not a list (a
    per-round curve) or a mapping: those are kept in the rows, but are no point on a plot."""
    held = {type(row[key]).__name__ for row in rows if isinstance(row.get(key), (list, dict))}
    if not held:
        return
    scalar = [
        k
        for k in dict.fromkeys(k for row in rows for k in row)
        if not any(isinstance(row.get(k), (list, dict)) for row in rows)
    ]
    kinds = " and ".join(sorted(f"{t}s" for t in held))
    raise InputError(
        f"{option} {key!r} holds {kinds} (one value per round, stage or client), not one value "
        f"per row; plot it from the rows in Python, or give one of the columns with one value "
        f"per row: {', '.join(scalar)}"
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
    ys: Sequence[str],
    hue: str | None,
    where: Iterable[tuple[str, Any]],
    extra: Iterable[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if not rows:
        raise InputError("there are no rows to plot")
    keys = [(x, "--x"), *((y, "--y") for y in ys), (hue, "--hue"), *extra]
    for key, option in keys:
        if key is not None:
            _check_key(key, columns, option)
            _check_scalar(key, rows, option)
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
        if all(row.get(y) is None for y in ys):
            continue
        spot = (str(row.get(hue)) if hue else "", str(row.get(x)))
        twin = seen.get(spot)
        if twin is not None:
            differ = [
                a for a in _axes_of(rows) if a not in (x, hue) and twin.get(a) != row.get(a)
            ] or [k for k in columns if k not in (x, *ys, hue) and twin.get(k) != row.get(k)][:3]
            raise InputError(
                f"rows {twin.get('index')} and {row.get('index')} have the same {x}"
                f"{' and ' + hue if hue else ''} but differ in {', '.join(differ)}; draw them "
                f"apart with --hue {differ[0]}, or keep one with --where {differ[0]}=VALUE"
            )
        seen[spot] = row
    return kept


def _baseline(
    kept: list[dict[str, Any]], relative_to: Iterable[tuple[str, Any]], columns: list[str]
) -> tuple[dict[str, Any], str]:
    """The one row that ``relative_to`` names, and how the axis label names it."""
    spec = list(relative_to)
    for key, _ in spec:
        _check_key(key, columns, "relative_to")
    found = [row for row in kept if all(_matches(row.get(k), v) for k, v in spec)]
    named = ", ".join(f"{k}={v}" for k, v in spec)
    if len(found) != 1:
        which = "no row" if not found else f"{len(found)} rows (indices "
        which += "" if not found else ", ".join(str(r.get("index")) for r in found) + ")"
        raise InputError(
            f"relative_to {named}: {which} of the plotted rows match; name exactly one row to "
            "divide by (add its other grid values, or a where filter)"
        )
    return found[0], named


def _scaled(row: dict[str, Any], key: str, base: dict[str, Any] | None) -> float | None:
    """``row[key]``, divided by the baseline's value of the same column when there is one;
    None where either is missing, not finite, or the baseline is zero."""
    value = row.get(key)
    if not _finite(value):
        return None
    if base is None:
        return float(value)
    ref = base.get(key)
    if not _finite(ref) or ref == 0:
        return None
    return float(value) / float(ref)


def _series_on(ax: Axes) -> int:
    return sum(line.get_gid() == _SERIES for line in ax.get_lines())


def _legend(ax: Axes, title: str | None, options: Mapping[str, Any]) -> None:
    """Every labelled artist on the axes, the sweep series first and the key last, each label
    once (several calls on one axes add one key)."""
    handles, names = ax.get_legend_handles_labels()
    order = {_SERIES: 0, _KEY: 2}
    paired = sorted(zip(handles, names, strict=True), key=lambda hn: order.get(hn[0].get_gid(), 1))
    unique: dict[str, Any] = {}
    for handle, name in paired:
        unique.setdefault(name, handle)
    ax.legend(
        handles=list(unique.values()),
        labels=list(unique),
        **{"title": title, "fontsize": "small", **options},
    )


def _key(ax: Axes, label: str, **style: Any) -> None:
    """An empty artist that puts ``label`` in the legend once per axes."""
    if any(line.get_gid() == _KEY and line.get_label() == label for line in ax.get_lines()):
        return
    (line,) = ax.plot([], [], label=label, **style)
    line.set_gid(_KEY)


def _format(axis: Any, unit: str, log: bool) -> None:
    """Engineering notation with the unit (``200 MB``, ``5 ms``) on the axis' labels; on a log
    axis the labels matplotlib would write (decades, and the minor ticks it labels when the
    range is short) in the same notation."""
    from matplotlib.ticker import EngFormatter, LogFormatterSciNotation

    eng = EngFormatter(unit=unit)
    if not log:
        axis.set_major_formatter(eng)
        return

    class EngLog(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return eng(x) if super().__call__(x, pos) else ""

    axis.set_major_formatter(EngLog(labelOnlyBase=False))
    axis.set_minor_formatter(EngLog(labelOnlyBase=False))


def plot_sweep(
    rows: Sequence[dict[str, Any]],
    *,
    x: str,
    y: str | Sequence[str],
    hue: str | None = None,
    analytic: bool = False,
    where: Iterable[tuple[str, Any]] = (),
    ax: Axes | None = None,
    logx: bool = False,
    logy: bool = False,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    label: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    join: bool = False,
    marker: str | Sequence[str] = "o",
    compare: str | None = None,
    formula: Callable[[Any, Any], Any] | None = None,
    formula_label: str = "formula",
    legend: bool | Mapping[str, Any] = True,
    relative_to: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """Draw ``y`` against ``x`` for a sweep's rows, one colour per value of ``hue``.

    Simulated values are markers (a cross for a row whose checks failed or whose
    expectations were missed); with ``analytic``, ``analytic_<y>`` is a line through the rows
    that have it, drawn at ``analytic_<x>`` where the rows have that too (an ``x`` that is
    itself a metric with a prediction, such as a measured acceptance rate); on a categorical
    ``x`` it is a tick at each category. Rows without ``y`` (points that failed to simulate)
    are left out and counted in the legend. A numeric ``x`` is a numeric axis; anything else
    is one tick per value, in grid order. ``where`` keeps the rows whose column equals the
    value. Two rows at the same ``x`` and ``hue`` are an error naming the column they differ
    in.

    ``y`` may be several columns of the same rows, one series each (per ``hue`` value).
    ``marker`` is the simulated points' marker, or a list the series take in turn (so that
    series which coincide stay visible). ``join`` also joins the simulated points of a series
    by a thin line (for a metric with no analytic value to follow). ``compare`` names a column
    drawn as a dashed line with hollow squares in each series' colour: figures from elsewhere
    joined to the rows, such as a paper's table. ``relative_to`` (``{column: value}``) names
    one row; every drawn column (``y``, its analytic value, ``compare``) is divided by that
    row's value of the same column, so the plot shows ratios to it (a speed-up over a
    baseline). ``reference`` (``{label: value}``) draws horizontal dotted lines. ``formula``
    is a closed form drawn as a smooth line over each series' range of ``x``:
    ``formula(xs, hue_value)`` returns the ``y`` of every value in the numpy array ``xs``
    (``hue_value`` None without ``hue``); ``formula_label`` names it in the legend. It is drawn
    as returned, not divided by a ``relative_to`` row.

    ``labels`` maps a column name or a value (as text: ``"0.5"``, ``"medusa"``) to the text
    drawn for it in the legend (``analytic_<y>`` too: the formula's name in the key), on a
    categorical axis' ticks and on the axis labels (which ``xlabel`` and ``ylabel`` replace
    outright); ``label`` names this call's series (with ``hue``, it comes before each
    value). ``units`` gives the unit of a column whose name does not carry one (a scenario
    field such as ``cluster.topology.device_link.bandwidth``: ``"B/s"``); names ending in
    ``_s``, ``_Bps``, ``_bytes``, ``_flops``, ``_J`` or starting with ``bytes_`` carry theirs
    (and ``..._per_s``, a rate of something per second, none).

    With ``ax`` the series are added to what is already drawn there: their colours continue
    after the sweep series already on the axes, and the legend lists them all, with any other
    labelled artist on the axes, and the key (simulated, analytic, ...) once. ``legend`` is
    False for none, or keyword arguments for it (``{"loc": "upper left", "fontsize": 7}``).
    """
    import numpy as np

    ys = [y] if isinstance(y, str) else list(y)
    shapes = [marker] if isinstance(marker, str) else list(marker)
    if not ys:
        raise InputError("--y: give at least one column to plot")
    names = dict(labels or {})
    units = dict(units or {})
    extra = [(compare, "compare")] if compare is not None else []
    kept = _select(rows, x, ys, hue, where, extra)
    base: dict[str, Any] | None = None
    base_name = ""
    if relative_to is not None:
        pairs = relative_to.items() if isinstance(relative_to, Mapping) else relative_to
        columns = list(dict.fromkeys(key for row in rows for key in row))
        base, base_name = _baseline(kept, pairs, columns)
    if ax is None:  # a figure of its own, without pyplot: no backend, no global state
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=(8, 4.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    fig = ax.figure
    first = _series_on(ax) == 0
    xs = [row.get(x) for row in kept]
    numeric = all(_number(v) for v in xs if v is not None)
    categories = list(dict.fromkeys(str(v) for v in xs))

    def position(value: Any) -> float:
        return float(value) if numeric else float(categories.index(str(value)))

    def name(text: Any) -> str:
        return names.get(str(text), str(text))

    groups: dict[str, list[dict[str, Any]]] = {}
    for row in kept:
        groups.setdefault(str(row.get(hue)) if hue else "", []).append(row)
    analytic_x = f"analytic_{x}"
    missing: set[int] = set()  # rows (by identity) without a value of some y
    drew_failed = drew_compare = drew_formula = False
    if formula is not None and not numeric:
        raise InputError(f"formula: a closed form needs a numeric x; {x} is not numeric")
    drew_line: list[str] = []
    no_line: list[str] = []
    colour_index = _series_on(ax)
    drawn_here = 0
    for column in ys:
        prediction = f"analytic_{column}"
        for value, members in groups.items():
            parts = [p for p in (label, name(column) if len(ys) > 1 else None) if p]
            if hue:
                parts.append(name(value))
            series = ", ".join(parts) or name(column)
            colour = f"C{colour_index % 10}"
            shape = shapes[drawn_here % len(shapes)]
            colour_index += 1
            drawn_here += 1
            members = sorted(members, key=lambda row: position(row.get(x)))
            values = [(r, _scaled(r, column, base)) for r in members]
            good = [(r, v) for r, v in values if v is not None and r.get("status", "ok") == "ok"]
            bad = [(r, v) for r, v in values if v is not None and r.get("status", "ok") != "ok"]
            missing.update(id(r) for r, v in values if v is None)
            (markers,) = ax.plot(
                [position(r[x]) for r, _ in good],
                [v for _, v in good],
                marker=shape,
                linestyle="-" if join else "",
                color=colour,
                markersize=8 if shape in ("x", "+") else 6,
                linewidth=1.0,
                label=series,
            )
            markers.set_gid(_SERIES)
            if bad:
                drew_failed = True
                ax.plot([position(r[x]) for r, _ in bad], [v for _, v in bad], "X", color=colour)
            if analytic:
                line = []
                for r in members:
                    at = r.get(analytic_x, r.get(x)) if numeric else r.get(x)
                    predicted = _scaled(r, prediction, base)
                    if predicted is not None and (not numeric or _finite(at)):
                        line.append((position(at), predicted))
                line.sort(key=lambda point: point[0])
                if line:
                    drew_line.append(prediction)
                    style = (  # categories have no order: a tick at each, not a line through
                        {"linestyle": "-", "linewidth": 1.2}
                        if numeric
                        else {"linestyle": "", "marker": "_", "markersize": 22, "mew": 2}
                    )
                    ax.plot(
                        [p for p, _ in line],
                        [v for _, v in line],
                        color=colour,
                        alpha=0.8,
                        **style,
                    )
                else:
                    no_line.append(prediction)
            if compare is not None:
                other = [(r, _scaled(r, compare, base)) for r in members]
                other = [(r, v) for r, v in other if v is not None]
                if other:
                    drew_compare = True
                    ax.plot(
                        [position(r[x]) for r, _ in other],
                        [v for _, v in other],
                        "s--",
                        color=colour,
                        markerfacecolor="none",
                        linewidth=1.0,
                    )
            if formula is not None:
                spots = [position(r[x]) for r, v in values if v is not None]
                if spots and max(spots) > min(spots):
                    lo, hi = min(spots), max(spots)
                    dense = (
                        np.geomspace(lo, hi, 200) if logx and lo > 0 else np.linspace(lo, hi, 200)
                    )
                    curve = np.asarray(formula(dense, members[0].get(hue) if hue else None))
                    drew_formula = True
                    ax.plot(dense, curve, "-", color=colour, linewidth=1.2, alpha=0.8)
    for text, level in (reference or {}).items():
        ax.axhline(level, color="0.35", linestyle=":", linewidth=1.2, label=text)
    _key(ax, "simulated", marker="o", linestyle="", color="0.4")
    if drew_line:
        shown = sorted(set(drew_line))
        what = name(shown[0]) if len(shown) == 1 else "analytic_<y>"
        shape = {"linestyle": "-"} if numeric else {"linestyle": "", "marker": "_", "mew": 2}
        _key(ax, f"analytic ({what})", color="0.4", **shape)
    elif analytic:
        _key(ax, f"no {', '.join(sorted(set(no_line)))} in these rows", linestyle="")
    if drew_formula:
        _key(ax, formula_label, linestyle="-", color="0.4")
    if drew_compare:
        _key(
            ax,
            f"{name(compare)} (dashed)",
            marker="s",
            linestyle="--",
            color="0.4",
            markerfacecolor="none",
        )
    if drew_failed:
        _key(ax, "check failed or expectation missed", marker="X", linestyle="", color="0.4")
    if missing:
        what = ys[0] if len(ys) == 1 else " or ".join(ys)
        _key(ax, f"{len(missing)} rows without {what} left out", linestyle="")
    if first:
        heading = name(hue) if hue else None
    else:  # the first call's legend title stays
        earlier = ax.get_legend()
        heading = (earlier.get_title().get_text() or None) if earlier is not None else None
    if legend is not False:
        _legend(ax, heading, legend if isinstance(legend, Mapping) else {})
    elif ax.get_legend() is not None:
        ax.get_legend().remove()
    integers = numeric and all(v is not None and float(v).is_integer() for v in xs)
    if not numeric:
        ax.set_xticks(range(len(categories)), [name(c) for c in categories])
    if logx and numeric:
        ax.set_xscale("log", base=2 if integers else 10)
        drawn = {float(v) for v in xs} | {  # with the x values of earlier calls on this axes
            float(v)
            for line in ax.get_lines()
            if line.get_gid() == _SERIES
            for v in line.get_xdata()
        }
        if integers and len(drawn) <= 16:  # the grid's own values, written out
            ticks = sorted(drawn)
            ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    if logy:
        ax.set_yscale("log")
    x_unit = _unit(x, units) if numeric else None
    if x_unit is not None:
        _format(ax.xaxis, x_unit, logx)
    y_units = {_unit(column, units) for column in ys}
    if base is None and len(y_units) == 1 and None not in y_units:
        _format(ax.yaxis, y_units.pop(), logy)
    if integers and not logx:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel or name(x))
    default_y = ", ".join(name(column) for column in ys)
    if base is not None:
        default_y = f"{default_y} relative to {base_name}"
    ax.set_ylabel(ylabel or default_y)
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
