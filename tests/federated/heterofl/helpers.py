"""HeteroFL runs on the federated tests' small star (helpers.scenario)."""

from __future__ import annotations

from typing import Any

from tests.federated.helpers import scenario

__all__ = ["MLP", "heterofl"]

MLP = {"name": "mlp", "hidden": [32, 16]}


def heterofl(rates: Any, **workload: Any) -> dict[str, Any]:
    """A HeteroFL scenario with ``rates`` on the 10-client star (blobs, an MLP)."""
    return scenario(
        {"algorithm": "heterofl", "model": MLP, "heterofl": {"rates": rates}, **workload}
    )
