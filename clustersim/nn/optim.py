"""Stochastic gradient descent with momentum."""

from __future__ import annotations

import numpy as np

from clustersim.nn.layers import Params

__all__ = ["SGD"]


class SGD:
    """SGD with (optional) momentum and weight decay, updating parameter arrays in place.

    With gradient ``g``, learning rate ``lr``, momentum ``mu`` and weight decay ``wd``::

        g <- g + wd * p
        v <- mu * v + g        (v = g at the first step)
        p <- p - lr * v

    This is the heavy-ball form used by PyTorch's ``torch.optim.SGD`` (documentation, "SGD",
    without dampening or Nesterov), equivalent to Sutskever, Martens, Dahl & Hinton, "On the
    importance of initialization and momentum in deep learning", ICML 2013, eq. 1, with the
    learning rate folded into the velocity.
    """

    def __init__(
        self, params: Params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
        self.params = params
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.velocity: Params = {}
        self.steps = 0

    def step(self, grads: Params) -> None:
        """Apply one update with ``grads`` (same names as ``params``; missing names are skipped)."""
        for name, p in self.params.items():
            g = grads.get(name)
            if g is None:
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                v = self.velocity.get(name)
                v = g.copy() if v is None else self.momentum * v + g
                self.velocity[name] = v
                g = v
            p -= self.lr * np.asarray(g, dtype=p.dtype)
        self.steps += 1
