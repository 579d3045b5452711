"""Pipeline pictures: the staircase timeline of a schedule (matplotlib, imported lazily); the
sweeps of a pipeline (bubble against M, GPipe's table) are drawn by
:func:`clustersim.plot.sweep.plot_sweep`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clustersim.core.trace import Tracer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["compute_lanes", "plot_pipeline"]

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
