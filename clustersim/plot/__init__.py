"""Plots of simulation results (matplotlib).

``plot_timeline`` / ``save_timeline`` draw a Gantt-style timeline of a
:class:`~clustersim.core.trace.Tracer` (busy lanes grouped by node in rank order, or aggregated
for a big cluster; ``lanes=`` chooses them), ``select_lanes`` tells which lanes a pattern picks,
and ``category_colour`` gives the colour a span category has in every clustersim plot. They are
loaded lazily: importing this package does not import matplotlib, which is only needed once a
plot is actually made. ``plot_sweep`` draws a sweep's rows (``clustersim plot``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clustersim.plot.sweep import plot_sweep
    from clustersim.plot.timeline import (
        category_colour,
        plot_timeline,
        save_timeline,
        select_lanes,
    )

__all__ = ["category_colour", "plot_sweep", "plot_timeline", "save_timeline", "select_lanes"]

_LAZY = {name: "clustersim.plot.timeline" for name in __all__}
_LAZY["plot_sweep"] = "clustersim.plot.sweep"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
