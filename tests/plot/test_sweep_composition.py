"""Several sweeps on one axes: a second ``plot_sweep`` with the same ``ax`` adds its series
(colours continue, one legend for all, the key once) beside other labelled artists."""

from __future__ import annotations

from matplotlib.figure import Figure

from clustersim.plot.sweep import plot_sweep
from tests.plot.sweep_rows import legend_texts, rows_of, series


def test_a_second_sweep_continues_the_colours_and_shares_the_legend() -> None:
    ax = Figure().add_subplot()
    ax.axvspan(3, 5, label="shaded band")  # drawn first by the caller: kept in the legend
    ps = rows_of([2, 4, 8], key="workers", communication_s=[1.0, 2.0, 4.0],
                 analytic_communication_s=[1.0, 2.0, 4.0])  # fmt: skip
    ring = rows_of([2, 4, 8, 16], key="nodes", time_s=[1.0, 1.5, 1.75, 1.9],
                   analytic_time_s=[1.0, 1.5, 1.75, 1.9])  # fmt: skip
    plot_sweep(ps, x="workers", y="communication_s", analytic=True, label="PS", ax=ax, logx=True)
    plot_sweep(ring, x="nodes", y="time_s", analytic=True, label="ring", ax=ax, logx=True)
    assert series(ax, "PS").get_color() == "C0" and series(ax, "ring").get_color() == "C1"
    assert legend_texts(ax) == [
        "PS",
        "ring",
        "shaded band",
        "simulated",
        "analytic (analytic_communication_s)",
        "analytic (analytic_time_s)",
    ]
    # a log axis of grid values shows the values of both calls, written out
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8", "16"]


def test_hue_values_get_their_names_and_the_first_title_stays() -> None:
    ax = Figure().add_subplot()
    same = rows_of([1, 2, 4], key="workers", acc=[0.9, 0.9, 0.8])
    scaled = [
        *rows_of([2, 4], key="workers", hue=("warmup", 0), acc=[0.9, 0.85]),
        *rows_of([2, 4], key="workers", hue=("warmup", 2), start=2, acc=[0.9, 0.89]),
    ]
    plot_sweep(same, x="workers", y="acc", join=True, label="same lr", ax=ax)
    plot_sweep(
        scaled,
        x="workers",
        y="acc",
        hue="warmup",
        join=True,
        labels={"0": "linear", "2": "linear + warm-up"},
        ax=ax,
    )
    assert legend_texts(ax)[:3] == ["same lr", "linear", "linear + warm-up"]
    assert ax.get_legend().get_title().get_text() == ""  # the first call had no hue
    assert series(ax, "linear").get_linestyle() == "-"  # join: the points joined
    ax2 = Figure().add_subplot()
    plot_sweep(scaled, x="workers", y="acc", hue="warmup", labels={"warmup": "warm-up"}, ax=ax2)
    plot_sweep(same, x="workers", y="acc", label="same lr", ax=ax2)
    assert ax2.get_legend().get_title().get_text() == "warm-up"
    assert series(ax2, "2").get_linestyle() == "None"  # not joined: markers only


def test_the_legend_takes_options_or_goes() -> None:
    rows = rows_of([1, 2], time_s=[1.0, 2.0])
    ax = plot_sweep(rows, x="n", y="time_s", legend={"loc": "upper left"}).axes[0]
    assert ax.get_legend()._loc == 2  # matplotlib's code for "upper left"
    ax = plot_sweep(rows, x="n", y="time_s", legend=False).axes[0]
    assert ax.get_legend() is None
