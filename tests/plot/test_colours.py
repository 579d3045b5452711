"""A category has one colour in every plot, whatever else the trace holds, and a legend."""

from __future__ import annotations

from matplotlib.colors import to_rgb

from clustersim.core.trace import Tracer
from clustersim.plot import category_colour, plot_timeline
from clustersim.plot.timeline import CATEGORY_COLOURS
from tests.plot.helpers import legend


def _bar_colours(fig) -> dict[str, tuple[float, float, float]]:
    """Legend label -> its colour (RGB)."""
    (ax,) = fig.axes
    found = ax.get_legend()
    return {
        t.get_text(): to_rgb(h.get_facecolor())
        for t, h in zip(found.get_texts(), found.legend_handles, strict=True)
    }


def _trace(categories: list[str]) -> Tracer:
    t = Tracer(enabled=True)
    for i, category in enumerate(categories):
        t.span((f"n{i}", "x"), "op", category, 0.0, 1.0)
    return t


def test_the_colour_of_a_category_does_not_depend_on_the_others() -> None:
    alone = _bar_colours(plot_timeline(_trace(["network"])))
    crowded = _bar_colours(plot_timeline(_trace(["zeta", "network", "alpha", "comm", "forward"])))
    assert alone["network"] == crowded["network"] == to_rgb(CATEGORY_COLOURS["network"])
    assert crowded["comm"] == to_rgb(CATEGORY_COLOURS["comm"])
    # an unknown category: from its name, the same in every plot, never a table colour
    assert crowded["zeta"] == to_rgb(category_colour("zeta"))
    table = {to_rgb(c) for c in CATEGORY_COLOURS.values()}
    assert crowded["zeta"] not in table and crowded["alpha"] not in table


def test_chunks_are_shades_of_their_pass() -> None:
    base = to_rgb(category_colour("forward"))
    chunk0, chunk1 = (to_rgb(category_colour(f"forward chunk {k}")) for k in (0, 1))
    assert chunk0 == base
    assert all(c1 > c0 or c0 == 1.0 for c0, c1 in zip(chunk0, chunk1, strict=True))  # lighter


def test_legend_lists_categories_in_a_fixed_order() -> None:
    fig = plot_timeline(_trace(["zeta", "network", "backward", "compute", "forward"]))
    assert legend(fig) == ["compute", "forward", "backward", "network", "zeta"]
