"""Pictures of partitioned inference: the tile map, latency and bytes of several partitions,
and the timeline of the conv nodes (matplotlib, imported lazily).

* :func:`plot_tile_map`: which worker computes which pixels of the first feature map, its
  halo (the rows and columns it needs from its neighbours) shaded and outlined.
* :func:`plot_partitions`: latency (with the single-device and cloud baselines) and bytes by
  what they carry (scatter, halos or partial sums, gather), one group of bars per run.
* :func:`plot_tile_timeline`: every worker's compute spans (tiles or stages) and the central
  node's head, from a traced run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clustersim.core.trace import Tracer
from clustersim.inference.partition.kind import PartitionPlan
from clustersim.inference.partition.tiles import FdspLayout, Group, Rect

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TileMap", "plot_partitions", "plot_tile_map", "plot_tile_timeline", "tile_map"]


@dataclass(frozen=True)
class TileMap:
    """Who computes what at the input's resolution: per tile its own rectangle, the rectangle
    it reads (its own plus the halo) and its worker."""

    size: tuple[int, int]
    owned: list[Rect]
    needed: list[Rect]
    worker: list[int]


def _to_input(rect: Rect, layers: Sequence[Any], size: tuple[int, int]) -> Rect:
    """A tile's own rectangle of a map ``layers`` deep, scaled back to the input by their
    total stride (what it reads beyond that is its halo)."""
    sr = sc = 1
    for layer in layers:
        sr *= layer.window.stride[0]
        sc *= layer.window.stride[1]
    return Rect(rect.r0 * sr, min(rect.r1 * sr, size[0]), rect.c0 * sc, min(rect.c1 * sc, size[1]))


def tile_map(plan: PartitionPlan, tile_worker: Sequence[int] | None = None) -> TileMap:
    """The tile map of a spatial or FDSP plan; ``tile_worker`` (the run's metric) says which
    worker computed each tile when they were handed out adaptively."""
    if plan.stack is None or plan.geometry is None:
        raise ValueError("a tile map needs a spatial or FDSP partition of a CNN")
    _, h, w = plan.stack.input_shape
    layers = plan.stack.layers
    geometry: Any = plan.geometry
    if isinstance(geometry, FdspLayout):
        owned = [t.rect for t in geometry.tiles]
        needed = list(owned)
    elif isinstance(geometry[0], Group):  # the first group's tiles, halo from the central node
        first = geometry[0]
        group_layers = [layers[k] for k in first.layers]
        owned = [_to_input(r, group_layers, (h, w)) for r in first.owned]
        needed = [s.needed for s in first.steps]
    else:  # independent fused tiles
        owned = [_to_input(s.out, layers, (h, w)) for s in geometry]
        needed = [s.needed for s in geometry]
    work: Any = plan.work
    assignment = getattr(work, "assignment", None)
    if tile_worker is not None:
        worker = list(tile_worker)
    elif assignment is None and hasattr(work, "assignment"):
        raise ValueError("tiles handed out adaptively: pass the run's tile_worker metric")
    else:
        worker = list(range(len(owned)))
        for k, tiles in enumerate(assignment or []):
            for t in tiles:
                worker[t] = k
    return TileMap((h, w), owned, needed, worker)


def plot_tile_map(
    plan: PartitionPlan,
    tile_worker: Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Each worker's pixels in its colour; its halo (what it reads beyond its own pixels)
    hatched and outlined in the same colour."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    tm = tile_map(plan, tile_worker)
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=(5.0, 5.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    fig = ax.figure
    cmap = colormaps["tab10"]
    picture = np.zeros((*tm.size, 4))
    for rect, k in zip(tm.owned, tm.worker, strict=True):
        picture[rect.r0 : rect.r1, rect.c0 : rect.c1] = cmap(k % 10)
    ax.imshow(picture, interpolation="nearest", extent=(0, tm.size[1], tm.size[0], 0))
    for rect, need, k in zip(tm.owned, tm.needed, tm.worker, strict=True):
        if need != rect:
            colour = cmap(k % 10)
            ax.add_patch(
                Rectangle(
                    (need.c0, need.r0),
                    need.cols,
                    need.rows,
                    fill=False,
                    hatch="////",
                    edgecolor=colour,
                    linewidth=1.2,
                    linestyle="--",
                    alpha=0.9,
                )
            )
        ax.add_patch(
            Rectangle(
                (rect.c0, rect.r0),
                rect.cols,
                rect.rows,
                fill=False,
                edgecolor="white",
                linewidth=0.8,
            )
        )
        ax.text(
            (rect.c0 + rect.c1) / 2,
            (rect.r0 + rect.r1) / 2,
            str(k + 1),
            ha="center",
            va="center",
            fontsize=8,
            color="white",
            fontweight="bold",
        )
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title or f"{plan.params.partition}: worker of every input pixel")
    return fig


_KINDS = (
    ("bytes_scatter", "scatter (central to workers)"),
    ("bytes_exchange", "between workers (halos, partial sums, K and V)"),
    ("bytes_gather", "gather (workers to central)"),
)


def plot_partitions(
    runs: Sequence[tuple[str, Mapping[str, Any]]], *, axes: Sequence[Axes] | None = None
) -> Figure:
    """Latency (bars; the single-device and cloud latencies as lines; a log axis when the runs
    span more than 20x) and bytes by what they carry (side by side, log axis), one group per
    ``(label, metrics)``: a run's ``Result.metrics``, or a sweep's row."""
    import numpy as np

    if axes is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=(11.0, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, 2)
    fig = axes[0].figure
    labels = [label for label, _ in runs]
    x = np.arange(len(runs))
    latency = np.array([m["latency_s"] * 1e3 for _, m in runs])
    axes[0].bar(x, latency, color="tab:blue")
    single = runs[0][1]["single_device_latency_s"] * 1e3
    axes[0].axhline(single, color="tab:red", linestyle="--", label=f"one device {single:.0f} ms")
    cloud = runs[0][1].get("cloud_latency_s")
    if cloud is not None:
        axes[0].axhline(
            cloud * 1e3,
            color="tab:purple",
            linestyle=":",
            label=f"remote cloud {cloud * 1e3:.0f} ms",
        )
    for i, value in enumerate(latency):
        axes[0].text(i, value, f"{value:.0f}", ha="center", va="bottom", fontsize=8)
    if latency.max() > 20 * latency.min():
        axes[0].set_yscale("log")
    axes[0].set_ylabel("latency (ms)")
    axes[0].legend(fontsize=8)
    width = 0.8 / len(_KINDS)
    floor = 1e-3  # MB: bars start here on the log axis; zero-byte kinds are not drawn
    for k, (key, name) in enumerate(_KINDS):
        values = np.array([m[key] / 1e6 for _, m in runs])
        shown = values > 0
        axes[1].bar(
            x[shown] + (k - 1) * width, values[shown] - floor, width, bottom=floor, label=name
        )
    axes[1].set_yscale("log")
    axes[1].set_ylabel("MB sent per inference")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.grid(axis="y", linestyle=":", alpha=0.6)
    return fig


def plot_tile_timeline(
    trace: Tracer,
    nodes: Sequence[str],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    slow: Sequence[str] = (),
) -> Figure:
    """One row per node of ``nodes``: its compute spans in alternating shades, each labelled
    with its tile (or stage), the central node's fully connected head in red, nodes in
    ``slow`` in orange."""
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=(11.0, 0.9 + 0.42 * len(nodes)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    fig = ax.figure
    row = {node: i for i, node in enumerate(nodes)}
    spans = [s for s in trace.spans if s.lane[1] == "compute" and s.lane[0] in row]
    end = max((s.end for s in spans), default=0.0) * 1e3
    count = dict.fromkeys(nodes, 0)
    for span in spans:
        node = span.lane[0]
        start, width = span.start * 1e3, (span.end - span.start) * 1e3
        if span.name == "head":
            colour = "tab:red"
        else:  # alternate shades, so that back-to-back tiles stay apart
            shades = ("tab:orange", "moccasin") if node in slow else ("tab:blue", "lightsteelblue")
            colour = shades[count[node] % 2]
            count[node] += 1
        ax.broken_barh(
            [(start, width)],
            (row[node] - 0.38, 0.76),
            facecolors=colour,
            edgecolors="white",
            linewidth=0.5,
        )
        if width > 0.025 * max(end, 1e-9):
            label = "FC head" if span.name == "head" else span.name.replace("tile ", "")
            ax.text(start + width / 2, row[node], label, ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(nodes)))
    ax.set_yticklabels(list(nodes), fontsize=8)
    ax.set_ylim(len(nodes) - 0.5, -0.5)
    ax.set_xlabel("simulated time (ms)")
    ax.grid(axis="x", linestyle=":", alpha=0.6)
    ax.set_title(title or "compute of every node")
    return fig
