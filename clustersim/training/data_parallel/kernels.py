"""Data-parallel SGD on real numpy replicas: gradients, the exchanged sums, updates, the check.

Pure numpy (the kernel view of docs/architecture.md §1). :class:`DataParallelTrainer` holds one
replica of an MLP per worker; the SimPy processes of
:mod:`~clustersim.training.data_parallel.process` call it in step with the simulated run:

1. :meth:`~DataParallelTrainer.local_gradients`: each worker's gradient contribution
   ``(1/(N·b)) Σ ∇loss`` over its ``b`` samples (the lecture notes' Algorithm 1 normalisation),
   so that the *sum* over workers is the gradient of the mean loss over the global batch;
   encoded by the codec when the run compresses
   (:mod:`~clustersim.training.data_parallel.codecs`);
2. the exchange: :meth:`~DataParallelTrainer.buffers` hands a bucket's gradients to the
   all-reduce (or the parameter server's aggregation) and :meth:`~DataParallelTrainer.receive`
   takes each worker's sum back; compressed runs go through the codec instead;
3. :meth:`~DataParallelTrainer.apply`: every replica takes its momentum-SGD step with what it
   received. With ``reference`` one more model trains on the concatenated global batch with the
   same learning rate, and the check ``data_parallel_equals_single_worker`` compares its weights
   with every replica's after every step.

:class:`GradientLayout` says where each gradient element lives (the parameters, the layers they
form, the buckets), for the trainer and the codecs alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from clustersim.kinds.contract import check
from clustersim.nn import SGD, Sequential, softmax_cross_entropy

if TYPE_CHECKING:
    from clustersim.training.datasets import Dataset, GlobalBatchSampler

__all__ = ["DataParallelTrainer", "GradientCodec", "GradientLayout", "Grads"]

Grads = dict[str, np.ndarray]
"""Arrays by parameter name: gradients, weights, or what a worker received."""


@dataclass
class GradientLayout:
    """The model's parameters, grouped into layers and the layers into gradient buckets.

    Attributes:
        shapes: every parameter's shape, in the model's order.
        layers: per layer, the names of its parameters (a Linear's weight and bias).
        bucket_layers: per bucket, its layers in backward order.
        sizes: elements of every parameter.
        layer_sizes: elements of every layer (its parameters together).
    """

    shapes: dict[str, tuple[int, ...]]
    layers: dict[str, list[str]]
    bucket_layers: list[list[str]]
    sizes: dict[str, int] = field(init=False)
    layer_sizes: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.sizes = {n: math.prod(s) for n, s in self.shapes.items()}
        self.layer_sizes = {
            name: sum(self.sizes[n] for n in members) for name, members in self.layers.items()
        }

    def bucket_names(self, b: int) -> list[str]:
        """The parameter names of bucket ``b``, layer by layer."""
        return [n for layer in self.bucket_layers[b] for n in self.layers[layer]]

    def flatten(self, grads: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
        """The named arrays of ``grads`` as one flat vector, in ``names`` order."""
        return np.concatenate([grads[n].ravel() for n in names])

    def unflatten(self, names: list[str], flat: np.ndarray) -> Grads:
        """Invert :meth:`flatten`: the named parameters' arrays, reshaped."""
        out, start = {}, 0
        for n in names:
            out[n] = flat[start : start + self.sizes[n]].reshape(self.shapes[n])
            start += self.sizes[n]
        return out


class GradientCodec(Protocol):
    """A compression method's per-run state: what :class:`DataParallelTrainer` asks of it."""

    payloads: list[list[np.ndarray]]
    """``[worker][bucket]``: the encoded bytes each worker sends this iteration."""

    def encode(self, k: int, grads: list[Grads]) -> None:
        """Encode every worker's gradients of iteration ``k`` into :attr:`payloads`."""

    def decode_sum(self, b: int, payloads: list[np.ndarray]) -> Grads:
        """Decode every worker's payload of bucket ``b`` and add them up (an all-gather)."""

    def aggregate(self, b: int, payloads: list[np.ndarray]) -> np.ndarray:
        """The servers' side: decode the pushed payloads, sum them, encode the sum."""

    def decode_aggregate(self, b: int, pulled: np.ndarray) -> Grads:
        """Decode the aggregate a worker pulled."""

    def checks(self, steps: int) -> dict[str, dict[str, Any]]:
        """The method's own check records after ``steps`` iterations."""


class DataParallelTrainer:
    """The numpy side of a run: replicas, data, gradients, updates, and the checks."""

    def __init__(
        self,
        dataset: Dataset,
        sampler: GlobalBatchSampler,
        model: Sequential,
        layout: GradientLayout,
        *,
        lr: float,
        momentum: float,
        verify: bool,
        codec: GradientCodec | None = None,
    ) -> None:
        """One replica per worker of the sampler. ``momentum`` is the optimizer's (0 when a
        codec carries the velocity, as DGC's momentum correction does); ``verify`` turns on the
        checks, and for a dense run the single-worker reference."""
        self.dataset = dataset
        self.sampler = sampler
        self.model = model
        self.layout = layout
        self.workers = workers = sampler.workers
        self.verify = verify
        self.codec = codec
        self.global_batch = sampler.global_batch
        initial = model.parameters()
        self.replicas = [{k: v.copy() for k, v in initial.items()} for _ in range(workers)]
        self.optimizers = [SGD(r, lr, momentum) for r in self.replicas]
        self.reference: Grads | None = None
        self.reference_opt: SGD | None = None
        if verify and codec is None:
            self.reference = {k: v.copy() for k, v in initial.items()}
            self.reference_opt = SGD(self.reference, lr, momentum)
        self.max_abs_err = 0.0
        self.max_weight = 0.0
        self.delivered = True
        self.losses: list[float] = []
        self.accuracy_points: list[tuple[int, float]] = []
        self.grads: list[Grads] = []
        self.received: list[Grads] = [{} for _ in range(workers)]
        self._batch: np.ndarray | None = None

    # gradients ------------------------------------------------------------------------
    def _loss_grad(self, weights: Grads, idx: np.ndarray) -> tuple[float, Grads]:
        x = self.dataset.x_train[idx]
        y = self.dataset.y_train[idx]
        logits, cache = self.model.forward(x, weights)
        loss, grad = softmax_cross_entropy(logits, y, normalizer=self.global_batch)
        _, grads = self.model.backward(grad, cache, weights)
        return loss, grads

    def local_gradients(self, k: int) -> None:
        """Every worker's gradient contribution ``(1/(N·b)) Σ ∇loss`` on its batch of iteration
        ``k``, encoded when the run compresses."""
        batch = self.sampler.batch(k)
        self._batch = batch
        self.grads = []
        total = 0.0
        for w in range(self.workers):
            loss, grads = self._loss_grad(self.replicas[w], batch[w])
            self.grads.append(grads)
            total += loss
        self.losses.append(total)
        self.received = [{} for _ in range(self.workers)]
        if self.codec is not None:
            self.codec.encode(k, self.grads)

    # dense exchange -------------------------------------------------------------------
    def buffers(self, names: list[str]) -> np.ndarray:
        """(workers, elements) gradients of the named parameters, one row per worker."""
        return np.stack([self.layout.flatten(g, names) for g in self.grads])

    def receive(self, w: int, names: list[str], flat: np.ndarray) -> None:
        """Worker ``w`` receives the summed gradients of the named parameters."""
        self.received[w].update(self.layout.unflatten(names, flat))

    # compressed exchange --------------------------------------------------------------
    def payloads(self, b: int) -> list[np.ndarray]:
        """Every worker's encoded payload of bucket ``b`` this iteration."""
        assert self.codec is not None
        return [self.codec.payloads[w][b] for w in range(self.workers)]

    def record_delivery(self, exact: bool) -> None:
        """Note whether an exchange delivered every payload byte-for-byte."""
        self.delivered &= exact

    def receive_gathered(self, b: int, payloads: list[np.ndarray]) -> None:
        """Every worker decodes every gathered payload and adds them up."""
        assert self.codec is not None
        total = self.codec.decode_sum(b, payloads)
        for w in range(self.workers):
            self.received[w].update(total)

    def server_aggregate(self, b: int, payloads: list[np.ndarray]) -> np.ndarray:
        """The servers decode the pushed payloads, add them, and encode the sum for the pull."""
        assert self.codec is not None
        return self.codec.aggregate(b, payloads)

    def receive_pulled(self, b: int, pulled: np.ndarray) -> None:
        """Every worker decodes the aggregate it pulled."""
        assert self.codec is not None
        out = self.codec.decode_aggregate(b, pulled)
        for w in range(self.workers):
            self.received[w].update(out)

    # update ---------------------------------------------------------------------------
    def apply(self, lr: float) -> None:
        """Every replica applies what it received; the reference takes its own step."""
        for w in range(self.workers):
            self.optimizers[w].lr = lr
            self.optimizers[w].step(self.received[w])
        if self.reference is not None and self.reference_opt is not None:
            assert self._batch is not None
            _, grads = self._loss_grad(self.reference, self._batch.ravel())
            self.reference_opt.lr = lr
            self.reference_opt.step(grads)
            for replica in self.replicas:
                for name, ref in self.reference.items():
                    err = float(np.abs(replica[name] - ref).max())
                    self.max_abs_err = max(self.max_abs_err, err)
                    self.max_weight = max(self.max_weight, float(np.abs(ref).max()))

    # evaluation and checks ------------------------------------------------------------
    def evaluate(self, k: int) -> None:
        """Record worker 0's test accuracy after ``k`` iterations."""
        self.accuracy_points.append((k, self.accuracy(self.replicas[0])))

    def accuracy(self, weights: Grads) -> float:
        """Fraction of the test set the weights classify correctly."""
        logits = self.model.forward(self.dataset.x_test, weights)[0]
        return float(np.mean(np.argmax(logits, axis=1) == self.dataset.y_test))

    def train_loss(self, weights: Grads) -> float:
        """Mean cross-entropy of the weights on the whole training set."""
        logits = self.model.forward(self.dataset.x_train, weights)[0]
        return softmax_cross_entropy(logits, self.dataset.y_train)[0]

    def checks(self, steps: int) -> dict[str, dict[str, Any]]:
        """The check records after ``steps`` iterations (none without ``verify``)."""
        if not self.verify:
            return {}
        if self.codec is not None:
            exact = check(self.delivered, steps=steps, workers=self.workers)
            return {"compressed_exchange_exact": exact, **self.codec.checks(steps)}
        # Tolerance: the all-reduce sums N terms in another order than the single worker's
        # matrix product, a few units in the last place per step that training can amplify;
        # 1e-9·max(1, max|w|) is far above that and far below any real difference (a dropped
        # or doubled worker changes the weights by about lr·|g|).
        tolerance = 1e-9 * max(1.0, self.max_weight)
        return {
            "data_parallel_equals_single_worker": check(
                self.max_abs_err <= tolerance,
                max_abs_err=self.max_abs_err,
                tolerance=tolerance,
                steps=steps,
                workers=self.workers,
            )
        }
