"""The leakage process view: a victim client that sends defended gradients, an attacker server.

Two SimPy processes (docs/architecture.md §6: one per device):

* the **client** computes its gradient on each private batch (the roofline time of the
  products, :func:`~clustersim.federated.leakage.costs.gradient_flops`), encodes it with the
  defence under test (:mod:`~clustersim.federated.leakage.defences`) and uploads the encoded
  bytes to the server over the flow network, one transmission after the other: every defence
  on every target batch;
* the **server** (honest but curious: it follows the protocol and looks at what it receives)
  takes each transmission as it arrives and attacks it: the analytic recovery (a few divisions)
  and DLG, whose every evaluation of the matching loss is charged to the server's device
  (:func:`~clustersim.federated.leakage.costs.matching_flops`), so the attack's time on the
  simulated clock follows the iterations the optimiser really took.

The numerics run when the simulated work happens: the client's gradient and its encoding when
it computes, the attack when the server starts it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from clustersim.federated.leakage import attack, costs
from clustersim.federated.leakage.defences import Defence, Transmitted
from clustersim.federated.leakage.kernels import Params, gradients

if TYPE_CHECKING:
    from clustersim.federated.leakage.plan import LeakagePlan

__all__ = ["Attempt", "LeakageRun"]


@dataclass
class Attempt:
    """One defended transmission of one private batch, and what the attacks made of it."""

    defence: int
    target: int
    x: np.ndarray
    y: np.ndarray
    sent: Transmitted | None = None
    start: float = 0.0
    upload_start: float = 0.0
    arrived: float = 0.0
    attack_start: float = 0.0
    attack_end: float = 0.0
    dlg: attack.Reconstruction | None = None
    dlg_score: attack.Score | None = None
    analytic: attack.Reconstruction | None = None
    analytic_score: attack.Score | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LeakageRun:
    """The processes of a leakage run (see the module docstring).

    ``batches(d, j)`` gives target ``j``'s private batch under defence ``d`` (inputs, labels);
    ``rng(name)`` the named random streams.
    """

    def __init__(
        self,
        plan: LeakagePlan,
        params: Params,
        batches: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
        rng: Callable[[str], np.random.Generator],
    ) -> None:
        self.plan = plan
        self.model_params = params
        self.batches = batches
        self.rng = rng
        self.sim = plan.cluster.sim
        self.attempts: list[Attempt] = []
        self._inbox = simpy.Store(self.sim.env)

    def start(self) -> None:
        self.sim.process(self._client(), name=f"leakage client {self.plan.client}")
        self.sim.process(self._server(), name=f"leakage server {self.plan.server}")

    def _client(self) -> Generator[Any, Any, None]:
        plan, env = self.plan, self.sim.env
        device = plan.cluster.devices[plan.client]
        net = plan.cluster.network
        sizes = plan.model.sizes
        for d, spec in enumerate(plan.params.defences):
            for j in range(plan.params.targets):
                x, y = self.batches(d, j)
                item = Attempt(d, j, x, y, start=env.now)
                grads, _ = gradients(plan.model, self.model_params, x, y)
                yield from device.compute(
                    costs.gradient_flops(sizes, x.shape[0]),
                    costs.gradient_bytes(sizes),
                    label=f"gradient {plan.labels[d]} #{j}",
                    kernels=costs.gradient_kernels(sizes),
                )
                encoder = Defence(spec, plan.model, self.rng(f"leakage.defence.{d}.{j}"))
                item.sent = encoder.apply(grads)
                item.upload_start = env.now
                yield net.transfer(
                    plan.client, plan.server, item.sent.payload_bytes, f"{plan.labels[d]} #{j}"
                )
                item.arrived = env.now
                self.attempts.append(item)
                yield self._inbox.put(item)

    def _server(self) -> Generator[Any, Any, None]:
        plan, env = self.plan, self.sim.env
        device = plan.cluster.devices[plan.server]
        att = plan.params.attack
        for _ in range(len(plan.params.defences) * plan.params.targets):
            item = yield self._inbox.get()
            assert item.sent is not None
            item.attack_start = env.now
            target = item.sent.grads
            if att.analytic and plan.model.bias:
                item.analytic = attack.analytic(target)
                item.analytic_score = attack.score(item.analytic, item.x, item.y)
            if att.dlg:
                batch = item.x.shape[0]
                item.dlg = attack.dlg(
                    plan.model, self.model_params, target, batch,
                    self.rng(f"leakage.dummy.{item.target}.{batch}"),
                    iterations=att.iterations, memory=att.memory, tolerance=att.tolerance,
                )  # fmt: skip
                item.dlg_score = attack.score(item.dlg, item.x, item.y)
                evals = item.dlg.evaluations
                yield from device.compute(
                    evals * costs.matching_flops(plan.model.sizes, batch),
                    evals * costs.matching_bytes(plan.model.sizes),
                    label=f"DLG {plan.labels[item.defence]} #{item.target}",
                    kernels=evals * costs.matching_kernels(plan.model.sizes),
                )
            item.attack_end = env.now
