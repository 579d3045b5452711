"""Client selection: which of the available clients take part in a round, and who straggles.

A selection rule is ``rule(rng, available, m, sizes) -> chosen`` (client indices, sorted);
:data:`SELECTORS` names them for the scenario's ``selection`` key. A learned selection that
needs the run's state (FedMARL's agents, :mod:`clustersim.federated.fedmarl`) is a ``selector``
of :class:`~clustersim.federated.process.FederatedRun` instead.

* ``uniform``: ``m`` of the available clients uniformly at random without replacement, as
  FedAvg's "random set of m = max(C·K, 1) clients" (McMahan et al. 2017, Algorithm 1) and
  FedProx's released code (``np.random.choice(..., replace=False)``) do.
* ``weighted``: ``m`` without replacement, each draw proportional to ``n_k`` (FedProx's
  Algorithm 2 samples with probability ``p_k`` with replacement; without replacement keeps
  every selected client distinct).

Stragglers (:func:`stragglers`) follow FedProx's code: of the ``m`` selected clients,
``round(m · (1 - fraction))`` chosen at random do the full ``E`` local epochs and the others,
the stragglers, fewer: a number drawn uniformly from
``1 .. E-1`` (``np.random.randint(low=1, high=E)``); with ``E = 1`` a straggler still does 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["SELECTORS", "clients_per_round", "stragglers", "uniform", "weighted"]

Selector = Callable[[np.random.Generator, np.ndarray, int, np.ndarray], np.ndarray]


def clients_per_round(count: int | None, fraction: float | None, clients: int) -> int:
    """``m``: the given count, or ``max(round(C · K), 1)`` (McMahan et al.'s ``max(C·K, 1)``);
    every client when neither is given."""
    if count is not None:
        return count
    if fraction is not None:
        return max(round(fraction * clients), 1)
    return clients


def uniform(
    rng: np.random.Generator, available: np.ndarray, m: int, sizes: np.ndarray
) -> np.ndarray:
    """``m`` available clients uniformly at random (all of them if fewer are available)."""
    if available.size <= m:
        return np.sort(available)
    return np.sort(rng.choice(available, size=m, replace=False))


def weighted(
    rng: np.random.Generator, available: np.ndarray, m: int, sizes: np.ndarray
) -> np.ndarray:
    """``m`` available clients, drawn without replacement with probability ∝ ``n_k``."""
    if available.size <= m:
        return np.sort(available)
    p = sizes[available].astype(float)
    return np.sort(rng.choice(available, size=m, replace=False, p=p / p.sum()))


SELECTORS: dict[str, Selector] = {"uniform": uniform, "weighted": weighted}
"""Selection rule name -> ``rule(rng, available, m, sizes) -> chosen``."""


def stragglers(
    rng: np.random.Generator, chosen: np.ndarray, fraction: float, epochs: int
) -> np.ndarray:
    """Local epochs of each chosen client: ``epochs``, or for the stragglers ``1 .. E-1``."""
    out = np.full(chosen.size, epochs, dtype=np.int64)
    count = chosen.size - round(chosen.size * (1.0 - fraction))  # FedProx's active count
    if count:
        slow = rng.choice(chosen.size, size=count, replace=False)
        out[slow] = rng.integers(1, max(epochs, 2), size=count) if epochs > 1 else 1
    return out
