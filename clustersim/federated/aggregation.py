"""Server aggregation rules: how the updates that arrived in a round become the next model.

A rule is a function ``rule(w, updates) -> w_next`` of the global weights and the round's
:class:`ClientUpdate` records in arrival order; :data:`AGGREGATORS` names them for the
scenario's ``aggregation`` key. A round without any update keeps ``w``. The check
``aggregate_is_weighted_mean`` recomputes each round's result as ``np.average`` of the reported
models with the weights the rule's definition gives (sample counts taken from the partition,
not from the update records).

* ``weighted``: FedAvg (McMahan et al., AISTATS 2017, Algorithm 1): ``w_{t+1} = Σ_k (n_k / n)
  w^k_{t+1}`` over the clients that reported, ``n_k`` their sample counts, computed as ``w +
  Σ_k (n_k / n) Δ_k`` with ``Δ_k = w^k - w``. FedProx's released code aggregates this way too.
* ``mean``: the unweighted average ``w + (1/N) Σ_i Δw_i`` of the lecture notes (their slide
  writes ``Δw_i = w - w_i`` but adds it, which only works with ``Δw_i = w_i - w``, the sign
  used here), which is also FedProx's Algorithm 2 (``w^{t+1} = (1/K) Σ_k w_k^{t+1}``, with the
  clients sampled in proportion to ``p_k``: ``selection: weighted``).

HeteroFL's updates cover only their sub-model (:attr:`ClientUpdate.index` names the global
positions of their elements): both rules then average every element over the clients that hold
it (:func:`per_element`; Diao et al., ICLR 2021, §3.1), which with every client at full width
is the same arithmetic as the dense rule. CMFL filters before the rule: an irrelevant update
never reaches the server (:mod:`clustersim.federated.cmfl`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["AGGREGATORS", "ClientUpdate", "mean", "per_element", "weighted"]


@dataclass(frozen=True)
class ClientUpdate:
    """What a client's upload delivered to the server.

    Attributes:
        client: the client's index.
        samples: ``n_k``, the samples it trained on (its own plus any shared data it holds).
        delta: ``w^k - w``, the change of its local model over the round (float64, flat).
        epochs: local epochs it completed.
        index: where ``delta``'s elements sit in the global model (a HeteroFL sub-model's
            positions); None: ``delta`` is the whole model.
        relevance: CMFL's ``e(u, ū)`` of the update (None: not computed).
        upload: whether the client sends it (CMFL withholds irrelevant updates).
    """

    client: int
    samples: int
    delta: np.ndarray
    epochs: int
    index: np.ndarray | None = None
    relevance: float | None = None
    upload: bool = True


def per_element(w: np.ndarray, updates: Sequence[ClientUpdate], weights: np.ndarray) -> np.ndarray:
    """HeteroFL's rule: each element ``w_j + Σ_{k∋j} ω_k Δ_kj / Σ_{k∋j} ω_k`` over the updates
    that hold it (accumulated in arrival order), unchanged where none does."""
    total = np.zeros_like(w)
    held = np.zeros_like(w)
    for omega, update in zip(weights.tolist(), updates, strict=True):
        index = slice(None) if update.index is None else update.index
        total[index] += omega * update.delta
        held[index] += omega
    out = w.copy()
    some = held > 0
    out[some] = w[some] + total[some] / held[some]
    return out


def _combine(w: np.ndarray, updates: Sequence[ClientUpdate], weights: np.ndarray) -> np.ndarray:
    """``w + Σ_k ω_k Δ_k / Σ_k ω_k``, accumulated in arrival order (per element for sub-model
    updates)."""
    if not updates:
        return w.copy()
    if any(u.index is not None for u in updates):
        return per_element(w, updates, weights)
    total = np.zeros_like(w)
    for omega, update in zip(weights.tolist(), updates, strict=True):
        total += omega * update.delta
    return w + total / float(weights.sum())


def weighted(w: np.ndarray, updates: Sequence[ClientUpdate]) -> np.ndarray:
    """FedAvg's sample-weighted average of the reported models."""
    return _combine(w, updates, np.array([u.samples for u in updates], dtype=float))


def mean(w: np.ndarray, updates: Sequence[ClientUpdate]) -> np.ndarray:
    """The plain average of the reported models (the notes' ``w + (1/N) Σ Δw_i``)."""
    return _combine(w, updates, np.ones(len(updates)))


AGGREGATORS: dict[str, Callable[[np.ndarray, Sequence[ClientUpdate]], np.ndarray]] = {
    "weighted": weighted,
    "mean": mean,
}
"""Rule name -> ``rule(w, updates) -> w_next``."""
