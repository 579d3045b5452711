"""Federated-learning pictures: a few rounds' timeline, learning curves, the round breakdown;
HeteroFL's widths, CMFL's bytes against accuracy, FedMARL's learning curve and its comparison
of policies, and gradient-leakage reconstructions.

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

__all__ = [
    "PHASE_COLOURS",
    "plot_breakdown",
    "plot_curves",
    "plot_learning",
    "plot_policies",
    "plot_reconstructions",
    "plot_rounds",
    "plot_tradeoff",
    "plot_widths",
]

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
    ``x="time"``, against the simulated time at each evaluated round's end.

    A curve equal point for point to one drawn before it (packet loss costs time, not accuracy;
    FedProx at mu = 0 is FedAvg) would hide it, so it is drawn dashed on top and its label says
    which it equals."""
    ax = _axes(ax, (6.5, 4.0))
    drawn: dict[tuple[tuple[float, ...], tuple[float, ...]], str] = {}
    for label, m in runs.items():
        rounds = list(m["eval_rounds"])
        xs = rounds if x == "round" else [m["time_curve_s"][r - 1] for r in rounds]
        key = (tuple(map(float, xs)), tuple(map(float, m[metric])))
        same = drawn.setdefault(key, label)
        style = {} if same == label else {"linestyle": "--", "label": f"{label} (= {same})"}
        ax.plot(
            xs, m[metric], marker="o", markersize=2.5, linewidth=1.2, **{"label": label, **style}
        )
    if x == "round":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no round 2.5
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


def plot_widths(
    metrics: Mapping[str, Any], *, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """HeteroFL: each width's test accuracy at the end (bars, labelled with the clients that
    trained at that width) and its share of the full model's parameters (line) against r²."""
    import numpy as np

    ax = _axes(ax, (6.5, 3.8))
    levels = list(metrics["width_levels"])
    xs = np.arange(len(levels))
    bars = ax.bar(xs, metrics["width_accuracy"], color="tab:blue", alpha=0.8, label="accuracy")
    for bar, n in zip(bars, metrics["width_clients"], strict=True):
        ax.annotate(f"{n} clients", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_xticks(xs, [f"{r:g}" for r in levels])
    ax.set_xlabel("width rate r")
    ax.set_ylabel("test accuracy of the sub-model")
    ax.set_ylim(0, 1.08)
    twin = ax.twinx()
    twin.plot(xs, metrics["width_parameter_fraction"], "o-", color="tab:orange",
              label="parameters / full")  # fmt: skip
    twin.plot(xs, np.square(levels), "--", color="0.5", label="r²")
    twin.set_yscale("log")
    twin.set_ylabel("share of the full model")
    handles = [bars, *twin.get_lines()]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper right")
    ax.set_title(title or "HeteroFL: every width of the global model")
    return ax.figure


def plot_tradeoff(
    points: Mapping[str, tuple[float, float]],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "bytes uploaded (MB)",
    ylabel: str = "final test accuracy",
) -> Figure:
    """Labelled points ``label -> (x, y)``, e.g. CMFL's uploaded MB against accuracy per
    threshold."""
    ax = _axes(ax, (6.0, 4.0))
    for label, (x, y) in points.items():
        ax.scatter([x], [y], s=30)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax.figure


_TERMS = (
    ("accuracy_term", "w1·Acc(T)", "tab:green", 1.0),
    ("latency_term", "-w2·ΣH", "tab:red", -1.0),
    ("bandwidth_term", "-w3·ΣB", "tab:orange", -1.0),
)


def plot_learning(
    metrics: Mapping[str, Any], *, ax: Axes | None = None, window: int = 5,
    title: str | None = None,
) -> Figure:  # fmt: skip
    """FedMARL's training: each episode's objective (dots), its moving average over
    ``window`` episodes, and the three terms' moving averages."""
    import numpy as np

    ax = _axes(ax, (7.0, 4.0))
    reward = np.asarray(metrics["learning_reward_curve"], dtype=float)
    episodes = np.arange(1, reward.size + 1)
    w = max(1, min(window, reward.size))
    kernel = np.ones(w) / w

    def smooth(v: np.ndarray) -> np.ndarray:
        return np.convolve(v, kernel, mode="valid")

    ax.plot(episodes, reward, ".", color="0.6", label="objective, per episode")
    ax.plot(episodes[w - 1 :], smooth(reward), color="black", label=f"objective ({w}-episode mean)")
    for key, label, colour, sign in _TERMS:
        values = sign * np.asarray(metrics[f"learning_{key}_curve"], dtype=float)
        ax.plot(episodes[w - 1 :], smooth(values), color=colour, linewidth=1, label=label)
    ax.axhline(0, color="0.3", linewidth=0.5)
    ax.set_xlabel("training episode")
    ax.set_ylabel("objective and its terms")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    ax.set_title(title or "FedMARL: the agents' learning curve")
    return ax.figure


def plot_policies(
    metrics: Mapping[str, Any], *, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Per policy the objective's three terms (bars: the accuracy term up, the latency and
    bandwidth terms down) and the objective itself (a black marker)."""
    import numpy as np

    ax = _axes(ax, (7.5, 4.0))
    policies = list(metrics["policies"])
    xs = np.arange(len(policies))
    width = 0.26
    for i, (key, label, colour, sign) in enumerate(_TERMS):
        values = [sign * metrics[key][p] for p in policies]
        ax.bar(xs + (i - 1) * width, values, width, color=colour, label=label)
    ax.scatter(xs, [metrics["reward"][p] for p in policies], color="black", zorder=3,
               marker="D", label="objective")  # fmt: skip
    ax.axhline(0, color="0.3", linewidth=0.5)
    ax.set_xticks(xs, policies, rotation=15)
    ax.set_ylabel("objective and its terms")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    ax.set_title(title or "the same reward, clients and seeds")
    return ax.figure


def plot_reconstructions(
    metrics: Mapping[str, Any], *, attacks: Sequence[str] = ("dlg", "analytic"),
    title: str | None = None,
) -> Figure:  # fmt: skip
    """Gradient leakage: the private image next to each attack's reconstruction under every
    defence (a run with ``images: true``), each titled with its PSNR."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as _Figure

    shape = metrics["image_shape"]
    side = (shape[-2], shape[-1])
    defences = list(metrics["defences"])
    rows = [a for a in attacks if f"{a}_images" in metrics]
    fig = _Figure(figsize=(1.25 * (len(defences) + 1), 1.45 * len(rows) + 0.4),
                  layout="constrained")  # fmt: skip
    FigureCanvasAgg(fig)
    grid = fig.subplots(len(rows), len(defences) + 1, squeeze=False)
    original = np.asarray(metrics["original_image"]).reshape(side)
    low, high = float(original.min()), float(original.max())
    for r, attack in enumerate(rows):
        grid[r, 0].imshow(original, cmap="gray", vmin=low, vmax=high)
        grid[r, 0].set_title("private", fontsize=8)
        grid[r, 0].set_ylabel(attack, fontsize=9)
        for c, label in enumerate(defences, start=1):
            image = np.asarray(metrics[f"{attack}_images"][label]).reshape(side)
            grid[r, c].imshow(np.clip(image, low, high), cmap="gray", vmin=low, vmax=high)
            grid[r, c].set_title(f"{label}\n{metrics[f'{attack}_psnr_db'][label]:.0f} dB",
                                 fontsize=7)  # fmt: skip
    for ax in grid.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or "what the server reconstructs from one transmitted gradient", fontsize=10)
    return fig
