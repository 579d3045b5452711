"""Result: what one scenario run produced, as a plain record that serialises to JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clustersim.core.trace import Tracer

__all__ = ["Result", "to_plain"]


def to_plain(value: Any) -> Any:
    """Recursively turn numpy scalars/arrays and tuples into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
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
        wall_s: wall-clock seconds the run took (the only field that varies between runs).
        trace: the tracer (spans are present only when tracing was enabled).
    """

    scenario: str
    seed: int
    metrics: dict[str, Any]
    analytic: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    expectations: dict[str, dict[str, Any]] = field(default_factory=dict)
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
