"""Ratios to one baseline row (``relative_to``), and figures from elsewhere beside the
simulated ones (``compare``): a paper's table normalised the same way."""

from __future__ import annotations

import pytest

from clustersim.errors import InputError
from clustersim.plot.sweep import plot_sweep
from tests.plot.sweep_rows import legend_texts, rows_of, series


def _table() -> list[dict]:
    # K partitions x M micro-batches; paper: the published ratios (its own K=2, M=1 is 1)
    return [
        *rows_of([2, 4], key="K", hue=("M", 1), tput=[10.0, 12.0], analytic_tput=[9.0, 9.0],
                 paper=[1.0, 1.1]),
        *rows_of([2, 4], key="K", hue=("M", 4), start=2, tput=[20.0, 40.0],
                 analytic_tput=[18.0, 36.0], paper=[1.5, 3.0]),
    ]  # fmt: skip


def test_every_drawn_column_is_divided_by_the_baseline_row() -> None:
    fig = plot_sweep(
        _table(),
        x="K",
        y="tput",
        hue="M",
        analytic=True,
        compare="paper",
        relative_to={"K": 2, "M": 1},
        labels={"paper": "GPipe Table 2"},
    )
    (ax,) = fig.axes
    assert list(series(ax, "1").get_ydata()) == [1.0, 1.2]
    assert list(series(ax, "4").get_ydata()) == [2.0, 4.0]
    solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata())]
    assert sorted(list(ln.get_ydata()) for ln in solid) == [[1.0, 1.0], [2.0, 4.0]]  # /9
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--" and len(ln.get_xdata())]
    assert sorted(list(ln.get_ydata()) for ln in dashed) == [[1.0, 1.1], [1.5, 3.0]]
    for line in dashed:  # hollow squares in the colour of their series
        assert line.get_marker() == "s" and line.get_markerfacecolor() == "none"
    assert {ln.get_color() for ln in dashed} == {
        series(ax, "1").get_color(),
        series(ax, "4").get_color(),
    }
    assert "GPipe Table 2 (dashed)" in legend_texts(ax)
    assert ax.get_ylabel() == "tput relative to K=2, M=1"


def test_the_baseline_must_be_exactly_one_row() -> None:
    with pytest.raises(InputError, match=r"relative_to K=2: 2 rows \(indices 0, 2\)"):
        plot_sweep(_table(), x="K", y="tput", hue="M", relative_to={"K": 2})
    with pytest.raises(InputError, match="relative_to K=3, M=1: no row"):
        plot_sweep(_table(), x="K", y="tput", hue="M", relative_to={"K": 3, "M": 1})
    with pytest.raises(InputError, match="relative_to 'k' is not a column"):
        plot_sweep(_table(), x="K", y="tput", hue="M", relative_to={"k": 2})
    with pytest.raises(InputError, match="compare 'papers' is not a column"):
        plot_sweep(_table(), x="K", y="tput", hue="M", compare="papers")
