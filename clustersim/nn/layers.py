"""The module protocol and the shape-generic layers: Linear, ReLU, GELU, Flatten, Dropout and
Sequential.

Every layer follows one protocol (see :mod:`clustersim.nn`): ``forward(x, params=None)``
returns ``(y, cache)`` and ``backward(grad_y, cache, params=None)`` returns ``(grad_x, grads)``,
where ``grads`` has the same keys as ``parameters()``. Linear, ReLU and GELU accept any number
of leading batch dimensions (the last dimension is the feature dimension); Flatten and Dropout
keep the first dimension as the batch.

Every layer also describes itself from shapes alone, per sample (shapes without the batch
dimension): :meth:`Module.output_shape`, :meth:`Module.flops` (forward FLOP at inference, a
multiply-add counted as 2) and :meth:`Module.traffic` (tensor elements a forward pass reads and
writes at least once). :func:`clustersim.nn.profile.profile` turns these into per-layer records;
its module docstring states the counting convention.

Layers with weights (:class:`Parametrised`) know their parameter shapes before the weights
exist. With ``lazy=True`` the weights are drawn on first use, so an ImageNet-size model can be
built and profiled without allocating its hundreds of megabytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from clustersim.errors import InputError

__all__ = [
    "GELU",
    "Dropout",
    "Flatten",
    "Linear",
    "Module",
    "Parametrised",
    "Params",
    "ReLU",
    "Sequential",
    "Shape",
    "WeightAndBias",
]

Params = dict[str, np.ndarray]
"""Named parameter (or gradient) arrays."""

Shape = tuple[int, ...]
"""The shape of one sample (no batch dimension), e.g. ``(3, 224, 224)``."""


def numel(shape: Shape) -> int:
    """Number of elements of an array of ``shape``."""
    return math.prod(shape)


class Module:
    """Base class: a differentiable function of an input and of named parameters.

    ``training`` selects the behaviour of layers that differ between training and inference
    (only :class:`Dropout` here); :meth:`train` and :meth:`eval` set it on a module and every
    module inside it, as in PyTorch.
    """

    training: bool = True

    def parameters(self) -> Params:
        """The live parameter arrays by name (empty for parameter-free layers)."""
        return {}

    def parameter_shapes(self) -> dict[str, Shape]:
        """The shape of every parameter by name, known without allocating any weight."""
        return {}

    def named_children(self) -> list[tuple[str, Module]]:
        """The modules inside this one with their name prefixes (none for a plain layer)."""
        return []

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
        """Number of scalar parameters (from the shapes: lazy weights stay undrawn)."""
        return sum(numel(s) for s in self.parameter_shapes().values())

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``False``: inference) here and in every child; returns ``self``."""
        self.training = mode
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Inference mode: ``train(False)``."""
        return self.train(False)

    # ------------------------------------------------------------------- shapes and costs
    def output_shape(self, shape: Shape) -> Shape:
        """Per-sample output shape for the per-sample input ``shape``; InputError if invalid."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its shapes")

    def flops(self, shape: Shape) -> int:
        """Forward FLOP per sample at inference for input ``shape`` (multiply-add = 2)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its FLOPs")

    def traffic(self, shape: Shape) -> int:
        """Tensor elements per sample a forward pass must read and write at least once: its
        input and its output (parameters are counted separately, once per batch)."""
        return numel(shape) + numel(self.output_shape(shape))


class Parametrised(Module):
    """A layer whose parameters are named arrays of shapes fixed by its configuration.

    A subclass sets its configuration, defines :meth:`parameter_shapes` and :meth:`_draw`, and
    calls :meth:`_init_parameters` last in ``__init__``. Eagerly (``lazy=False``), ``_draw``
    consumes ``rng`` right away. Lazily, the layer takes one 63-bit seed from ``rng`` at
    construction and draws its weights from a generator of that seed the first time
    :meth:`parameters` is called, so the values do not depend on which layer is used first.
    Eager and lazy layers built from the same ``rng`` hold different (equally distributed)
    values.
    """

    _params: Params | None
    _lazy_rng: np.random.Generator | None

    def _draw(self, rng: np.random.Generator) -> Params:
        """Fresh initial parameter arrays."""
        raise NotImplementedError

    def _init_parameters(self, rng: np.random.Generator | None, lazy: bool) -> None:
        rng = rng if rng is not None else np.random.default_rng(0)
        if lazy:
            seed = int(rng.integers(0, np.iinfo(np.int64).max))
            self._lazy_rng = np.random.default_rng(seed)
            self._params = None
        else:
            self._lazy_rng = None
            self._params = self._draw(rng)

    @property
    def materialised(self) -> bool:
        """Whether the weight arrays exist yet."""
        return self._params is not None

    def parameters(self) -> Params:
        if self._params is None:
            assert self._lazy_rng is not None
            self._params = self._draw(self._lazy_rng)
            self._lazy_rng = None
        return dict(self._params)

    def _get(self, name: str) -> np.ndarray | None:
        return self.parameters().get(name)

    def _set(self, name: str, value: np.ndarray) -> None:
        self.parameters()
        assert self._params is not None
        if name not in self._params:
            raise KeyError(f"{type(self).__name__} has no parameter {name!r}")
        self._params[name] = value


class WeightAndBias(Parametrised):
    """A parametrised layer with a ``weight`` and an optional ``bias`` (:class:`Linear`,
    :class:`~clustersim.nn.conv.Conv2d`), readable and settable by name."""

    @property
    def weight(self) -> np.ndarray:
        return self.parameters()["weight"]

    @weight.setter
    def weight(self, value: np.ndarray) -> None:
        self._set("weight", value)

    @property
    def bias(self) -> np.ndarray | None:
        return self._get("bias")

    @bias.setter
    def bias(self, value: np.ndarray) -> None:
        self._set("bias", value)


class Linear(WeightAndBias):
    """``y = x @ weight + bias`` with ``weight`` of shape (in_features, out_features).

    Weights are drawn with He (Kaiming) normal initialisation, standard deviation
    ``sqrt(2 / in_features)`` (He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015,
    §2.2), biases start at zero. The backward pass is the pair of matrix products of the lecture
    notes: ``grad_x = grad_y @ W^T`` (data gradient) and ``grad_W = x^T @ grad_y`` (weight
    gradient), summed over every leading batch dimension. Forward FLOPs: ``2·in·out`` per row
    (the bias is the accumulator's initial value, so ``in`` multiply-adds give each output).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        rng: np.random.Generator | None = None,
        bias: bool = True,
        dtype: Any = np.float64,
        lazy: bool = False,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise InputError(
                f"Linear needs positive in_features and out_features, got {in_features} and "
                f"{out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.has_bias = bias
        self.dtype = np.dtype(dtype)
        self._init_parameters(rng, lazy)

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def _draw(self, rng: np.random.Generator) -> Params:
        std = math.sqrt(2.0 / self.in_features)
        shape = (self.in_features, self.out_features)
        out = {"weight": (rng.standard_normal(shape) * std).astype(self.dtype)}
        if self.has_bias:
            out["bias"] = np.zeros(self.out_features, dtype=self.dtype)
        return out

    def parameter_shapes(self) -> dict[str, Shape]:
        out: dict[str, Shape] = {"weight": (self.in_features, self.out_features)}
        if self.has_bias:
            out["bias"] = (self.out_features,)
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

    def output_shape(self, shape: Shape) -> Shape:
        if not shape or shape[-1] != self.in_features:
            hint = " (flatten the feature map first)" if len(shape) > 1 else ""
            raise InputError(
                f"{self!r} expects inputs whose last dimension is {self.in_features}, got "
                f"per-sample shape {shape}{hint}"
            )
        return (*shape[:-1], self.out_features)

    def flops(self, shape: Shape) -> int:
        self.output_shape(shape)
        return 2 * self.in_features * self.out_features * numel(shape[:-1])


class ReLU(Module):
    """``max(x, 0)``; its backward pass lets gradient through where the input was positive.

    0 FLOP: a comparison, not arithmetic (its cost is the memory traffic).
    """

    def __repr__(self) -> str:
        return "ReLU()"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        mask = x > 0
        return x * mask, mask

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        return grad_y * cache, {}

    def output_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def flops(self, shape: Shape) -> int:
        return 0


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_FLOPS = 9
"""Arithmetic per element of the tanh form: x³ (2), ·0.044715, +x, ·c, tanh (1), 1+t, 0.5·x, ·."""


class GELU(Module):
    """The tanh approximation of GELU used by GPT-2 and Megatron-LM.

    ``0.5·x·(1 + tanh(c·(x + 0.044715·x³)))`` with ``c = sqrt(2/π)`` (Hendrycks & Gimpel,
    "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415, §2). 9 FLOP per element, the tanh
    counted as one.
    """

    def __repr__(self) -> str:
        return "GELU()"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
        return 0.5 * x * (1.0 + t), (x, t)

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        x, t = cache
        dt = (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)
        return grad_y * (0.5 * (1.0 + t) + 0.5 * x * dt), {}

    def output_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def flops(self, shape: Shape) -> int:
        return _GELU_FLOPS * numel(shape)


class Flatten(Module):
    """``(batch, *rest) -> (batch, prod(rest))``: a feature map into a Linear layer's input.

    A reshape (a view in numpy): 0 FLOP and no memory traffic.
    """

    def __repr__(self) -> str:
        return "Flatten()"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        return x.reshape(x.shape[0], -1), x.shape

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        return grad_y.reshape(cache), {}

    def output_shape(self, shape: Shape) -> Shape:
        return (numel(shape),)

    def flops(self, shape: Shape) -> int:
        return 0

    def traffic(self, shape: Shape) -> int:
        return 0


class Dropout(Module):
    """Inverted dropout (Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from
    Overfitting", JMLR 15, 2014; the inverted scaling of PyTorch's ``nn.Dropout``).

    In training mode each element is zeroed with probability ``p`` and the survivors are scaled
    by ``1 / (1 - p)``, so the expected output equals the input and inference needs no
    rescaling. In inference mode (``model.eval()``) it is the identity: 0 FLOP, no traffic.
    Masks are drawn from ``rng`` (default ``default_rng(0)``).
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        if not 0 <= p < 1:
            raise InputError(f"Dropout probability p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        if not self.training or self.p == 0:
            return x, None
        keep = self.rng.random(x.shape) >= self.p
        mask = keep.astype(x.dtype) / np.asarray(1.0 - self.p, dtype=x.dtype)
        return x * mask, mask

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        return (grad_y if cache is None else grad_y * cache), {}

    def output_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def flops(self, shape: Shape) -> int:
        return 0

    def traffic(self, shape: Shape) -> int:
        return 0


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

    def __repr__(self) -> str:
        return f"Sequential({len(self.layers)} layers)"

    def _names(self) -> list[str]:
        return [f"{self.offset + i}." for i in range(len(self.layers))]

    def named_children(self) -> list[tuple[str, Module]]:
        return [(p[:-1], layer) for p, layer in zip(self._names(), self.layers, strict=True)]

    def parameters(self) -> Params:
        out: Params = {}
        for prefix, layer in zip(self._names(), self.layers, strict=True):
            for name, value in layer.parameters().items():
                out[prefix + name] = value
        return out

    def parameter_shapes(self) -> dict[str, Shape]:
        out: dict[str, Shape] = {}
        for prefix, layer in zip(self._names(), self.layers, strict=True):
            for name, shape in layer.parameter_shapes().items():
                out[prefix + name] = shape
        return out

    def _layer_params(self, params: Params | None) -> list[Params | None]:
        if params is None:
            return [None] * len(self.layers)
        out: list[Params | None] = []
        for prefix, layer in zip(self._names(), self.layers, strict=True):
            names = layer.parameter_shapes()
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

    def output_shape(self, shape: Shape) -> Shape:
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return tuple(shape)

    def flops(self, shape: Shape) -> int:
        total = 0
        for layer in self.layers:
            total += layer.flops(shape)
            shape = layer.output_shape(shape)
        return total

    def traffic(self, shape: Shape) -> int:
        total = 0
        for layer in self.layers:
            total += layer.traffic(shape)
            shape = layer.output_shape(shape)
        return total

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
