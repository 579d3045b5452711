"""Result: what one scenario run produced, as a plain record that serialises to JSON."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clustersim.core.trace import Tracer
from clustersim.kinds.contract import AnalyticNote

__all__ = ["Result", "is_count_name", "to_plain"]


_COUNT_NAME = re.compile(r"(?:^|_)(?:bytes|events)(?:_|$)")
_INT_LIMIT = 2.0**63


def is_count_name(name: str) -> bool:
    """True for a metric that counts bytes or events (``bytes_total``, ``bytes_per_link``,
    ``sim_events``), not a rate of them (``..._Bps``, ``..._per_s``)."""
    return bool(_COUNT_NAME.search(name)) and not name.endswith("_Bps") and "_per_s" not in name


def _numbers(value: Any) -> bool:
    """A number, or a list or array of numbers (not a bool, a string or a record)."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    if isinstance(value, (list, tuple)):
        return all(_numbers(v) for v in value)
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def to_plain(value: Any, name: str = "") -> Any:
    """Recursively turn numpy scalars/arrays and tuples into JSON-ready Python values.

    Under a key that counts bytes or events (:func:`is_count_name`) a whole number is an
    ``int``: ``1024``, not ``1024.0``; so are the numbers of a list under such a key, and of a
    mapping of numbers (``bytes_per_link``: one count per link). A record under such a key
    (an expectation's ``value``, ``rel_err`` and ``met``) is typed by its own keys.
    A fractional value (a mean per sample, an expected count) stays a float; NaN and infinity
    become None.
    """
    if isinstance(value, dict):
        counted = is_count_name(name) and all(_numbers(v) for v in value.values())
        return {str(k): to_plain(v, name if counted else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, name) for v in value]
    if isinstance(value, np.ndarray):
        return [to_plain(v, name) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < _INT_LIMIT and is_count_name(name):
            return int(value)
        return value
    return value


@dataclass
class Result:
    """The outcome of a run.

    Attributes:
        scenario: scenario name.
        seed: the seed used.
        metrics: simulated measurements (SI, unit-suffixed names).
        analytic: the closed-form prediction, where one exists (same names as ``metrics``).
        checks: verification checks, each ``{"passed": bool, ...}``.
        expectations: the scenario's ``expect:`` block judged, each ``{"met": bool, ...}``.
        analytic_notes: what each analytic value assumes, by name
            (:class:`~clustersim.kinds.contract.AnalyticNote`), for the table; not in the JSON.
        wall_s: wall-clock seconds the run took (the only field that varies between runs).
        trace: the tracer (spans are present only when tracing was enabled).
    """

    scenario: str
    seed: int
    metrics: dict[str, Any]
    analytic: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    expectations: dict[str, dict[str, Any]] = field(default_factory=dict)
    analytic_notes: dict[str, AnalyticNote] = field(default_factory=dict, repr=False)
    wall_s: float = 0.0
    trace: Tracer | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """True when every check passed and every expectation was met (vacuously true)."""
        return all(c.get("passed", False) for c in self.checks.values()) and all(
            e.get("met", False) for e in self.expectations.values()
        )

    def to_dict(self, *, include_wall: bool = True) -> dict[str, Any]:
        """The JSON contract of docs/architecture.md §5 as a dict."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "seed": self.seed,
            "metrics": to_plain(self.metrics),
            "analytic": to_plain(self.analytic),
            "checks": to_plain(self.checks),
        }
        if self.expectations:
            out["expectations"] = to_plain(self.expectations)
        if include_wall:
            out["wall_s"] = round(self.wall_s, 6)
        return out

    def to_json(self, *, indent: int | None = None, include_wall: bool = True) -> str:
        """Serialise; everything but ``wall_s`` is byte-identical for the same scenario+seed."""
        return json.dumps(self.to_dict(include_wall=include_wall), indent=indent)
