"""The workload-kind contract: what every kind package implements and the runner relies on.

A kind is a :class:`WorkloadKind`: a pydantic ``Params`` model, a ``prepare`` step that turns
the cluster and the validated parameters into a plan (every input check that needs the
cluster happens here, so ``clustersim validate`` says everything ``run`` would), and
``simulate`` and ``analytic``, both handed that same plan. The contract sits below the domain
packages: it imports only the layers under it (errors, units, core, hardware) and pydantic.
See ``docs/architecture.md`` for how to add a kind.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clustersim.kinds.contract import (
        Outcome,
        Work,
        WorkloadKind,
        check,
        register,
        registered,
    )
    from clustersim.kinds.validation import (
        known_name,
        positive,
        positive_int,
        rank_list,
        validate_nested,
    )

__all__ = [
    "Outcome",
    "Work",
    "WorkloadKind",
    "check",
    "known_name",
    "positive",
    "positive_int",
    "rank_list",
    "register",
    "registered",
    "validate_nested",
]

_VALIDATION = {"known_name", "positive", "positive_int", "rank_list", "validate_nested"}


def __getattr__(name: str) -> Any:
    """Import on first use, so a kernel that needs only :func:`check` never loads pydantic."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "validation" if name in _VALIDATION else "contract"
    value = getattr(importlib.import_module(f"clustersim.kinds.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
