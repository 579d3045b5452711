"""The numpy side of a federated run: the clients' data, the global model, rounds, checks.

Pure numpy, like the kernels (docs/architecture.md §1); the SimPy processes of
:mod:`clustersim.federated.process` call a :class:`FederatedTrainer` in step with the simulated
rounds: :meth:`~FederatedTrainer.train_round` when the server has chosen the round's clients
(every client's local training, from the model the server sends), then
:meth:`~FederatedTrainer.aggregate` with the updates that reached the server in time, in
arrival order, and :meth:`~FederatedTrainer.evaluate`.

:func:`client_data` draws the data set, partitions it (:mod:`clustersim.federated.partition`)
and adds Zhao et al.'s shared data; the partition's client sizes are the ones
:func:`client_sizes` predicts without drawing any data, which is what a timing-only run charges.

Checks (each fails on a NaN or an infinity in its details):

* ``partition_complete``: every training sample lands on exactly one client.
* ``aggregate_is_weighted_mean``: every round's new model equals ``np.average`` of the reported
  models ``w + Δ_k`` with the rule's weights (``n_k`` from the partition for ``weighted``, 1
  for ``mean``), computed apart from the rule's arrival-order accumulation of deltas.
* ``fedavg_equals_sgd``: with one local full-batch gradient step per round and every client
  reporting, FedAvg's aggregate ``Σ_k (n_k/n)(w - η∇F_k(w))`` is one gradient step
  ``w - η∇F(w)`` on the union of the clients' data (McMahan et al. 2017, §2: FedSGD). A run in
  that regime is compared with a centralised shadow every round (``mode: run``); any other run
  replays three such rounds on its own partition from its initial model (``mode: replay``).
  The centralised gradient comes from ``clustersim.nn``'s backward pass, the clients' (for the
  dense models) from :func:`~clustersim.federated.kernels.local_sgd`: two implementations.
* ``fedprox_mu0_equals_fedavg``: the first round's local training of the chosen clients with
  the proximal objective at ``μ = 0`` equals FedAvg's plain objective on the same minibatches,
  and (the negative control) differs with ``μ > 0``.
* ``heterofl_all_full_equals_fedavg`` (HeteroFL runs): the first round's clients, trained and
  aggregated through HeteroFL's path (sub-model slicing, per-element averaging) with every
  client at rate 1, give exactly (bit for bit) FedAvg's new model from the same minibatches
  and the same local loss (with ``masked``, FedAvg's clients mask their absent classes too:
  the check is about the slicing and the aggregation); the negative control, one of them at
  rate 1/2, must differ.
* ``cmfl_threshold0_equals_fedavg`` (CMFL runs): in the first round that has a global update
  to compare with, the updates filtered at threshold 0 aggregate exactly to FedAvg's model of
  all of them, and (the negative control) at threshold 1 they do not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.datasets import SyntheticImages
from clustersim.federated import cmfl, datasets, partition
from clustersim.federated.aggregation import AGGREGATORS, ClientUpdate, weighted
from clustersim.federated.datasets import FederatedData
from clustersim.federated.heterofl import WidthPlan
from clustersim.federated.kernels import OBJECTIVES, client_batches, proximal
from clustersim.federated.models import FederatedModel
from clustersim.kinds.contract import check

__all__ = [
    "ClientData",
    "FederatedTrainer",
    "TrainingSetup",
    "client_data",
    "client_sizes",
    "pooled",
]

Rng = Callable[[str], np.random.Generator]
"""A named random stream (``Simulation.rng``)."""

_REPLAY_ROUNDS = 3


@dataclass(frozen=True)
class TrainingSetup:
    """What local training and aggregation need from the workload.

    Attributes:
        lr: local learning rate η.
        batch: local minibatch B (None: full batch).
        epochs: local epochs E.
        objective: a name of :data:`~clustersim.federated.kernels.OBJECTIVES`.
        mu: the proximal coefficient.
        aggregation: the rule's name (:data:`~clustersim.federated.aggregation.AGGREGATORS`).
        verify: run the checks.
        shadow: the run is in FedSGD's regime (compare with centralised GD every round).
        centralized: train centralised SGD alongside for the weight divergence.
        warmup_epochs: SGD epochs on the shared data before round 1.
        widths: HeteroFL's rates and sub-models (None: every client trains the whole model).
        threshold: CMFL's relevance threshold ``(start, end)`` (None: every update is sent).
        rounds: rounds of the run (for CMFL's threshold schedule).
        masked: HeteroFL's masking trick: each client's loss covers only its own classes.
    """

    lr: float
    batch: int | None
    epochs: int
    objective: str = "cross_entropy"
    mu: float = 0.0
    aggregation: str = "weighted"
    verify: bool = True
    shadow: bool = False
    centralized: bool = False
    warmup_epochs: int = 0
    widths: WidthPlan | None = None
    threshold: tuple[float, float | None] | None = None
    rounds: int = 1
    masked: bool = False


# ---------------------------------------------------------------------------------- data
def client_sizes(
    dataset: Any, partition_params: Any, sharing: Any, clients: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(own samples, total samples incl. shared data) per client, without drawing any data.

    ``rng`` is the ``federated.sizes`` stream; the synthetic data set draws its device sizes
    from it, quantity skew its Dirichlet shares.
    """
    kind = partition_params.kind
    if dataset.name == "synthetic":
        own = datasets.synthetic_train_sizes(datasets.synthetic_counts(rng, clients))
    elif kind == "quantity":
        own = partition.quantity_sizes(dataset.samples, clients, partition_params.beta, rng)
    elif kind in ("shards", "classes"):
        per = partition_params.shards_per_client
        if kind == "classes":
            per = partition_params.classes_per_client
        own = np.full(clients, dataset.samples // (clients * per) * per, dtype=np.int64)
    else:
        own = partition.iid_sizes(dataset.samples, clients)
    total = own.copy()
    if sharing is not None:
        total += shared_per_client(dataset.samples, sharing)
    return own, total


def shared_size(samples: int, sharing: Any) -> int:
    """|G| = round(β · |D|)."""
    return max(round(sharing.fraction * samples), 1)


def shared_per_client(samples: int, sharing: Any) -> int:
    """Samples of G each client receives: round(α · |G|)."""
    return round(sharing.per_client * shared_size(samples, sharing))


@dataclass(frozen=True)
class ClientData:
    """A run's data: the pooled arrays (D, then the shared G), and each client's indices.

    Attributes:
        data: ``x_train`` holds D (``own_samples`` rows) then G.
        own: each client's indices into D (the partition).
        parts: each client's training indices: its own, then its share of G.
        own_samples: |D|.
    """

    data: FederatedData
    own: list[np.ndarray]
    parts: list[np.ndarray]
    own_samples: int

    @property
    def shared(self) -> np.ndarray:
        """Indices of G in the pooled arrays."""
        return np.arange(self.own_samples, self.data.y_train.size)


def pooled(dataset: Any, rng: Rng, splits: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pooled generator's sets of the given sizes (train, test, shared), all from one
    distribution, inputs flattened to rows (a CNN reshapes them to (C, H, W))."""
    if dataset.name == "strokes":
        task = SyntheticImages(
            rng("federated.data"), classes=dataset.classes, size=dataset.size,
            channels=dataset.channels,
        )  # fmt: skip
        out = []
        features = int(np.prod(dataset.input_shape))
        for i, n in enumerate(splits):
            if n == 0:
                out.append((np.zeros((0, features)), np.zeros(0, dtype=np.int64)))
                continue
            images = task.sample(n, rng(f"federated.data.{i}"), dataset.difficulty)
            out.append((images.x.reshape(n, -1).astype(np.float64), images.y))
        return out
    if dataset.name == "images":
        sets = datasets.images(
            rng("federated.data"),
            splits,
            classes=dataset.classes,
            side=dataset.side,
            shift=dataset.shift,
            noise=dataset.noise,
        )
        return sets
    return datasets.blobs(
        rng("federated.data"),
        splits,
        classes=dataset.classes,
        features=dataset.features,
        separation=dataset.separation,
    )


def client_data(
    dataset: Any, partition_params: Any, sharing: Any, own_sizes: np.ndarray, rng: Rng
) -> ClientData:
    """Draw the data set, split it over ``own_sizes.size`` clients, add the shared data."""
    clients = own_sizes.size
    if dataset.name == "synthetic":
        counts = datasets.synthetic_counts(rng("federated.sizes"), clients)
        data = datasets.fedprox_synthetic(
            rng("federated.data"), counts, dataset.alpha, dataset.beta, iid=dataset.iid
        )
        assert data.natural is not None
        return ClientData(data, data.natural, data.natural, int(data.y_train.size))
    extra = shared_size(dataset.samples, sharing) if sharing is not None else 0
    (x, y), (x_test, y_test), (x_shared, y_shared) = pooled(
        dataset, rng, [dataset.samples, dataset.test_samples, extra]
    )
    data = FederatedData(
        np.concatenate([x, x_shared]),
        np.concatenate([y, y_shared]),
        x_test,
        y_test,
        dataset.classes,
    )
    part_rng = rng("federated.partition")
    kind = partition_params.kind
    if kind in ("iid", "quantity"):
        own = partition.iid(part_rng, dataset.samples, own_sizes)
    elif kind == "shards":
        own = partition.shards(
            part_rng,
            y,
            clients,
            partition_params.shards_per_client,
            partition_params.shards,
        )
    elif kind == "classes":
        own = partition.shards(
            part_rng, y, clients, partition_params.classes_per_client, distinct=True
        )
    else:
        own = partition.dirichlet(part_rng, y, clients, partition_params.alpha)
    parts = own
    if extra:
        share = shared_per_client(dataset.samples, sharing)
        pick = rng("federated.shared.deal")
        parts = [
            np.concatenate([p, dataset.samples + np.sort(pick.choice(extra, share, replace=False))])
            for p in own
        ]
    return ClientData(data, own, parts, dataset.samples)


# ------------------------------------------------------------------------------- trainer
@dataclass
class _Errors:
    """Largest errors seen by the per-round checks."""

    aggregate: float = 0.0
    aggregate_rounds: int = 0
    aggregate_scale: float = 1.0
    shadow: float = 0.0
    shadow_rounds: int = 0
    shadow_scale: float = 1.0


class FederatedTrainer:
    """The global model and the clients' local training, round by round.

    Args:
        data: the clients' data (:func:`client_data`).
        model: the model (its ``nn`` definition holds the initial weights).
        setup: learning rate, batch, epochs, objective, aggregation rule, checks.
        rng: named random streams (every client's minibatch order in round ``t`` has its own,
            ``federated.batches.{t}.{k}``, so FedAvg and FedProx runs on one seed see the same
            minibatches).
    """

    def __init__(
        self, data: ClientData, model: FederatedModel, setup: TrainingSetup, rng: Rng
    ) -> None:
        self.data = data
        self.model = model
        self.setup = setup
        self.rng = rng
        self.x, self.y = data.data.x_train, data.data.y_train
        self.sizes = np.array([p.size for p in data.parts], dtype=np.int64)
        self.regulariser = OBJECTIVES[setup.objective](setup.mu)
        self.rule = AGGREGATORS[setup.aggregation]
        self.w = model.initial()
        if setup.warmup_epochs and data.shared.size:
            self.w = self._sgd(self.w, data.shared, setup.warmup_epochs, "federated.warmup")
        self.initial = self.w.copy()
        self.errors = _Errors()
        self.mu0_record: dict[str, Any] | None = None
        self.width_record: dict[str, Any] | None = None
        self.cmfl_record: dict[str, Any] | None = None
        self.global_update: np.ndarray | None = None
        self.relevances: list[list[float]] = []
        self.class_mask = None
        if setup.masked:
            classes = data.data.classes
            self.class_mask = np.stack(
                [np.bincount(self.y[p], minlength=classes) > 0 for p in data.parts]
            )
        self.union = np.concatenate(data.parts)
        self.shadow = self.w.copy() if setup.shadow else None
        self.central = self.w.copy() if setup.centralized else None
        self._central_order = np.zeros(0, dtype=np.int64)
        self._central_rng = rng("federated.centralized")
        self.pool = np.arange(self.y.size)

    # local training ---------------------------------------------------------------------
    def batches(self, t: int, k: int, epochs: int) -> np.ndarray:
        """Client ``k``'s minibatches in round ``t`` (its first ``epochs`` of ``E``)."""
        part = self.data.parts[k]
        batch = part.size if self.setup.batch is None else self.setup.batch
        full = client_batches(
            self.rng(f"federated.batches.{t}.{k}"), part, self.setup.epochs, batch
        )
        per_epoch = full.shape[0] // self.setup.epochs
        return full[: epochs * per_epoch]

    def train_round(
        self, t: int, clients: Sequence[int], epochs: Sequence[int]
    ) -> dict[int, ClientUpdate]:
        """Every listed client's local training from the current model: its update."""
        if not len(clients):
            if self.setup.threshold is not None:
                self.relevances.append([])
            return {}
        batches = [self.batches(t, k, e) for k, e in zip(clients, epochs, strict=True)]
        widths = self.setup.widths
        if widths is None:
            trained = self.model.train(
                self.x, self.y, self.w, batches, self.setup.lr, self.regulariser,
                self._masks(clients),
            )  # fmt: skip
            deltas = [row - self.w for row in trained]
            index: list[np.ndarray | None] = [None] * len(deltas)
        else:
            rates = [float(widths.rates[k]) for k in clients]
            deltas, index = self._train_widths(rates, batches, list(clients))
        if self.setup.verify and self.mu0_record is None:
            self.mu0_record = self._mu0_check(batches, list(epochs))
        if self.setup.verify and widths is not None and self.width_record is None:
            self.width_record = self._full_width_check(batches, list(clients))
        updates = [
            ClientUpdate(int(k), int(self.sizes[k]), deltas[i], int(e), index[i])
            for i, (k, e) in enumerate(zip(clients, epochs, strict=True))
        ]
        if self.setup.threshold is not None:
            updates = self._relevance(t, updates)
        return {u.client: u for u in updates}

    # HeteroFL ------------------------------------------------------------------------
    def _masks(self, clients: Sequence[int]) -> np.ndarray | None:
        """The class masks of ``clients`` (HeteroFL's masking trick), or None."""
        return None if self.class_mask is None else self.class_mask[np.asarray(clients)]

    def _train_widths(
        self, rates: Sequence[float], batches: Sequence[np.ndarray], clients: Sequence[int]
    ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Every client's local training on its sub-model (the clients of one rate together):
        each update in its sub-model's coordinates, and where those sit in the model."""
        widths = self.setup.widths
        assert widths is not None
        deltas: list[np.ndarray] = [np.zeros(0)] * len(rates)
        index: list[np.ndarray | None] = [None] * len(rates)
        for rate in sorted(set(rates), reverse=True):
            members = [i for i, r in enumerate(rates) if r == rate]
            sub = widths.models[rate]
            start = self.w[sub.index]
            trained = sub.model.train(
                self.x, self.y, start, [batches[i] for i in members], self.setup.lr,
                self.regulariser, self._masks([clients[i] for i in members]),
            )  # fmt: skip
            for row, i in zip(trained, members, strict=True):
                deltas[i], index[i] = row - start, sub.index
        return deltas, index

    def _full_width_check(self, batches: list[np.ndarray], clients: list[int]) -> dict[str, Any]:
        """HeteroFL with every client at rate 1 against FedAvg on the same minibatches, and the
        control with the first client at rate 1/2."""
        widths = self.setup.widths
        assert widths is not None
        sizes = [int(self.sizes[k]) for k in clients]
        plain = self.model.train(
            self.x, self.y, self.w, batches, self.setup.lr, self.regulariser, self._masks(clients)
        )
        fedavg = self.rule(
            self.w,
            [
                ClientUpdate(k, n, row - self.w, 1)
                for k, n, row in zip(clients, sizes, plain, strict=True)
            ],
        )

        def hetero(rates: list[float]) -> np.ndarray:
            deltas, index = self._train_widths(rates, batches, clients)
            updates = [
                ClientUpdate(k, n, d, 1, i)
                for k, n, d, i in zip(clients, sizes, deltas, index, strict=True)
            ]
            return self.rule(self.w, updates)

        full = hetero([1.0] * len(clients))
        control = hetero([0.5] + [1.0] * (len(clients) - 1))
        return {
            "max_abs_diff": float(np.abs(full - fedavg).max()),
            "tolerance": 0.0,
            "control_rate": 0.5,
            "control_diff": float(np.abs(control - fedavg).max()),
            "clients": len(clients),
        }

    def evaluate_widths(self) -> list[float]:
        """Test accuracy of the global model cut to every evaluated width (HeteroFL)."""
        widths = self.setup.widths
        assert widths is not None
        x, y = self.data.data.x_test, self.data.data.y_test
        return [
            widths.models[rate].model.evaluate(self.w[widths.models[rate].index], x, y)[1]
            for rate in widths.evaluated
        ]

    # CMFL -----------------------------------------------------------------------------
    def threshold(self, t: int) -> float:
        """CMFL's threshold in round ``t``."""
        assert self.setup.threshold is not None
        start, end = self.setup.threshold
        return cmfl.threshold_at(t, self.setup.rounds, start, end)

    def _relevance(self, t: int, updates: list[ClientUpdate]) -> list[ClientUpdate]:
        """Each update's relevance to the last global update, and whether it is sent."""
        if self.global_update is None:
            self.relevances.append([])
            return updates
        scores = cmfl.relevance(np.stack([u.delta for u in updates]), self.global_update)
        sent = cmfl.relevant(scores, self.threshold(t))
        self.relevances.append(scores.tolist())
        if self.setup.verify and self.cmfl_record is None:
            every = self.rule(self.w, updates)
            at = {
                level: self.rule(
                    self.w,
                    [
                        u
                        for u, keep in zip(
                            updates, cmfl.relevant(scores, level).tolist(), strict=True
                        )
                        if keep
                    ],
                )
                for level in (0.0, 1.0)
            }
            self.cmfl_record = {
                "max_abs_diff": float(np.abs(at[0.0] - every).max()),
                "tolerance": 0.0,
                "control_threshold": 1.0,
                "control_diff": float(np.abs(at[1.0] - every).max()),
                "round": t + 1,
                "clients": len(updates),
            }
        return [
            ClientUpdate(u.client, u.samples, u.delta, u.epochs, u.index, float(e), bool(keep))
            for u, e, keep in zip(updates, scores.tolist(), sent.tolist(), strict=True)
        ]

    def _mu0_check(self, batches: list[np.ndarray], epochs: list[int]) -> dict[str, Any]:
        """FedProx at μ = 0 against FedAvg on the same minibatches: each client's first two
        epochs (repeated when that is a single step, since the proximal term only acts from
        the second step on)."""
        short = [b[: min(e, 2) * (b.shape[0] // e)] for b, e in zip(batches, epochs, strict=True)]
        short = [np.concatenate([b, b]) if b.shape[0] == 1 else b for b in short]
        lr = self.setup.lr
        train = self.model.train
        plain = train(self.x, self.y, self.w, short, lr, None)
        prox0 = train(self.x, self.y, self.w, short, lr, proximal(0.0))
        mu = self.setup.mu if self.setup.mu > 0 else 1.0
        control = train(self.x, self.y, self.w, short, lr, proximal(mu))
        scale = max(1.0, float(np.abs(plain).max()))
        return {
            "max_abs_diff": float(np.abs(prox0 - plain).max()),
            "control_mu": mu,
            "control_diff": float(np.abs(control - plain).max()),
            "tolerance": 1e-12 * scale,
            "clients": len(batches),
            "steps": int(sum(b.shape[0] for b in short)),
        }

    # aggregation ------------------------------------------------------------------------
    def aggregate(self, updates: Sequence[ClientUpdate]) -> None:
        """The server's rule on the updates that arrived, in arrival order; checks it."""
        new = self.rule(self.w, updates)
        if self.setup.verify and updates:
            omega = (
                self.sizes[[u.client for u in updates]].astype(float)
                if self.setup.aggregation == "weighted"
                else np.ones(len(updates))
            )
            expected = self._expected_mean(updates, omega)
            err = float(np.abs(new - expected).max())
            self.errors.aggregate = max(self.errors.aggregate, err) if np.isfinite(err) else err
            self.errors.aggregate_rounds += 1
            self.errors.aggregate_scale = max(
                self.errors.aggregate_scale, float(np.abs(expected).max())
            )
        if self.setup.threshold is not None and updates:
            self.global_update = new - self.w
        self.w = new
        if self.shadow is not None:
            grad = self.model.gradient(self.shadow, self.x[self.union], self.y[self.union])
            self.shadow = self.shadow - self.setup.lr * grad
            err = float(np.abs(self.w - self.shadow).max())
            self.errors.shadow = max(self.errors.shadow, err) if np.isfinite(err) else err
            self.errors.shadow_rounds += 1
            self.errors.shadow_scale = max(
                self.errors.shadow_scale, float(np.abs(self.shadow).max())
            )

    def _expected_mean(self, updates: Sequence[ClientUpdate], omega: np.ndarray) -> np.ndarray:
        """``np.average`` of the reported models with weights ``omega``; for sub-model updates,
        per element over the models that hold it (a masked average), ``w`` where none does."""
        if all(u.index is None for u in updates):
            models = np.stack([self.w + u.delta for u in updates])
            return np.average(models, axis=0, weights=omega)
        models = np.zeros((len(updates), self.w.size))
        held = np.zeros((len(updates), self.w.size), dtype=bool)
        for row, u in enumerate(updates):
            index = slice(None) if u.index is None else u.index
            models[row, index] = self.w[index] + u.delta
            held[row, index] = True
        weight = np.where(held, omega[:, None], 0.0)
        total = weight.sum(axis=0)
        mean = (weight * models).sum(axis=0) / np.where(total > 0, total, 1.0)
        return np.where(total > 0, mean, self.w)

    # centralised SGD (Zhao et al.'s reference) ----------------------------------------
    def _draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """The next ``count`` indices of an endless sequence of shuffled epochs over the pool."""
        while self._central_order.size < count:
            self._central_order = np.concatenate([self._central_order, rng.permutation(self.pool)])
        out, self._central_order = self._central_order[:count], self._central_order[count:]
        return out

    def _sgd(self, w: np.ndarray, samples: np.ndarray, epochs: int, stream: str) -> np.ndarray:
        batch = samples.size if self.setup.batch is None else self.setup.batch
        steps = client_batches(self.rng(stream), samples, epochs, batch)
        return self.model.train(self.x, self.y, w, [steps], self.setup.lr)[0]

    def centralized_round(self, samples: int) -> None:
        """The centralised model takes as many minibatch steps as the round's clients did
        sample gradients: ``ceil(E · samples / B)`` (``E`` full-batch steps with B = None)."""
        if self.central is None:
            return
        if self.setup.batch is None:
            grad_x, grad_y = self.x[self.pool], self.y[self.pool]
            for _ in range(self.setup.epochs):
                grad = self.model.gradient(self.central, grad_x, grad_y)
                self.central = self.central - self.setup.lr * grad
            return
        b = self.setup.batch
        steps = -(-self.setup.epochs * samples // b)
        order = self._draw(steps * b, self._central_rng).reshape(steps, b)
        self.central = self.model.train(self.x, self.y, self.central, [order], self.setup.lr)[0]

    def weight_divergence(self) -> float:
        """Zhao et al.'s ``‖w_FedAvg - w_SGD‖ / ‖w_SGD‖``."""
        assert self.central is not None
        return float(np.linalg.norm(self.w - self.central) / np.linalg.norm(self.central))

    # evaluation and checks ------------------------------------------------------------
    def evaluate(self, w: np.ndarray | None = None) -> tuple[float, float]:
        """(test accuracy, training loss over D) of the global model (or ``w``)."""
        w = self.w if w is None else w
        own = slice(0, self.data.own_samples)
        loss, _ = self.model.evaluate(w, self.x[own], self.y[own])
        _, accuracy = self.model.evaluate(w, self.data.data.x_test, self.data.data.y_test)
        return accuracy, loss

    def client_losses(self) -> np.ndarray:
        """Each client's mean training loss under the global model (what a client reports
        after evaluating the model it received: FedMARL's probing loss)."""
        losses = self.model.sample_losses(self.w, self.x[self.union], self.y[self.union])
        owner = np.repeat(np.arange(self.sizes.size), self.sizes)
        return np.bincount(owner, weights=losses, minlength=self.sizes.size) / np.maximum(
            self.sizes, 1
        )

    def replay_fedsgd(self) -> tuple[float, float]:
        """(largest error, largest weight) of FedAvg with one full-batch step against GD on
        the union over :data:`_REPLAY_ROUNDS` rounds from the initial model, every client
        reporting."""
        w = central = self.initial.copy()
        err, scale = 0.0, 1.0
        everyone = list(range(len(self.data.parts)))
        for _ in range(_REPLAY_ROUNDS):
            full = [p[None, :] for p in self.data.parts]
            trained = self.model.train(self.x, self.y, w, full, self.setup.lr)
            updates = [ClientUpdate(k, int(self.sizes[k]), trained[k] - w, 1) for k in everyone]
            w = weighted(w, updates)
            grad = self.model.gradient(central, self.x[self.union], self.y[self.union])
            central = central - self.setup.lr * grad
            err = max(err, float(np.abs(w - central).max()))
            scale = max(scale, float(np.abs(central).max()))
        return err, scale

    def checks(self) -> dict[str, dict[str, Any]]:
        """The check records (none without ``verify``)."""
        if not self.setup.verify:
            return {}
        passed, missing, repeated = partition.partition_complete(
            self.data.own, self.data.own_samples
        )
        out = {
            "partition_complete": check(
                passed,
                samples=self.data.own_samples,
                clients=len(self.data.own),
                missing=missing,
                repeated=repeated,
            )
        }
        # summation order differs between the rule and np.average: a few ulps per term
        tolerance = 1e-12 * self.errors.aggregate_scale * max(1, int(self.sizes.size))
        out["aggregate_is_weighted_mean"] = check(
            self.errors.aggregate <= tolerance,
            max_abs_err=self.errors.aggregate,
            tolerance=tolerance,
            rounds=self.errors.aggregate_rounds,
            rule=self.setup.aggregation,
        )
        if self.shadow is not None:
            err, scale = self.errors.shadow, self.errors.shadow_scale
            mode, rounds = "run", self.errors.shadow_rounds
        else:
            (err, scale), mode, rounds = self.replay_fedsgd(), "replay", _REPLAY_ROUNDS
        # rounding of two summation orders, amplified a little by the rounds
        tolerance = 1e-10 * scale
        out["fedavg_equals_sgd"] = check(
            err <= tolerance,
            max_abs_err=err,
            tolerance=tolerance,
            mode=mode,
            rounds=rounds,
            equal_sizes=bool((self.sizes == self.sizes[0]).all()),
        )
        if self.mu0_record is not None:
            r = self.mu0_record
            out["fedprox_mu0_equals_fedavg"] = check(
                r["max_abs_diff"] <= r["tolerance"] < r["control_diff"], **r
            )
        for name, record in (
            ("heterofl_all_full_equals_fedavg", self.width_record),
            ("cmfl_threshold0_equals_fedavg", self.cmfl_record),
        ):
            if record is not None:
                out[name] = check(
                    record["max_abs_diff"] <= record["tolerance"] < record["control_diff"],
                    **record,
                )
        return out
