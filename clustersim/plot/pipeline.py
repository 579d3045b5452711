"""Pipeline pictures: the staircase timeline of a schedule, a cost model's predictions against
the simulation, GPipe's normalised-throughput table (matplotlib, imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clustersim.core.trace import Tracer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["compute_lanes", "plot_normalised_table", "plot_pipeline", "plot_prediction"]

_UNITS = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9))


def compute_lanes(trace: Tracer) -> Tracer:
    """A copy of ``trace`` with only the devices' compute lanes that did something."""
    busy = {s.lane for s in trace.spans if s.lane[1] == "compute"}
    out = Tracer(enabled=True)
    for lane in trace.lanes:
        if lane in busy:
            out.declare_lane(lane)
    out.spans.extend(s for s in trace.spans if s.lane in busy)
    return out


def plot_pipeline(
    trace: Tracer,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    labels: bool = True,
    **kw: Any,
) -> Figure:
    """The staircase: one row per device's compute stream, forward / backward / recompute bars
    (one colour per chunk when interleaved), each labelled with its micro-batch.

    Built on :func:`clustersim.plot.plot_timeline`; ``kw`` goes to it.
    """
    from clustersim.plot import plot_timeline

    lanes = compute_lanes(trace)
    end = max((s.end for s in lanes.spans), default=0.0)
    unit, scale = next(((u, f) for u, f in _UNITS if end >= f), _UNITS[-1])
    fig = plot_timeline(
        lanes, ax=ax, title=title, time_unit=kw.pop("time_unit", unit), labels=False, **kw
    )
    if lanes.spans:
        axis = ax if ax is not None else fig.axes[0]
        row = {lane: i for i, lane in enumerate(lanes.lanes)}
        # thin white separators, so back-to-back ops of one kind stay distinguishable
        axis.vlines(
            [s.start / scale for s in lanes.spans],
            [row[s.lane] - 0.35 for s in lanes.spans],
            [row[s.lane] + 0.35 for s in lanes.spans],
            colors="white",
            linewidth=0.6,
        )
        if labels:
            size = 7 if len(lanes.spans) < 150 else 5
            room = 0.012 * end * (7 / size)  # about the width of a two-digit label
            for s in lanes.spans:
                if s.end - s.start >= room:
                    axis.text(
                        (s.start + s.end) / 2 / scale,
                        row[s.lane],
                        s.name.lstrip("FBR").split(".")[0],
                        ha="center",
                        va="center",
                        fontsize=size,
                        color="white",
                        clip_on=True,
                    )
    return fig


def plot_prediction(
    points: list[tuple[str, float, float]],
    ax: Axes | None = None,
    *,
    title: str = "",
    unit: str = "samples/s",
    log: bool = True,
) -> Figure:
    """Simulated against predicted throughput, one labelled point per plan, on the diagonal
    when the cost model predicts the run (log axes by default: plans span decades)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    values = [v for _, p, s in points for v in (p, s)]
    low, high = (min(values) / 1.5, max(values) * 1.5) if log else (0.0, 1.08 * max(values))
    ax.plot([low, high], [low, high], color="0.6", lw=1, label="simulated = predicted")
    for i, (label, predicted, simulated) in enumerate(points):
        ax.plot(predicted, simulated, "o", color=f"C{i}", label=label)
    if log:
        ax.set(xscale="log", yscale="log")
    ax.set(
        xlim=(low, high),
        ylim=(low, high),
        xlabel=f"predicted ({unit})",
        ylabel=f"simulated ({unit})",
        title=title,
    )
    ax.legend(loc="upper left", fontsize=7)
    return fig  # type: ignore[return-value]


def plot_normalised_table(
    measured: dict[tuple[int, int], float],
    paper: dict[tuple[int, int], float],
    ax: Axes | None = None,
    *,
    title: str = "",
) -> Figure:
    """GPipe's Table 2 layout: normalised throughput against K for each M, simulated (solid)
    beside the paper's numbers (dashed)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    ks = sorted({k for k, _ in measured})
    for i, m in enumerate(sorted({m for _, m in measured})):
        colour = f"C{i}"
        ax.plot(ks, [measured[(k, m)] for k in ks], "o-", color=colour, label=f"M = {m}")
        if all((k, m) in paper for k in ks):
            ax.plot(
                ks,
                [paper[(k, m)] for k in ks],
                "s--",
                color=colour,
                mfc="none",
                label=f"M = {m}, paper",
            )
    ax.set(xlabel="partitions K", ylabel="throughput / (K = 2, M = 1)", xticks=ks, title=title)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncols=2)
    return fig  # type: ignore[return-value]
