"""Plots of simulation results (matplotlib).

``plot_timeline`` / ``save_timeline`` draw a Gantt-style timeline of a
:class:`~clustersim.core.trace.Tracer`. They are loaded lazily: importing this package does not
import matplotlib, which is only needed once a plot is actually made.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clustersim.plot.timeline import plot_timeline, save_timeline

__all__ = ["plot_timeline", "save_timeline"]

_LAZY = {"plot_timeline": "clustersim.plot.timeline", "save_timeline": "clustersim.plot.timeline"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
