"""Layers with explicit forward and backward passes: Linear, ReLU, GELU and Sequential.

Every layer follows one protocol (see :mod:`clustersim.nn`): ``forward(x, params=None)``
returns ``(y, cache)`` and ``backward(grad_y, cache, params=None)`` returns ``(grad_x, grads)``,
where ``grads`` has the same keys as ``parameters()``. Inputs may carry any number of leading
batch dimensions; the last dimension is the feature dimension.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["GELU", "Linear", "Module", "Params", "ReLU", "Sequential"]

Params = dict[str, np.ndarray]
"""Named parameter (or gradient) arrays."""


class Module:
    """Base class: a differentiable function of an input and of named parameters."""

    def parameters(self) -> Params:
        """The live parameter arrays by name (empty for parameter-free layers)."""
        return {}

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        """Output for input ``x`` with ``params`` (default: the live parameters), and a cache."""
        raise NotImplementedError

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        """Gradient with respect to the input, and with respect to each parameter."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray, params: Params | None = None) -> np.ndarray:
        return self.forward(x, params)[0]

    def num_parameters(self) -> int:
        """Number of scalar parameters."""
        return sum(int(p.size) for p in self.parameters().values())


class Linear(Module):
    """``y = x @ weight + bias`` with ``weight`` of shape (in_features, out_features).

    Weights are drawn with He (Kaiming) normal initialisation, standard deviation
    ``sqrt(2 / in_features)`` (He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015,
    §2.2), biases start at zero. The backward pass is the pair of matrix products of the lecture
    notes: ``grad_x = grad_y @ W^T`` (data gradient) and ``grad_W = x^T @ grad_y`` (weight
    gradient), summed over every leading batch dimension.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        rng: np.random.Generator | None = None,
        bias: bool = True,
        dtype: Any = np.float64,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs positive in_features and out_features, got {in_features} and "
                f"{out_features}"
            )
        rng = rng if rng is not None else np.random.default_rng(0)
        std = math.sqrt(2.0 / in_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = (rng.standard_normal((in_features, out_features)) * std).astype(dtype)
        self.bias = np.zeros(out_features, dtype=dtype) if bias else None

    def parameters(self) -> Params:
        out = {"weight": self.weight}
        if self.bias is not None:
            out["bias"] = self.bias
        return out

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        p = params if params is not None else self.parameters()
        y = x @ p["weight"]
        if "bias" in p:
            y = y + p["bias"]
        return y, x

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        p = params if params is not None else self.parameters()
        x = cache
        x2 = x.reshape(-1, x.shape[-1])
        g2 = grad_y.reshape(-1, grad_y.shape[-1])
        grads = {"weight": x2.T @ g2}
        if "bias" in p:
            grads["bias"] = g2.sum(axis=0)
        return grad_y @ p["weight"].T, grads


class ReLU(Module):
    """``max(x, 0)``; its backward pass lets gradient through where the input was positive."""

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        mask = x > 0
        return x * mask, mask

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        return grad_y * cache, {}


_GELU_C = math.sqrt(2.0 / math.pi)


class GELU(Module):
    """The tanh approximation of GELU used by GPT-2 and Megatron-LM.

    ``0.5·x·(1 + tanh(c·(x + 0.044715·x³)))`` with ``c = sqrt(2/π)`` (Hendrycks & Gimpel,
    "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415, §2).
    """

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
        return 0.5 * x * (1.0 + t), (x, t)

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        x, t = cache
        dt = (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)
        return grad_y * (0.5 * (1.0 + t) + 0.5 * x * dt), {}


class Sequential(Module):
    """Layers applied in order; parameter ``k`` of layer ``i`` is named ``f"{offset + i}.{k}"``.

    ``offset`` lets a slice of a model (a pipeline stage) keep the parameter names it has in the
    whole model, so stage gradients can be compared with whole-model gradients by name.
    """

    def __init__(self, layers: Iterable[Module], *, offset: int = 0) -> None:
        self.layers: list[Module] = list(layers)
        self.offset = offset

    def __len__(self) -> int:
        return len(self.layers)

    def _names(self) -> list[str]:
        return [f"{self.offset + i}." for i in range(len(self.layers))]

    def parameters(self) -> Params:
        out: Params = {}
        for prefix, layer in zip(self._names(), self.layers, strict=True):
            for name, value in layer.parameters().items():
                out[prefix + name] = value
        return out

    def _layer_params(self, params: Params | None) -> list[Params | None]:
        if params is None:
            return [None] * len(self.layers)
        out: list[Params | None] = []
        for prefix, layer in zip(self._names(), self.layers, strict=True):
            names = layer.parameters()
            out.append({k: params[prefix + k] for k in names} if names else None)
        return out

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        caches = []
        for layer, p in zip(self.layers, self._layer_params(params), strict=True):
            x, cache = layer.forward(x, p)
            caches.append(cache)
        return x, caches

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        grads: Params = {}
        names = self._names()
        layer_params = self._layer_params(params)
        for i in reversed(range(len(self.layers))):
            grad_y, g = self.layers[i].backward(grad_y, cache[i], layer_params[i])
            for k, v in g.items():
                grads[names[i] + k] = v
        return grad_y, grads

    def slice(self, start: int, stop: int) -> Sequential:
        """Layers ``start:stop`` as a Sequential sharing their parameter arrays and names."""
        return Sequential(self.layers[start:stop], offset=self.offset + start)

    def split(self, counts: Sequence[int]) -> list[Sequential]:
        """Consecutive slices with ``counts[i]`` layers each (the counts must sum to the length)."""
        if sum(counts) != len(self.layers) or any(c < 0 for c in counts):
            raise ValueError(
                f"split counts {list(counts)} do not partition {len(self.layers)} layers"
            )
        out, start = [], 0
        for count in counts:
            out.append(self.slice(start, start + count))
            start += count
        return out
