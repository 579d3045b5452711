"""Where the analytic value is drawn: at ``analytic_<x>`` when ``x`` is itself a metric with a
prediction, and as a tick per category on a categorical axis (categories have no order)."""

from __future__ import annotations

from clustersim.plot.sweep import plot_sweep
from tests.plot.sweep_rows import rows_of, series


def test_a_measured_x_puts_the_prediction_at_the_predicted_x() -> None:
    rows = rows_of(
        [0.1, 0.2],
        key="quality",
        alpha=[0.52, 0.71],
        analytic_alpha=[0.55, 0.73],
        tokens=[2.0, 2.9],
        analytic_tokens=[2.1, 3.0],
    )
    ax = plot_sweep(rows, x="alpha", y="tokens", analytic=True).axes[0]
    assert list(series(ax, "tokens").get_xdata()) == [0.52, 0.71]
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata())]
    assert list(line.get_xdata()) == [0.55, 0.73] and list(line.get_ydata()) == [2.1, 3.0]


def test_a_grid_x_without_a_prediction_keeps_its_own_values() -> None:
    rows = rows_of([2, 4], time_s=[1.0, 2.0], analytic_time_s=[1.0, 2.5])
    ax = plot_sweep(rows, x="n", y="time_s", analytic=True).axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata())]
    assert list(line.get_xdata()) == [2.0, 4.0]


def test_categories_get_a_tick_each_not_a_line_through_them() -> None:
    rows = rows_of(
        ["autoregressive", "medusa", "speculative"],
        key="method",
        speedup=[1.0, 3.0, 2.1],
        analytic_speedup=[1.0, None, 2.0],
    )
    ax = plot_sweep(
        rows,
        x="method",
        y="speedup",
        analytic=True,
        labels={"medusa": "medusa (not exact)"},
        reference={"autoregressive decoding": 1.0},
    ).axes[0]
    ticks = [ln for ln in ax.get_lines() if ln.get_marker() == "_" and len(ln.get_xdata())]
    (tick,) = ticks
    assert tick.get_linestyle() == "None"
    assert list(tick.get_xdata()) == [0.0, 2.0] and list(tick.get_ydata()) == [1.0, 2.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "autoregressive",
        "medusa (not exact)",
        "speculative",
    ]
    (level,) = [ln for ln in ax.get_lines() if ln.get_label() == "autoregressive decoding"]
    assert list(level.get_ydata()) == [1.0, 1.0] and level.get_linestyle() == ":"
