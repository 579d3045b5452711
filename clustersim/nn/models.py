"""Model builders."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from clustersim.nn.layers import GELU, Linear, Module, ReLU, Sequential

__all__ = ["mlp"]


def mlp(
    sizes: Sequence[int],
    *,
    rng: np.random.Generator | None = None,
    activation: str = "relu",
    dtype: Any = np.float64,
) -> Sequential:
    """A multi-layer perceptron: ``Linear(sizes[0], sizes[1])``, activation, ...,
    ``Linear(sizes[-2], sizes[-1])``.

    The last Linear has no activation (its outputs are logits). ``activation`` is ``"relu"`` or
    ``"gelu"``. The result is a flat :class:`Sequential` of Linear and activation layers.
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {list(sizes)}")
    acts = {"relu": ReLU, "gelu": GELU}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    rng = rng if rng is not None else np.random.default_rng(0)
    layers: list[Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(a, b, rng=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(acts[activation]())
    return Sequential(layers)
