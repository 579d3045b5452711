"""The workload kinds a scenario's ``workload.kind`` can name.

The built-in kinds are listed here explicitly, each as the module of its ``kind.py``; a module is
imported the first time its kind is needed, so ``clustersim --help`` and the validation of a
collective scenario never import the pipeline or speculative-decoding code. The scenario layer
imports the domain packages, never the reverse. Kinds of your own are added with
:func:`clustersim.kinds.register` and looked up after the built-in ones.
"""

from __future__ import annotations

import importlib

from clustersim.kinds.contract import WorkloadKind, registered

__all__ = ["BUILTIN_KINDS", "get_kind", "kind_names", "kinds"]

BUILTIN_KINDS: dict[str, str] = {
    "collective": "clustersim.collectives.kind",
    "data_parallel": "clustersim.training.data_parallel.kind",
    "ddnn": "clustersim.inference.early_exit.ddnn.kind",
    "early_exit": "clustersim.inference.early_exit.kind",
    "federated": "clustersim.federated.kind",
    "fedmarl": "clustersim.federated.fedmarl.kind",
    "leakage": "clustersim.federated.leakage.kind",
    "parameter_server": "clustersim.training.parameter_server.kind",
    "partition": "clustersim.inference.partition.kind",
    "pipeline": "clustersim.training.pipeline.kind",
    "speculative_decoding": "clustersim.inference.speculative.kind",
    "split": "clustersim.inference.split.kind",
    "tensor_parallel": "clustersim.training.tensor_parallel.kind",
}
"""Kind name -> the module whose ``KIND`` attribute is its :class:`WorkloadKind`."""


def kind_names() -> list[str]:
    """Every kind name, built-in first, without importing any kind."""
    extra = [name for name in registered() if name not in BUILTIN_KINDS]
    return [*BUILTIN_KINDS, *sorted(extra)]


def get_kind(name: str) -> WorkloadKind | None:
    """The kind called ``name`` (importing its module on first use), or None."""
    module = BUILTIN_KINDS.get(name)
    if module is None:
        return registered().get(name)
    return importlib.import_module(module).KIND


def kinds() -> dict[str, WorkloadKind]:
    """Every kind, by name (imports all of them: for ``clustersim list``)."""
    found = {name: get_kind(name) for name in kind_names()}
    return {name: kind for name, kind in found.items() if kind is not None}
