"""A closed form drawn smoothly over each series' range (``formula``), and the markers that
keep coinciding series apart (``marker``)."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.plot.sweep import plot_sweep
from tests.plot.sweep_rows import legend_texts, rows_of, series


def _rows() -> list[dict]:
    return [
        *rows_of([0.2, 0.6, 0.9], key="alpha", hue=("gamma", 2), tokens=[1.2, 1.9, 2.7]),
        *rows_of([0.3, 0.8], key="alpha", hue=("gamma", 8), start=3, tokens=[1.4, 4.3]),
    ]


def test_the_formula_is_drawn_over_each_series_range_with_its_hue_value() -> None:
    calls = []

    def equation_1(alpha: np.ndarray, gamma: int) -> np.ndarray:
        calls.append(gamma)
        return (1 - alpha ** (gamma + 1)) / (1 - alpha)

    ax = plot_sweep(
        _rows(), x="alpha", y="tokens", hue="gamma", formula=equation_1, formula_label="Eq. 1"
    ).axes[0]
    assert calls == [2, 8]
    curves = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 200]
    assert [(c.get_xdata()[0], c.get_xdata()[-1]) for c in curves] == [(0.2, 0.9), (0.3, 0.8)]
    x, y = curves[1].get_xdata(), curves[1].get_ydata()
    np.testing.assert_allclose(y, (1 - x**9) / (1 - x), rtol=1e-12)
    assert curves[1].get_color() == series(ax, "8").get_color()
    assert "Eq. 1" in legend_texts(ax)


def test_a_formula_needs_a_numeric_x() -> None:
    rows = rows_of(["a", "b"], key="method", tokens=[1.0, 2.0])
    with pytest.raises(InputError, match="formula: a closed form needs a numeric x"):
        plot_sweep(rows, x="method", y="tokens", formula=lambda x, _: x)


def test_series_take_the_markers_in_turn() -> None:
    rows = [
        *rows_of([1, 2], hue=("schedule", "gpipe"), bubble=[0.5, 0.4]),
        *rows_of([1, 2], hue=("schedule", "1f1b"), start=2, bubble=[0.5, 0.4]),
    ]
    ax = plot_sweep(rows, x="n", y="bubble", hue="schedule", marker=["o", "x"]).axes[0]
    assert series(ax, "gpipe").get_marker() == "o"
    assert series(ax, "1f1b").get_marker() == "x"
