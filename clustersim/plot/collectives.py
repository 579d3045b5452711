"""Collective pictures: bus bandwidth against message size, simulated and predicted
(matplotlib, imported lazily)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_busbw"]


def _size_label(size: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size:g} B"


def plot_busbw(
    sizes: Sequence[float],
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    link_bandwidth: float,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """nccl-tests' bus bandwidth as a fraction of the link bandwidth against the message size.

    ``series`` maps a label to (simulated, analytic) bus bandwidths in bytes/s, one per size:
    the analytic values are drawn as lines, the simulated ones as markers on them, so a marker
    off its line is a run that departs from its formula.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    else:
        fig = ax.figure
    x = np.asarray(sizes, dtype=float)
    for i, (label, (simulated, analytic)) in enumerate(series.items()):
        colour = f"C{i}"
        ax.plot(x, np.asarray(analytic) / link_bandwidth, "-", color=colour, label=label)
        ax.plot(x, np.asarray(simulated) / link_bandwidth, "o", color=colour, markersize=5)
    ax.plot([], [], "o", color="0.4", markersize=5, label="simulated (lines: formula)")
    ax.set_xscale("log", base=2)
    ticks = x[:: max(1, len(x) // 7)]
    ax.set_xticks(ticks, [_size_label(s) for s in ticks])
    ax.set_xlabel("message size")
    ax.set_ylabel("bus bandwidth / link bandwidth")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig
