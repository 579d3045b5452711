"""The workload registry: what a scenario's ``workload.kind`` can name.

A workload kind is a pydantic ``Params`` model, a ``simulate(cluster, params) -> Outcome``
function that runs the SimPy processes and measures, and optionally an
``analytic(cluster, params) -> dict`` closed form. Kinds register themselves when their module
is imported; the runner imports the built-in modules listed in ``BUILTIN_MODULES`` on first
use, so adding a kind is one new module and one line here, and the runner never changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["BUILTIN_MODULES", "Outcome", "WorkloadKind", "check", "get_kind", "kinds", "register"]

BUILTIN_MODULES: tuple[str, ...] = (
    "clustersim.collectives.workload",
    "clustersim.inference.workload",
    "clustersim.training.pipeline_workload",
    "clustersim.training.tensor_parallel_workload",
    "clustersim.training.parameter_server",
    "clustersim.training.data_parallel",
)


def check(passed: bool, **details: Any) -> dict[str, Any]:
    """A verification check record: ``{"passed": bool, **details}``."""
    return {"passed": bool(passed), **details}


@dataclass
class Outcome:
    """What a workload's ``simulate`` returns: measured metrics and verification checks."""

    metrics: dict[str, Any]
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkloadKind:
    """One registered workload kind."""

    name: str
    description: str
    params: type[BaseModel]
    simulate: Callable[[Any, Any], Outcome]
    analytic: Callable[[Any, Any], dict[str, Any]] | None = None
    details: Callable[[], list[str]] | None = None
    """Optional: lines for ``clustersim list`` (e.g. the algorithms and their formulas)."""


_REGISTRY: dict[str, WorkloadKind] = {}
_loaded = False


def register(kind: WorkloadKind) -> WorkloadKind:
    """Add ``kind`` to the registry (called by workload modules at import)."""
    _REGISTRY[kind.name] = kind
    return kind


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def kinds() -> dict[str, WorkloadKind]:
    """Every registered kind, by name, sorted."""
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_kind(name: str) -> WorkloadKind | None:
    """The kind called ``name``, or None."""
    _load_builtins()
    return _REGISTRY.get(name)
