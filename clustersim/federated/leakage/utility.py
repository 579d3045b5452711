"""The accuracy a defence costs: FedSGD in which every client sends its defended gradient.

Every round each of ``K`` clients computes the gradient of the model on a minibatch of its own
data, transmits it through its defence (:class:`~clustersim.federated.leakage.defences.Defence`,
one per client, so DGC's residuals are per client), and the server steps the model with the
mean of what it decoded: ``W ← W - η · (1/K) Σ_k ĝ_k`` (FedSGD, McMahan et al., AISTATS 2017,
§2). The test accuracy after the last round, against the same run with no defence, is the
defence's accuracy cost (DLG, Zhu et al. 2019, §5, reports the same trade: a defence strong
enough to stop the attack costs accuracy). The clients' minibatches are drawn from one stream,
so every defence trains on the same samples in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from clustersim.federated.leakage.defences import Defence
from clustersim.federated.leakage.kernels import Params, SmoothMLP, gradients, logits

__all__ = ["accuracy", "fedsgd"]


def accuracy(model: SmoothMLP, params: Params, x: np.ndarray, y: np.ndarray) -> float:
    """Share of ``x`` classified as ``y``."""
    return float(np.mean(np.argmax(logits(model, params, x), axis=-1) == y))


def fedsgd(
    model: SmoothMLP,
    params: Params,
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
    test: tuple[np.ndarray, np.ndarray],
    defences: Sequence[Defence],
    *,
    rounds: int,
    lr: float,
    batch: int,
    rng: np.random.Generator,
) -> tuple[float, list[float]]:
    """Train from ``params`` for ``rounds`` rounds; (final test accuracy, accuracy curve every
    tenth of the run)."""
    w = [(wi.copy(), None if bi is None else bi.copy()) for wi, bi in params]
    sizes = np.array([p[1].size for p in parts])
    curve = []
    marks = set(np.linspace(0, rounds, 11).round().astype(int).tolist()[1:])
    for t in range(rounds):
        picks = [rng.choice(n, size=batch, replace=n < batch) for n in sizes.tolist()]
        xb = np.stack([x[i] for (x, _), i in zip(parts, picks, strict=True)])
        yb = np.stack([y[i] for (_, y), i in zip(parts, picks, strict=True)])
        grads, _ = gradients(model, w, xb, yb)
        mean = None
        for k, defence in enumerate(defences):
            one = [(gw[k], None if gb is None else gb[k]) for gw, gb in grads]
            sent = defence.apply(one).grads
            if mean is None:
                mean = [(gw.copy(), None if gb is None else gb.copy()) for gw, gb in sent]
            else:
                for (mw, mb), (gw, gb) in zip(mean, sent, strict=True):
                    mw += gw
                    if mb is not None and gb is not None:
                        mb += gb
        assert mean is not None
        scale = lr / len(defences)
        for (wi, bi), (gw, gb) in zip(w, mean, strict=True):
            wi -= scale * gw
            if bi is not None and gb is not None:
                bi -= scale * gb
        if t + 1 in marks:
            curve.append(accuracy(model, w, *test))
    return curve[-1], curve
