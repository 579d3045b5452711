"""Edge-inference pictures: Neurosurgeon's per-layer costs (its latency against bandwidth is a
sweep, drawn by :func:`clustersim.plot.sweep.plot_sweep`), one split inference's timeline,
BranchyNet's accuracy-latency curve, DDNN's bytes against offloading the raw input (matplotlib,
imported when a plot is made).

Every function takes plain numbers (metrics of a run, or closed forms evaluated by the caller)
and draws into ``ax`` when given, else into a new Agg-backed figure; it returns the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clustersim.core.trace import Tracer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_accuracy_latency",
    "plot_ddnn_bytes",
    "plot_layer_costs",
    "plot_split_timeline",
]


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def plot_layer_costs(
    names: Sequence[str],
    mobile_s: Sequence[float],
    output_bytes: Sequence[float],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Per-layer latency on the mobile (bars) and each layer's output size (line, right axis):
    the two profiles Neurosurgeon partitions on."""
    import numpy as np

    fig, ax = _axes(ax, (9, 3.8))
    x = np.arange(len(names))
    ax.bar(x, np.asarray(mobile_s) * 1e3, color="tab:red", alpha=0.8, label="latency on the mobile")
    ax.set_ylabel("latency (ms)", color="tab:red")
    ax.set_xticks(x, names, rotation=90, fontsize=6)
    right = ax.twinx()
    right.plot(x, np.asarray(output_bytes) / 1e6, "o-", color="tab:blue", markersize=3)
    right.set_ylabel("output size (MB)", color="tab:blue")
    right.set_yscale("log")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_split_timeline(
    trace: Tracer,
    mobile: str,
    cloud: str,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """One split inference as four rows: the mobile's layers, the upload, the cloud's layers,
    the result coming back (from a run with ``trace=True``)."""
    fig, ax = _axes(ax, (9, 2.6))
    rows = [
        ((mobile, "compute"), "mobile compute", "tab:red"),
        ((mobile, "comm"), "uplink", "tab:green"),
        ((cloud, "compute"), "cloud compute", "tab:blue"),
        ((cloud, "comm"), "downlink", "tab:olive"),
    ]
    end = max((s.end for s in trace.spans), default=0.0)
    for row, (lane, _, colour) in enumerate(rows):
        spans = [s for s in trace.spans if s.lane == lane]
        ax.broken_barh(
            [(s.start * 1e3, (s.end - s.start) * 1e3) for s in spans],
            (row - 0.35, 0.7),
            color=colour,
            edgecolor="white",
            linewidth=0.5,
        )
        if spans:
            first, last = spans[0].start, spans[-1].end
            ax.annotate(
                f"{(last - first) * 1e3:.2f} ms",
                (last * 1e3, row),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    ax.set_yticks(range(len(rows)), [label for _, label, _ in rows])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xlim(0, end * 1e3 * 1.15 if end else 1)
    ax.set_xlabel("time (ms)")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_accuracy_latency(
    latency_s: Sequence[float],
    accuracy: Sequence[float],
    *,
    thresholds: Sequence[Any] = (),
    main: tuple[float, float] | None = None,
    chosen: tuple[float, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """BranchyNet's accuracy against mean latency over a threshold sweep; ``main`` marks the
    main network alone, ``chosen`` the scenario's thresholds; points are labelled with their
    threshold."""
    import numpy as np

    fig, ax = _axes(ax, (6.5, 4.2))
    lat = np.asarray(latency_s) * 1e6
    ax.plot(lat, accuracy, "o-", color="tab:blue", label="threshold sweep")
    last = -np.inf
    room = 0.06 * (lat.max() - lat.min()) if len(lat) else 0.0
    for t, x, y in sorted(zip(thresholds, lat, accuracy, strict=False), key=lambda p: p[1]):
        if x - last < room:
            continue  # keep labels apart
        shown = t[0] if isinstance(t, (list, tuple)) and len(set(t)) == 1 else t
        ax.annotate(f"T={shown}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        last = x
    if main is not None:
        ax.plot(
            main[0] * 1e6, main[1], "s", color="tab:red", markersize=8, label="main network alone"
        )
    if chosen is not None:
        ax.plot(
            chosen[0] * 1e6,
            chosen[1],
            "*",
            color="black",
            markersize=13,
            label="scenario's thresholds",
        )
    ax.set_xlabel("mean latency per sample (µs)")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_ddnn_bytes(
    local_exit_fraction: Sequence[float],
    bytes_per_device: Sequence[float],
    accuracy: Sequence[float],
    raw_bytes: float,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """DDNN's bytes per device and sample against the fraction of samples leaving locally,
    with offloading the raw image as a line, and the overall accuracy on the right axis."""
    fig, ax = _axes(ax, (6.5, 4.2))
    ax.plot(
        local_exit_fraction,
        bytes_per_device,
        "o-",
        color="tab:blue",
        label="DDNN: scores + feature maps not exited",
    )
    ax.axhline(raw_bytes, color="tab:red", linestyle="--", label="offload the raw image")
    ax.set_ylim(0, raw_bytes * 1.15)
    ax.set_xlabel("fraction of samples leaving at the local exit")
    ax.set_ylabel("bytes per device and sample")
    ax.grid(alpha=0.3, which="both")
    right = ax.twinx()
    right.plot(local_exit_fraction, accuracy, "s:", color="tab:green", label="overall accuracy")
    right.set_ylabel("overall accuracy", color="tab:green")
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
