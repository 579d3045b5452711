"""Federated-learning pictures: a few rounds' timeline, learning curves, the round breakdown.

matplotlib is imported inside the functions; with no ``ax`` a figure is built on the Agg canvas
(no pyplot), like :func:`clustersim.plot.plot_timeline`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from clustersim.core.trace import Tracer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PHASE_COLOURS", "plot_breakdown", "plot_curves", "plot_rounds"]

PHASE_COLOURS = {
    "download": "tab:blue",
    "train": "tab:green",
    "upload": "tab:orange",
    "wait": "0.82",
    "idle": "#f2b8b5",
    "aggregate": "tab:purple",
}
"""Colour of each phase of a client's round (the categories of the ``federated`` lanes)."""

_BREAKDOWN = (
    ("round_download_s", "download"),
    ("round_compute_s", "train"),
    ("round_upload_s", "upload"),
    ("round_waiting_s", "wait"),
    ("round_aggregate_s", "aggregate"),
)


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as _Figure

    fig = _Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def plot_rounds(
    trace: Tracer,
    rounds: Sequence[int] = (0, 1, 2),
    *,
    ax: Axes | None = None,
    title: str | None = None,
    max_clients: int = 40,
) -> Figure:
    """Each participating client's download, local training, upload and wait, in ``rounds``.

    One row per client that took part in one of the rounds (at most ``max_clients``), the
    server's aggregations on top; a dashed line where each round closes. The waiting bars are
    the time a client that reported sits idle until the round's straggler reports; ``idle``
    bars follow a client that dropped out, was late or lost its update.
    """
    from matplotlib.patches import Patch

    wanted = {f"r{r}" for r in rounds}
    spans = [
        s for s in trace.spans if s.lane[1] == "federated" and s.name.rsplit(" ", 1)[-1] in wanted
    ]
    server = [s for s in spans if s.category == "aggregate"]
    lanes = list(dict.fromkeys(s.lane for s in spans if s.category != "aggregate"))[:max_clients]
    rows = {lane: i + 1 for i, lane in enumerate(lanes)}
    if server:
        rows[server[0].lane] = 0
    ax = _axes(ax, (11.0, 1.5 + 0.22 * (len(rows) + 1)))
    t0 = min((s.start for s in spans), default=0.0)
    t1 = max((s.end for s in spans), default=1.0)
    scale, unit = (1e-3, "ms") if t1 - t0 < 10 else (1.0, "s")
    for s in spans:
        row = rows.get(s.lane)
        if row is None:
            continue
        ax.broken_barh(
            [((s.start - t0) / scale, max(s.end - s.start, 0.0) / scale)],
            (row - 0.38, 0.76),
            facecolors=PHASE_COLOURS.get(s.category, "black"),
            edgecolors="white",
            linewidths=0.3,
        )
    for s in server:
        ax.axvline((s.start - t0) / scale, color="0.35", linestyle="--", linewidth=0.7)
    labels = [""] * len(rows)
    for lane, row in rows.items():
        labels[row] = f"{lane[0]} (server)" if row == 0 and server else lane[0]
    ax.set_yticks(range(len(rows)), labels, fontsize=7 if len(rows) > 25 else 8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, (t1 - t0) / scale)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.legend(
        handles=[Patch(facecolor=c, label=n) for n, c in PHASE_COLOURS.items()],
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize=8,
        frameon=False,
    )
    ax.set_title(title or f"rounds {', '.join(str(r + 1) for r in rounds)}")
    return ax.figure


def plot_curves(
    runs: Mapping[str, Mapping[str, Any]],
    *,
    metric: str = "accuracy_curve",
    x: str = "round",
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """``metric`` (a per-evaluation curve) of several runs' metrics against the round or, with
    ``x="time"``, against the simulated time at each evaluated round's end."""
    ax = _axes(ax, (6.5, 4.0))
    for label, m in runs.items():
        rounds = list(m["eval_rounds"])
        xs = rounds if x == "round" else [m["time_curve_s"][r - 1] for r in rounds]
        ax.plot(xs, m[metric], marker="o", markersize=2.5, linewidth=1.2, label=label)
    ax.set_xlabel("round" if x == "round" else "simulated time (s)")
    ax.set_ylabel(metric.replace("_curve", "").replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax.figure


def plot_breakdown(
    metrics: Mapping[str, Any], *, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Stacked bars per round: the mean selected client's download, training, upload and
    wait, then the aggregation; each bar's height is the round time."""
    import numpy as np

    ax = _axes(ax, (8.0, 3.5))
    rounds = np.arange(1, len(metrics["round_time_s"]) + 1)
    bottom = np.zeros(rounds.size)
    for key, phase in _BREAKDOWN:
        values = np.asarray(metrics[key], dtype=float) * 1e3
        ax.bar(rounds, values, bottom=bottom, color=PHASE_COLOURS[phase], label=phase, width=0.8)
        bottom += values
    ax.set_xlabel("round")
    ax.set_ylabel("time (ms)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    ax.set_title(title or "where a round's time goes (mean selected client)")
    return ax.figure
