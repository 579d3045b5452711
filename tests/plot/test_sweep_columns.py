"""Several metrics of the same rows in one sweep plot (``y`` a list), with their units."""

from __future__ import annotations

from clustersim.plot.sweep import plot_sweep
from tests.plot.sweep_rows import legend_texts, rows_of, series


def test_each_column_is_a_series_with_its_analytic_line() -> None:
    rows = rows_of(
        [1e6, 1e7],
        key="link.bandwidth",
        best_s=[0.5, 0.1],
        cloud_s=[2.0, 0.1],
        analytic_best_s=[0.5, 0.1],
        analytic_cloud_s=[2.0, 0.2],
    )
    fig = plot_sweep(
        rows,
        x="link.bandwidth",
        y=["cloud_s", "best_s"],
        analytic=True,
        labels={"best_s": "best split", "cloud_s": "all in the cloud"},
        units={"link.bandwidth": "B/s"},
    )
    (ax,) = fig.axes
    cloud, best = series(ax, "all in the cloud"), series(ax, "best split")
    assert list(cloud.get_ydata()) == [2.0, 0.1] and list(best.get_ydata()) == [0.5, 0.1]
    assert cloud.get_color() != best.get_color()
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata())]
    assert sorted(list(ln.get_ydata()) for ln in lines) == [[0.5, 0.1], [2.0, 0.2]]
    assert legend_texts(ax) == [
        "all in the cloud",
        "best split",
        "simulated",
        "analytic (analytic_<y>)",
    ]
    # both columns are seconds: one formatter for the axis; the field's unit comes from units
    assert ax.yaxis.get_major_formatter().unit == "s"
    assert ax.xaxis.get_major_formatter()(1e6) == "1 MB/s"
    assert ax.get_ylabel() == "all in the cloud, best split"


def test_columns_of_different_units_get_no_common_formatter() -> None:
    rows = rows_of([1, 2], time_s=[1.0, 2.0], bytes_total=[10, 20])
    ax = plot_sweep(rows, x="n", y=["time_s", "bytes_total"]).axes[0]
    assert not hasattr(ax.yaxis.get_major_formatter(), "unit")


def test_a_rate_per_second_is_not_seconds() -> None:
    rows = rows_of([1, 2], throughput_samples_per_s=[100.0, 200.0])
    ax = plot_sweep(rows, x="n", y="throughput_samples_per_s").axes[0]
    assert not hasattr(ax.yaxis.get_major_formatter(), "unit")


def test_rows_without_some_column_are_counted_once() -> None:
    rows = rows_of([1, 2, 3], a_s=[1.0, None, None], b_s=[1.0, 2.0, None])
    ax = plot_sweep(rows, x="n", y=["a_s", "b_s"]).axes[0]
    assert "2 rows without a_s or b_s left out" in legend_texts(ax)


def test_labels_name_the_formula_in_the_key() -> None:
    rows = rows_of([2, 4], time_s=[1.0, 1.5], analytic_time_s=[1.0, 1.5])
    formula = "2(p-1)a + 2(p-1)/p n b"
    fig = plot_sweep(rows, x="n", y="time_s", analytic=True, labels={"analytic_time_s": formula})
    assert f"analytic ({formula})" in legend_texts(fig.axes[0])
    plain = plot_sweep(rows, x="n", y="time_s", analytic=True).axes[0]
    assert "analytic (analytic_time_s)" in legend_texts(plain)
