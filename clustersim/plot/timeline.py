"""Gantt-style timeline of a :class:`~clustersim.core.trace.Tracer` with matplotlib.

One horizontal lane per tracer lane (top to bottom in lane order, labelled ``group/name``), spans
as bars coloured by category, instants as small markers. matplotlib is imported only when a plot
is made; when no ``ax`` is given the figure is built on the Agg canvas directly (no pyplot), so
plotting never switches or needs an interactive backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from clustersim.core.trace import Lane, Tracer

__all__ = ["plot_timeline", "save_timeline"]

# (unit name, seconds per unit), largest first.
_UNITS: tuple[tuple[str, float], ...] = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9))
_UNIT_LABEL = {"s": "s", "ms": "ms", "us": "µs", "ns": "ns"}
_BAR_HEIGHT = 0.7
_DEFAULT_DPI = 120


def _pick_unit(extent: float, time_unit: str) -> tuple[str, float]:
    """The display unit: ``time_unit`` itself, or for ``"auto"`` the largest unit <= extent."""
    units = dict(_UNITS)
    if time_unit != "auto":
        if time_unit not in units:
            raise ValueError(f"time_unit must be 'auto' or one of {list(units)}, not {time_unit!r}")
        return time_unit, units[time_unit]
    for name, scale in _UNITS:
        if extent >= scale:
            return name, scale
    return _UNITS[-1]


def _lanes_in_order(tracer: Tracer) -> list[Lane]:
    lanes: dict[Lane, None] = dict.fromkeys(tracer.lanes)
    for span in tracer.spans:
        lanes.setdefault(span.lane, None)
    for instant in tracer.instants:
        lanes.setdefault(instant.lane, None)
    return list(lanes)


def _category_colours(categories: list[str]) -> dict[str, Any]:
    """Stable category -> RGBA: categories sorted by name take tab10 colours in turn.

    The colour of a category depends only on the set of categories in the trace, not on event
    order; with more than 10 categories tab20 is used (and cycled beyond 20).
    """
    from matplotlib import colormaps

    ordered = sorted(set(categories))
    cmap = colormaps["tab10" if len(ordered) <= 10 else "tab20"]
    return {cat: cmap(i % cmap.N) for i, cat in enumerate(ordered)}


def plot_timeline(
    tracer: Tracer,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    max_lanes: int = 64,
    time_unit: str = "auto",
) -> Figure:
    """Draw the tracer's spans and instants as a Gantt chart; return the figure.

    ``ax``: draw into these axes (the caller owns layout); otherwise a new Agg-backed figure is
    sized to the number of lanes. ``max_lanes``: only the first lanes are drawn, and the title
    notes ``(+K lanes not shown)``. ``time_unit``: ``"auto"`` (s, ms, us or ns from the trace's
    extent) or one of those units; the x label names it. Each lane is one ``broken_barh`` call,
    so 100k spans stay fast.
    """
    import numpy as np
    from matplotlib.patches import Patch

    if max_lanes < 1:
        raise ValueError(f"max_lanes must be >= 1, not {max_lanes}")

    lanes = _lanes_in_order(tracer)
    shown = lanes[:max_lanes]
    hidden = len(lanes) - len(shown)
    row = {lane: i for i, lane in enumerate(shown)}
    n_rows = len(shown)

    # Gather spans per shown lane in one pass.
    starts: list[list[float]] = [[] for _ in shown]
    ends: list[list[float]] = [[] for _ in shown]
    cats: list[list[str]] = [[] for _ in shown]
    seen_categories: dict[str, None] = {}
    for span in tracer.spans:
        seen_categories.setdefault(span.category, None)
        i = row.get(span.lane)
        if i is not None:
            starts[i].append(span.start)
            ends[i].append(span.end)
            cats[i].append(span.category)
    inst_x: list[float] = []
    inst_y: list[int] = []
    for instant in tracer.instants:
        i = row.get(instant.lane)
        if i is not None:
            inst_x.append(instant.time)
            inst_y.append(i)

    times = [t for lane_times in starts + ends for t in lane_times] + inst_x
    t_min = min(times, default=0.0)
    t_max = max(times, default=0.0)
    t_lo = min(t_min, 0.0)
    unit, scale = _pick_unit(max(t_max - t_lo, 0.0), time_unit)

    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        height = min(2.0 + 0.32 * max(n_rows, 1), 40.0)
        fig = _Figure(figsize=(12.0, height), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    fig = ax.figure

    colours = _category_colours(list(seen_categories))
    for i in range(n_rows):
        if not starts[i]:
            continue
        x0 = np.asarray(starts[i], dtype=float) / scale
        width = np.maximum(np.asarray(ends[i], dtype=float) / scale - x0, 0.0)
        face = np.array([colours[c] for c in cats[i]])
        ax.broken_barh(
            np.column_stack((x0, width)),
            (i - _BAR_HEIGHT / 2, _BAR_HEIGHT),
            facecolors=face,
            edgecolors=face,  # thin same-colour edge keeps sub-pixel spans visible
            linewidths=0.3,
        )
    if inst_x:
        ax.plot(
            np.asarray(inst_x) / scale,
            np.asarray(inst_y, dtype=float) - _BAR_HEIGHT / 2,
            linestyle="none",
            marker="v",
            markersize=6,
            markerfacecolor="black",
            markeredgecolor="white",
            markeredgewidth=0.5,
            zorder=3,
        )

    label_size = 9 if n_rows <= 24 else (7 if n_rows <= 48 else 6)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels([f"{group}/{name}" for group, name in shown], fontsize=label_size)
    ax.set_ylim(max(n_rows, 1) - 0.5, -0.5)  # first lane on top
    ax.set_xlabel(f"Simulated time ({_UNIT_LABEL[unit]})")
    if t_max > t_lo:
        pad = 0.01 * (t_max - t_lo) / scale
        ax.set_xlim(t_lo / scale - pad, t_max / scale + pad)
    ax.grid(axis="x", linestyle=":", linewidth=0.6, alpha=0.7)
    ax.set_axisbelow(True)
    for i in range(1, n_rows):  # faint separators between lanes of different groups
        if shown[i][0] != shown[i - 1][0]:
            ax.axhline(i - 0.5, color="0.6", linewidth=0.6)
    if not lanes:
        ax.text(0.5, 0.5, "no trace events", transform=ax.transAxes, ha="center", va="center")

    handles = [Patch(facecolor=colours[c], label=c) for c in sorted(colours)]
    if inst_x:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], linestyle="none", marker="v", color="black", label="instant"))
    if handles:
        ax.legend(
            handles=handles,
            title="category",
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )

    full_title = title if title is not None else "Timeline"
    if hidden:
        full_title = f"{full_title} (+{hidden} lanes not shown)"
    ax.set_title(full_title)
    return fig


def save_timeline(tracer: Tracer, path: str | Path, **kw: Any) -> Path:
    """Plot with :func:`plot_timeline` (``**kw`` passed on) and save a PNG at ``path``.

    Parent directories are created; ``dpi`` defaults to 120. A figure created here is closed
    after saving; one drawn into a caller's ``ax`` is left to the caller.
    """
    import sys

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = kw.pop("dpi", _DEFAULT_DPI)
    owns_figure = kw.get("ax") is None
    fig = plot_timeline(tracer, **kw)
    fig.savefig(path, dpi=dpi, format=None if path.suffix else "png")
    if owns_figure:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(fig)  # no-op unless pyplot manages it; never imports pyplot itself
        fig.clear()
    return path
