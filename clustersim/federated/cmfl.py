"""CMFL: clients upload only updates that agree in sign with the last global update.

Wang, Wang & Li, "CMFL: Mitigating Communication Overhead for Federated Learning", ICDCS 2019,
§IV (the lecture notes' communication slide). After local training, client ``k`` compares its
update ``u`` with the last global update ``ū = w_t - w_{t-1}`` (every client can form it from
the two global models it has received) by the notes' relevance

    e(u, ū) = (1/N) Σ_j I(sgn(u_j) = sgn(ū_j)),

the share of the ``N`` parameters whose update has the sign the collaborative update had. It
uploads only if ``e`` reaches the round's threshold; an irrelevant update is not sent at all
(its bytes and upload time are saved; the client's local computation is spent either way).
The first round has no global update yet, so every client uploads; a round in which nobody
uploaded leaves the model, and so ``ū``, unchanged (the last non-zero global update is kept).

The threshold is fixed or scheduled (:func:`threshold_at`): CMFL's threshold is a tuning knob
(the paper sweeps it); a linear schedule from ``start`` to ``end`` over the rounds lets a run
start strict and relax, or the reverse. A threshold of 0 admits every update (``e ≥ 0``
always), which is FedAvg: the check ``cmfl_threshold0_equals_fedavg`` holds a run's round to
that, with a threshold of 1 (every sign must agree, which essentially never happens) as its
negative control.
"""

from __future__ import annotations

import numpy as np

__all__ = ["relevance", "relevant", "threshold_at"]


def relevance(updates: np.ndarray, global_update: np.ndarray) -> np.ndarray:
    """``e(u, ū)`` of each row of ``updates`` (clients, N) against ``global_update`` (N,).

    ``sgn`` is the three-valued sign (-1, 0, 1), so a zero matches only a zero.
    """
    u = np.atleast_2d(np.asarray(updates, dtype=float))
    g = np.sign(np.asarray(global_update, dtype=float))
    if u.shape[1] != g.size:
        raise ValueError(f"updates have {u.shape[1]} parameters, the global update {g.size}")
    return np.count_nonzero(np.sign(u) == g[None, :], axis=1) / float(g.size)


def relevant(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Which clients upload: relevance at least the threshold."""
    return np.asarray(scores) >= threshold


def threshold_at(round_index: int, rounds: int, start: float, end: float | None) -> float:
    """The threshold of round ``round_index`` (0-based): ``start`` fixed, or linear from
    ``start`` in the first round to ``end`` in the last."""
    if end is None or rounds <= 1:
        return float(start)
    return float(start + (end - start) * round_index / (rounds - 1))
