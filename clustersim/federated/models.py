"""The models clients train, built from ``clustersim.nn``, and what a local step costs.

* ``logistic``: multinomial logistic regression, ``mlp([features, classes])`` (FedProx's
  ``mclr``);
* ``mlp``: ``mlp([features, *hidden, classes])`` with ReLUs (McMahan et al.'s "2NN" is
  ``hidden: [200, 200]``);
* ``cnn``: :func:`clustersim.nn.small_cnn` on image data (``(C, H, W)`` inputs): blocks of
  3x3 convolution, ReLU and 2x2 max-pooling, then the classifier.

Dense models (the first two) train a round's clients in lock step
(:func:`~clustersim.federated.kernels.local_sgd`); the CNN trains client by client through
``nn`` (:func:`~clustersim.federated.kernels.local_sgd_nn`). Either way a step's cost comes
from the model's own layer profile (:func:`clustersim.nn.profile`): forward FLOPs and memory
traffic per sample, the backward pass twice the forward (its two matrix products per layer),
and the update (:func:`clustersim.federated.costs.local_work`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.federated.kernels import (
    DenseStack,
    Layout,
    ParamLayout,
    Regulariser,
    evaluate,
    full_gradient,
    local_sgd,
    local_sgd_nn,
)
from clustersim.nn import LayerCost, Sequential, profile, small_cnn

__all__ = ["FederatedModel", "build_model"]


@dataclass(frozen=True)
class FederatedModel:
    """A model of the run: its ``nn`` definition (holding the initial weights), the flat
    layout of its parameters, and the shape of one input sample."""

    name: str
    network: Sequential
    layout: Layout
    input_shape: tuple[int, ...]

    @property
    def parameters(self) -> int:
        return self.layout.size

    def initial(self) -> np.ndarray:
        """The initial weights as a flat vector."""
        return self.layout.flatten(self.network.parameters())

    def train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        start: np.ndarray,
        batches: Sequence[np.ndarray],
        lr: float,
        regulariser: Regulariser | None = None,
        class_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Local SGD of every client from ``start``: the (clients, P) weights (``class_mask``:
        each client's loss over the classes it holds only)."""
        if isinstance(self.layout, DenseStack):
            return local_sgd(self.layout, x, y, start, batches, lr, regulariser, class_mask)
        return local_sgd_nn(
            self.network, self.layout, x, y, start, batches, lr, regulariser, self.input_shape,
            class_mask,
        )  # fmt: skip

    def gradient(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return full_gradient(self.network, self.layout, w, x, y, self.input_shape)

    def evaluate(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return evaluate(self.network, self.layout, w, x, y, self.input_shape)

    def sample_losses(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each sample's cross-entropy under the weights ``w`` (nn's forward)."""
        logits = self.network.forward(x.reshape(-1, *self.input_shape), self.layout.params(w))[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1))
        return log_z - shifted[np.arange(y.size), y]

    def costs(self, dtype: Any) -> list[LayerCost]:
        """The per-sample layer profile at ``dtype`` (the wire and compute dtype)."""
        return profile(self.network, self.input_shape, dtype)


def build_model(
    spec: Any, input_shape: Sequence[int], classes: int, rng: np.random.Generator
) -> FederatedModel:
    """The model ``spec`` (:class:`~clustersim.federated.params.ModelParams`) describes, its
    weights He-initialised from ``rng``."""
    shape = tuple(int(n) for n in input_shape)
    if spec.name == "cnn":
        network = small_cnn(
            shape,
            classes,
            channels=spec.channels,
            kernel_size=spec.kernel_size,
            hidden=spec.hidden[0] if spec.hidden else None,
            rng=rng,
            dtype=np.float64,
        )
        return FederatedModel(spec.name, network, ParamLayout.of(network), shape)
    features = int(np.prod(shape))
    stack = DenseStack((features, *spec.hidden, classes))
    return FederatedModel(spec.name, stack.model(rng), stack, (features,))
