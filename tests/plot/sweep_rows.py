"""Small hand-made sweep rows the sweep-plot tests share: every value drawn is known."""

from __future__ import annotations

from typing import Any


def rows_of(
    xs: list[Any], key: str = "n", hue: tuple[str, Any] | None = None, start: int = 0, **columns
) -> list[dict[str, Any]]:
    """One row per x, in grid order: ``index``, the grid values, ``status`` ok, then each of
    ``columns`` (a list of values, one per x)."""
    rows = []
    for i, x in enumerate(xs):
        row: dict[str, Any] = {"index": start + i, key: x}
        if hue is not None:
            row[hue[0]] = hue[1]
        row["status"] = "ok"
        row.update({name: values[i] for name, values in columns.items()})
        rows.append(row)
    return rows


def series(ax, label: str):
    """The marker artist of the series called ``label``."""
    return next(line for line in ax.get_lines() if line.get_label() == label)


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]
