"""HeteroFL: clients train width-sliced sub-models of one global model.

Diao, Ding & Tarokh, "HeteroFL: Computation and Communication Efficient Federated Learning for
Heterogeneous Clients", ICLR 2021, §3.1 (the lecture notes' HeteroFL slide: "each edge device
will be assigned with part of the neural network to perform local training based on its
computational complexity"):

* **Sub-models.** A client of width rate ``r`` trains the model made of the first ``⌈r·C⌉``
  hidden units (or convolution channels) of every hidden layer; the input keeps its features
  and the output layer its classes (the paper's "shrinking ratio" applied to the hidden
  channels only). A weight matrix ``W_l`` of the global model is therefore cut to its top-left
  block ``W_l[:⌈r·d_{l-1}⌉, :⌈r·d_l⌉]`` (with the input and output dimensions unscaled), so the
  sub-models are nested: the rate-1/4 model is a corner of the rate-1/2 one. The paper's levels
  are ``r = 1, 1/2, 1/4, 1/8, 1/16`` (its model complexity levels a to e, :data:`LEVELS`).
  Hidden-to-hidden weights scale with ``r²``, the first and last layers with ``r``, so the
  sub-model's parameters, FLOPs and upload are "about r²" of the full model's, which
  :func:`~clustersim.federated.costs.heterofl_parameters` counts exactly.
* **Aggregation** (§3.1, "each parameter is averaged over the clients that hold it"): every
  element of the global model becomes the (rule-weighted) mean of the local values of the
  clients whose sub-model contains it, and keeps its value where no client holds it
  (:func:`clustersim.federated.aggregation.per_element`). With every client at rate 1 this is
  FedAvg's rule: the check ``heterofl_all_full_equals_fedavg`` holds it to exact equality.
* **Rates** come from the scenario (per client) or from device capability
  (:func:`assign_rates`): the largest level whose local training fits the client's compute
  budget on its device (roofline time of the sub-model's work: the preset's ``peak_flops`` and
  memory bandwidth, with its efficiency and slowdown) and whose training footprint fits its
  memory (the preset's ``memory``).

Not modelled: the paper's static batch normalisation (the models here have no batch norm) and
its "scaler" module (which rescales a sub-model's hidden outputs by ``1/r`` during training);
the sub-models train as plain slices. Its masking trick for non-IID data (a client's loss over
the classes it holds only; from memory of the authors' code, ``label_split``, not re-checked)
is the option ``masked``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.federated.kernels import Layout, ParamLayout
from clustersim.federated.models import FederatedModel, build_model

__all__ = [
    "LEVELS",
    "SubModel",
    "WidthPlan",
    "assign_rates",
    "param_shapes",
    "scaled_width",
    "sub_index",
    "sub_models",
]

LEVELS = (1.0, 0.5, 0.25, 0.125, 0.0625)
"""HeteroFL's width rates, its model complexity levels a-e (Diao et al. 2021, the experiments'
shrinkage ratios 1, 1/2, 1/4, 1/8, 1/16, as the issue lists them; the section number could not
be re-checked)."""


def scaled_width(width: int, rate: float) -> int:
    """``⌈rate · width⌉``, at least 1 (the product is rounded to 9 digits first so that a rate
    like 0.1 times 30 does not become 4)."""
    return max(1, math.ceil(round(rate * width, 9)))


def param_shapes(layout: Layout) -> list[tuple[str, tuple[int, ...]]]:
    """Every named parameter's shape in the layout's flat order."""
    if isinstance(layout, ParamLayout):
        return [(n, tuple(s)) for n, s in layout.shapes]
    out: list[tuple[str, tuple[int, ...]]] = []
    for i, (a, b) in enumerate(zip(layout.sizes[:-1], layout.sizes[1:], strict=True)):
        out += [(f"{2 * i}.weight", (a, b)), (f"{2 * i}.bias", (b,))]
    return out


def sub_index(full: Layout, sub: Layout) -> np.ndarray:
    """For each element of the sub-model's flat vector, its position in the full model's.

    Every parameter of ``sub`` must be a leading block (a prefix along every axis) of the
    parameter of the same name in ``full``; that is what slicing the first ``⌈r·C⌉`` units of
    every layer gives (a flattened convolution output is channel-major, so its first channels
    are a prefix of the classifier's input rows too).
    """
    whole = dict(param_shapes(full))
    offsets, start = {}, 0
    for name, shape in param_shapes(full):
        offsets[name] = start
        start += math.prod(shape)
    parts = []
    for name, shape in param_shapes(sub):
        big = whole.get(name)
        if (
            big is None
            or len(big) != len(shape)
            or any(s > b for s, b in zip(shape, big, strict=True))
        ):
            raise ValueError(f"sub-model parameter {name} {shape} is not a block of {big}")
        grid = np.indices(shape).reshape(len(shape), -1)
        parts.append(offsets[name] + np.ravel_multi_index(tuple(grid), big))
    return np.concatenate(parts).astype(np.int64)


@dataclass(frozen=True)
class SubModel:
    """The sub-model of one width rate: its model, and where its parameters sit in the global
    flat vector (``index``, in the sub-model's flat order)."""

    rate: float
    model: FederatedModel
    index: np.ndarray

    @property
    def parameters(self) -> int:
        return int(self.index.size)


def _scaled_spec(spec: Any, rate: float) -> Any:
    """The model spec with every hidden width and channel count cut to ``⌈rate · C⌉``."""
    return spec.model_copy(
        update={
            "hidden": [scaled_width(h, rate) for h in spec.hidden],
            "channels": [scaled_width(c, rate) for c in spec.channels],
        }
    )


def sub_models(
    spec: Any, input_shape: Sequence[int], classes: int, rates: Sequence[float], full: Layout
) -> dict[float, SubModel]:
    """The sub-model of every distinct rate of ``rates`` (``full``: the global model's layout)."""
    out = {}
    for rate in sorted(set(float(r) for r in rates), reverse=True):
        model = build_model(
            _scaled_spec(spec, rate), input_shape, classes, np.random.default_rng(0)
        )
        out[rate] = SubModel(rate, model, sub_index(full, model.layout))
    return out


@dataclass(frozen=True)
class WidthPlan:
    """A HeteroFL run's widths: each client's rate, the sub-model of every rate in use, and the
    levels evaluated at the end (``width_accuracy``)."""

    rates: np.ndarray
    models: dict[float, SubModel]
    evaluated: tuple[float, ...]

    def of(self, client: int) -> SubModel:
        return self.models[float(self.rates[client])]


def assign_rates(
    times: np.ndarray,
    memory_needed: np.ndarray,
    memory: np.ndarray,
    levels: Sequence[float],
    budget: float,
) -> np.ndarray:
    """Each client's width rate from its capability.

    ``times[k, j]`` is client ``k``'s local-training time per round at ``levels[j]`` (its device
    roofline on that sub-model's work), ``memory_needed[j]`` the training footprint of level
    ``j`` and ``memory[k]`` what client ``k`` may use. A client gets the largest level that fits
    both its budget and its memory; one that fits no level's time gets the smallest level that
    fits its memory (it will be the round's straggler); -1 marks a client whose memory holds
    no level at all (the caller reports it).
    """
    order = np.argsort(-np.asarray(levels, dtype=float), kind="stable")
    lv = np.asarray(levels, dtype=float)[order]
    t, need = np.asarray(times, dtype=float)[:, order], np.asarray(memory_needed)[order]
    fits_memory = need[None, :] <= np.asarray(memory, dtype=float)[:, None]
    fits = fits_memory & (t <= budget * (1 + 1e-9))
    out = np.full(t.shape[0], -1.0)
    for k in range(t.shape[0]):
        ok = np.flatnonzero(fits[k])
        if ok.size:
            out[k] = lv[ok[0]]
        elif fits_memory[k].any():
            out[k] = lv[np.flatnonzero(fits_memory[k])[-1]]
    return out
