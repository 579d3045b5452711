"""The federated process view: a server process for the rounds, one process per selected client.

Each round (McMahan et al. 2017, Algorithm 1, on the simulated clock):

1. The server draws who is available (``offline_probability``, the offline schedule, clients
   still busy with an earlier round), selects ``m`` of them (a
   :data:`~clustersim.federated.selection.SELECTORS` rule), marks FedProx-style stragglers,
   and draws the mid-round dropouts, all from the round's own stream
   ``federated.round.{t}``, so runs that differ only in the algorithm see the same draws.
2. Every selected client's process downloads the model from the server (a flow on the
   network; the bytes include the retransmissions its link's packet loss costs), trains on its
   device for the roofline time of its local epochs, and uploads its update. Uploads and
   downloads contend wherever their paths meet: the server's link, an edge link, a Wi-Fi
   access point's shared airtime.
3. The round closes when every selected client is done, or at the ``deadline``; the server
   aggregates what has arrived (its device charged 2 FLOP per parameter per update) and the
   next round starts. A late client's update is discarded (FedAvg "drops" it); a client still
   busy when the next round starts is not available to it.

Per client, the bytes of the model and of the update are its own (``plan.client_bytes``): a
HeteroFL client downloads and uploads only its sub-model, and trains for its sub-model's
roofline time. Under CMFL a client whose update is not relevant (its relevance to the last
global update below the threshold) sends nothing and ends ``skipped`` after training; the
server is taken to know at once (a real one would learn it from a few-byte notice or its
deadline).

A client can fail to report: it goes offline during the round (``dropout_probability``: at a
uniformly drawn point of its local training; or an offline interval of the schedule starting
while it works), it is a straggler under FedAvg (it trains ``e < E`` epochs in the time ``E``
take, and FedAvg drops partial work while FedProx keeps it, Li et al. 2020 §5.2), it is late,
its update is lost (``update_loss``) or corrupted and detected (``bit_error_rate`` with
``detect``). A flow cannot be cancelled in the network, so a client that goes offline
mid-transfer leaves that transfer to finish as if nobody listened.

The local training numerics run when the round's clients are chosen (simulated time does not
pass in numpy), for the clients that can report; the processes decide which updates reach the
server, and when.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from clustersim.federated import channel
from clustersim.federated.aggregation import ClientUpdate
from clustersim.federated.costs import AGGREGATE_KERNELS
from clustersim.federated.selection import SELECTORS, stragglers

if TYPE_CHECKING:
    from clustersim.federated.plan import FederatedPlan
    from clustersim.federated.trainer import FederatedTrainer

__all__ = ["STATUSES", "ClientRound", "FederatedRun", "RoundRecord", "Selector"]

STATUSES = ("reported", "late", "dropped", "offline", "straggler", "lost", "corrupted")
"""How a selected client's round can end: its update was aggregated, it arrived after the round
closed, the client dropped out or went offline (schedule), its partial work was discarded
(FedAvg), the upload was lost, or it was corrupted and discarded. ``corrupted_used`` counts the
corrupted updates the server could not detect (they are also ``reported``). Under CMFL a client
may also end ``skipped``: its update was not relevant enough to send."""


@dataclass
class ClientRound:
    """One selected client's round: when each phase ended, and how the round ended for it."""

    client: int
    epochs: int
    start: float
    download_end: float | None = None
    compute_end: float | None = None
    upload_end: float | None = None
    end: float | None = None
    status: str = "running"
    corrupted: bool = False


@dataclass
class RoundRecord:
    """One round: its clients, when it closed (aggregation started) and ended, and the random
    stream of its transfers' losses and errors (``federated.channel.{t}``)."""

    index: int
    start: float
    channel: np.random.Generator | None = None
    clients: list[ClientRound] = field(default_factory=list)
    received: list[ClientUpdate] = field(default_factory=list)
    reported: list[int] = field(default_factory=list)
    open: bool = True
    close: float = 0.0
    end: float = 0.0
    bytes_up: float = 0.0
    evaluation: tuple[float, float] | None = None
    divergence: float | None = None


Selector = Callable[["FederatedRun", int, np.ndarray], np.ndarray]
"""A selection made from the run's state: ``(run, round, available) -> chosen`` (sorted client
indices), for a learned policy (FedMARL) in place of a :data:`SELECTORS` rule."""


class FederatedRun:
    """The processes of a federated run on ``plan.cluster`` (see the module docstring).

    ``trainer`` carries the numerics; None for a timing-only run (``train: false``).
    ``selector`` replaces the workload's selection rule when given; it sees the run as it is
    when the round starts (earlier rounds' records, the trainer's current model).
    """

    def __init__(
        self,
        plan: FederatedPlan,
        trainer: FederatedTrainer | None,
        selector: Selector | None = None,
    ) -> None:
        self.plan = plan
        self.params = plan.params
        self.cluster = plan.cluster
        self.sim = plan.cluster.sim
        self.env = self.sim.env
        self.trainer = trainer
        self.selector = selector
        self.rounds: list[RoundRecord] = []
        k = len(plan.clients)
        self.busy = np.zeros(k, dtype=bool)
        self.selected = np.zeros(k, dtype=np.int64)
        self.reported = np.zeros(k, dtype=np.int64)

    def start(self) -> None:
        """Create the server's process (it starts the clients' processes round by round)."""
        self.sim.process(self._server(), name="federated server")

    # server ---------------------------------------------------------------------------
    def _available(self, rng: np.random.Generator, now: float) -> np.ndarray:
        """Indices of the clients the server can select at ``now``."""
        offline = rng.random(self.busy.size) < self.params.availability.offline_probability
        return np.flatnonzero(~offline & ~self.busy & ~self.plan.offline_at(now))

    def _server(self) -> Generator[Any, Any, None]:
        p, plan, env = self.params, self.plan, self.env
        server = self.cluster.devices[plan.server]
        for t in range(p.rounds):
            record = RoundRecord(t, env.now, self.sim.rng(f"federated.channel.{t}"))
            self.rounds.append(record)
            rng = self.sim.rng(f"federated.round.{t}")
            available = self._available(rng, env.now)
            if self.selector is not None:
                chosen = np.asarray(self.selector(self, t, available), dtype=np.int64)
            else:
                chosen = SELECTORS[p.selection](rng, available, plan.m, plan.sizes)
            epochs = stragglers(rng, chosen, p.stragglers, p.local_epochs)
            drops = rng.random(chosen.size) < p.availability.dropout_probability
            drop_at = rng.random(chosen.size)
            can_report = ~drops & ((epochs == p.local_epochs) | p.keeps_partial_work)
            updates: dict[int, ClientUpdate] = {}
            if self.trainer is not None:
                updates = self.trainer.train_round(t, chosen[can_report], epochs[can_report])
            procs = []
            for i, k in enumerate(chosen.tolist()):
                client = ClientRound(k, int(epochs[i]), env.now)
                record.clients.append(client)
                self.busy[k] = True
                self.selected[k] += 1
                drop = float(drop_at[i]) if drops[i] else None
                procs.append(
                    self.sim.process(
                        self._client(record, client, drop, updates.get(k)),
                        name=f"federated client {plan.clients[k]} round {t}",
                    )
                )
            waits: list[simpy.Event] = [simpy.AllOf(env, procs)] if procs else []
            if p.deadline is not None:
                waits.append(env.timeout(p.deadline))
            if waits:
                yield simpy.AnyOf(env, waits)
            record.open = False
            record.close = env.now
            if record.reported:
                parameters = float(plan.client_parameters[record.reported].sum())
                yield from server.compute(
                    2.0 * parameters,
                    (parameters + plan.parameters) * p.wire_dtype.itemsize,
                    label=f"aggregate round {t}",
                    kernels=AGGREGATE_KERNELS,
                )
            record.end = env.now
            self._finish_round(record)

    def _finish_round(self, record: RoundRecord) -> None:
        """Count, aggregate and evaluate a closed round."""
        for k in record.reported:
            self.reported[k] += 1
        trainer = self.trainer
        if trainer is not None:
            trainer.aggregate(record.received)
            trainer.centralized_round(
                int(self.plan.sizes[[c.client for c in record.clients]].sum())
            )
            t = record.index
            if (t + 1) % self.params.eval_every == 0 or t + 1 == self.params.rounds:
                record.evaluation = trainer.evaluate()
                if trainer.central is not None:
                    record.divergence = trainer.weight_divergence()

    # client ---------------------------------------------------------------------------
    def _until_offline(self, event: simpy.Event, k: int) -> Generator[Any, Any, bool]:
        """Wait for ``event``; False if client ``k``'s offline schedule cuts it short."""
        cut = self.plan.next_offline(k, self.env.now)
        if not np.isfinite(cut):
            yield event
            return True
        done = yield event | self.env.timeout(cut - self.env.now)
        return event in done

    def _wire(self, record: RoundRecord, k: int, size: float) -> float:
        """Bytes a transfer of client ``k`` puts on its lossy link (with retransmissions)."""
        assert record.channel is not None
        loss = float(self.plan.packet_loss[k])
        return channel.bytes_on_wire(record.channel, size, loss, self.params.network.packet_size)

    def _client(
        self,
        record: RoundRecord,
        client: ClientRound,
        drop: float | None,
        update: ClientUpdate | None,
    ) -> Generator[Any, Any, None]:
        p, plan, env = self.params, self.plan, self.env
        k = client.client
        name = plan.clients[k]
        device = self.cluster.devices[name]
        net = self.cluster.network
        try:
            size = float(plan.client_bytes[k])
            down = net.transfer(
                plan.server, name, self._wire(record, k, size), f"model r{record.index}"
            )
            online = yield from self._until_offline(down, k)
            client.download_end = env.now
            if not online:
                client.status = "offline"
                return
            # a straggler does `epochs` epochs in the time E take (FedProx's partial work)
            flops, moved = plan.epoch_work[k]
            seconds = device.compute_time(
                flops * p.local_epochs,
                moved * p.local_epochs,
                kernels=plan.epoch_kernels[k] * p.local_epochs,
            )
            done = client.epochs / p.local_epochs
            if drop is not None:
                seconds, done, client.status = seconds * drop, done * drop, "dropped"
            cut = plan.next_offline(k, env.now) - env.now
            if cut < seconds:
                done *= cut / seconds if seconds > 0 else 0.0
                seconds, client.status = cut, "offline"
            yield from device.compute(
                flops * p.local_epochs * done,
                moved * p.local_epochs * done,
                label=f"train r{record.index}",
                duration=seconds / device.slowdown,
            )
            client.compute_end = env.now
            if client.status != "running":
                return
            if client.epochs < p.local_epochs and not p.keeps_partial_work:
                client.status = "straggler"
                return
            if not record.open:
                client.status = "late"
                return
            if update is not None and not update.upload:
                client.status = "skipped"
                return
            wire = self._wire(record, k, size)
            record.bytes_up += wire
            up = net.transfer(name, plan.server, wire, f"update r{record.index}")
            online = yield from self._until_offline(up, k)
            client.upload_end = env.now
            if not online:
                client.status = "offline"
            elif not record.open:
                client.status = "late"
            else:
                self._deliver(record, client, update)
        finally:
            client.end = env.now
            self.busy[k] = False

    def _deliver(
        self, record: RoundRecord, client: ClientRound, update: ClientUpdate | None
    ) -> None:
        """An upload arrived in time: lost, corrupted, or received (in arrival order)."""
        rng = record.channel
        assert rng is not None
        errors = self.params.errors
        if rng.random() < errors.update_loss:
            client.status = "lost"
            return
        dtype = self.params.wire_dtype
        flips = channel.bit_flips(rng, self.plan.parameters, dtype.itemsize, errors.bit_error_rate)
        if flips and errors.detect:
            client.status = "corrupted"
            return
        if flips:
            client.corrupted = True
            if update is not None:
                delta = channel.flip_bits(rng, update.delta, dtype, flips)
                update = ClientUpdate(update.client, update.samples, delta, update.epochs)
        client.status = "reported"
        record.reported.append(client.client)
        if update is not None:
            record.received.append(update)

    # timeline ---------------------------------------------------------------------------
    def trace(self) -> None:
        """After the run: spans on each client's ``federated`` lane (download, train, upload,
        then ``wait`` for the round to close after reporting, or ``idle`` after failing to) and
        the server's aggregations; nothing without tracing."""
        if not self.sim.tracer.enabled:
            return
        for record in self.rounds:
            self._trace(record)

    def _trace(self, record: RoundRecord) -> None:
        tracer = self.sim.tracer
        t = record.index
        for c in record.clients:
            lane = (self.plan.clients[c.client], "federated")
            marks = [c.start, c.download_end, c.compute_end, c.upload_end]
            for phase, a, b in zip(("download", "train", "upload"), marks, marks[1:], strict=False):
                if a is not None and b is not None:
                    tracer.span(lane, f"{phase} r{t}", phase, a, b, {"status": c.status})
            if c.end is not None and c.end < record.close:
                # reported: waiting for the straggler; otherwise idle after failing to report
                phase = "wait" if c.status == "reported" else "idle"
                tracer.span(lane, f"{phase} r{t}", phase, c.end, record.close, {"status": c.status})
        tracer.span(
            (self.plan.server, "federated"),
            f"aggregate r{t}",
            "aggregate",
            record.close,
            record.end,
        )
