"""The partition process view: a central node and its workers on the flow network.

* :class:`StagedRun` (one piece per worker): the central node scatters every worker its input;
  each worker computes a stage, sends the next stage's halos (partial sums, keys and values)
  to the workers that need them, waits for its own, and after the last stage sends its share
  of the output back; the central node runs the head once everything is in.
* :class:`TileRun` (independent tiles): the central node sends a worker one tile at a time
  (the next once the previous has arrived) while fewer than ``prefetch`` of its tiles are
  unfinished; a worker computes its tiles in arrival order and returns each result (one at a
  time). Statically every worker has its own list; adaptively (ADCNN) the next tile of one
  shared list goes to whichever worker frees a place first, so a straggler gets fewer.
* :func:`single_device_latency` and :func:`remote_cloud_latency`: the two baselines of ADCNN's
  evaluation (the whole model on one device; the input sent to a cloud GPU and the result
  back), each simulated on its own idle copy of the cluster.

One SimPy process per device; flows are single transfers whose arrival hands the payload of the
numeric replay to the receiver. Compute time is the device roofline of each layer entry
(:meth:`~clustersim.inference.partition.work.Compute.time`), times the device's slowdown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from clustersim.hardware.cluster import Cluster
from clustersim.inference.partition.work import Compute, StagedWork, TileWork

__all__ = ["StagedRun", "TileRun", "remote_cloud_latency", "single_device_latency"]


def _compute(cluster: Cluster, node: str, step: Compute, label: str) -> Generator[Any, Any, Any]:
    device = cluster.devices[node]
    yield from device.compute(
        step.total_flops, step.total_bytes, label=label, duration=step.time(device.spec)
    )


class _Mailbox:
    """Payloads expected at a key (a worker's scatter, its halos of a stage, the gather); the
    key's event fires once the expected number has arrived."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._left: dict[Any, int] = {}
        self._event: dict[Any, simpy.Event] = {}
        self._payloads: dict[Any, list[Any]] = {}

    def expect(self, key: Any, count: int) -> None:
        self._left[key] = count
        self._event[key] = event = simpy.Event(self.env)
        self._payloads[key] = []
        if count == 0:
            event.succeed()

    def deliver(self, key: Any, payload: Any) -> None:
        self._payloads[key].append(payload)
        self._left[key] -= 1
        if self._left[key] == 0:
            self._event[key].succeed()

    def wait(self, key: Any) -> simpy.Event:
        return self._event[key]

    def payloads(self, key: Any) -> list[Any]:
        return self._payloads[key]


class StagedRun:
    """The SimPy processes of a :class:`~clustersim.inference.partition.work.StagedWork`.

    Args:
        cluster: where it runs.
        central: the node that scatters, gathers and runs the head.
        workers: the worker nodes, in the work's order.
        work: bytes and steps.
        replay: the numeric replay carried by the flows, or None.

    After the run: ``latency`` (s), ``stage_end[s, i]`` (when worker ``i`` finished stage
    ``s``) and ``gathered`` (when the last output arrived).
    """

    def __init__(
        self,
        cluster: Cluster,
        central: str,
        workers: list[str],
        work: StagedWork,
        replay: Any = None,
    ) -> None:
        self.cluster, self.env = cluster, cluster.sim.env
        self.central, self.workers, self.work, self.replay = central, workers, work, replay
        self.mail = _Mailbox(self.env)
        self.stage_end = np.zeros((len(work.stages), len(workers)))
        self.latency = 0.0
        self.gathered = 0.0

    def start(self) -> None:
        """Create the central node's process and one process per worker."""
        work = self.work
        for i in range(work.workers):
            self.mail.expect(("scatter", i), int(work.scatter[i] > 0))
            for s, stage in enumerate(work.stages):
                self.mail.expect(("halo", s, i), int((stage.exchange[:, i] > 0).sum()))
        self.mail.expect("gather", int((work.gather > 0).sum()))
        self.cluster.sim.process(self._central(), name=f"partition central {self.central}")
        for i, name in enumerate(self.workers):
            self.cluster.sim.process(self._worker(i), name=f"partition worker {name}")

    def _send(self, src: str, dst: str, size: float, label: str, key: Any, payload: Any) -> None:
        event = self.cluster.network.transfer(src, dst, size, label=label)
        event.callbacks.append(lambda _event: self.mail.deliver(key, payload))

    def _central(self) -> Generator[Any, Any, None]:
        work, replay = self.work, self.replay
        for i, worker in enumerate(self.workers):
            if work.scatter[i] > 0:
                payload = replay.scatter(i) if replay is not None else None
                self._send(
                    self.central, worker, work.scatter[i], "scatter", ("scatter", i), payload
                )
        yield self.mail.wait("gather")
        self.gathered = self.env.now
        if replay is not None:
            replay.finish(self.mail.payloads("gather"))
        yield from _compute(self.cluster, self.central, work.head, "head")
        self.latency = self.env.now

    def _worker(self, i: int) -> Generator[Any, Any, None]:
        work, replay, me = self.work, self.replay, self.workers[i]
        yield self.mail.wait(("scatter", i))
        arrived = self.mail.payloads(("scatter", i))
        state = replay.begin(i, arrived[0] if arrived else None) if replay is not None else None
        for s, stage in enumerate(work.stages):
            received: list[Any] = []
            if s > 0:
                yield self.mail.wait(("halo", s - 1, i))
                received = self.mail.payloads(("halo", s - 1, i))
            label = work.labels[s] if s < len(work.labels) else f"stage {s}"
            yield from _compute(self.cluster, me, stage.compute[i], label)
            if replay is not None:
                state = replay.stage(i, s, state, received)
            self.stage_end[s, i] = self.env.now
            for j in np.flatnonzero(stage.exchange[i] > 0).tolist():
                payload = replay.send(i, j, s, state) if replay is not None else None
                size = stage.exchange[i, j]
                self._send(
                    me,
                    self.workers[j],
                    size,
                    f"{label} to {self.workers[j]}",
                    ("halo", s, j),
                    payload,
                )
        if work.gather[i] > 0:
            payload = replay.result(i, state) if replay is not None else None
            self._send(me, self.central, work.gather[i], "gather", "gather", payload)


class TileRun:
    """The SimPy processes of a :class:`~clustersim.inference.partition.work.TileWork`.

    Args:
        cluster: where it runs.
        central: the node that sends tiles, collects results and runs the head.
        workers: the worker nodes (the static assignment's order).
        work: the tiles.
        prefetch: tiles a worker may have unfinished (sent, not yet back).
        replay: the numeric replay carried by the flows, or None.

    After the run: ``latency`` (s), ``tile_worker[t]`` (which worker computed tile ``t``),
    ``tile_done[t]`` (when its result was back).
    """

    def __init__(
        self,
        cluster: Cluster,
        central: str,
        workers: list[str],
        work: TileWork,
        prefetch: int,
        replay: Any = None,
    ) -> None:
        self.cluster, self.env = cluster, cluster.sim.env
        self.central, self.workers, self.work = central, workers, work
        self.prefetch, self.replay = prefetch, replay
        m = len(workers)
        if work.assignment is None:
            shared: deque[int] = deque(range(work.tiles))
            self._queues = [shared] * m
        else:
            self._queues = [deque(tiles) for tiles in work.assignment]
        self._unfinished = [0] * m
        self._sending = [False] * m
        self._returns: list[deque[tuple[int, Any]]] = [deque() for _ in range(m)]
        self._returning = [False] * m
        self._inbox = [simpy.Store(self.env) for _ in range(m)]
        self._results = simpy.Store(self.env)
        self.tile_worker = [-1] * work.tiles
        self.tile_done = np.zeros(work.tiles)
        self.latency = 0.0

    def start(self) -> None:
        """Create the central node's process and one process per worker."""
        self.cluster.sim.process(self._central(), name=f"partition central {self.central}")
        for w, name in enumerate(self.workers):
            self.cluster.sim.process(self._worker(w), name=f"partition worker {name}")

    # ---------------------------------------------------------------- central -> workers
    def _feed(self, w: int) -> None:
        """Send worker ``w`` its next tile if its link is free and it has room."""
        queue = self._queues[w]
        if self._sending[w] or self._unfinished[w] >= self.prefetch or not queue:
            return
        t = queue.popleft()
        self.tile_worker[t] = w
        self._unfinished[w] += 1
        self._sending[w] = True
        payload = self.replay.tile_input(t) if self.replay is not None else None
        event = self.cluster.network.transfer(
            self.central, self.workers[w], self.work.inputs[t], label=f"tile {t}"
        )
        event.callbacks.append(lambda _event: self._arrived(w, t, payload))

    def _arrived(self, w: int, t: int, payload: Any) -> None:
        self._sending[w] = False
        self._inbox[w].put((t, payload))
        self._feed(w)

    # ---------------------------------------------------------------- workers -> central
    def _give_back(self, w: int, t: int, result: Any) -> None:
        self._returns[w].append((t, result))
        self._return_next(w)

    def _return_next(self, w: int) -> None:
        if self._returning[w] or not self._returns[w]:
            return
        t, result = self._returns[w].popleft()
        self._returning[w] = True
        event = self.cluster.network.transfer(
            self.workers[w], self.central, self.work.outputs[t], label=f"tile {t} result"
        )
        event.callbacks.append(lambda _event: self._returned(w, t, result))

    def _returned(self, w: int, t: int, result: Any) -> None:
        self._returning[w] = False
        self._results.put((w, t, result))
        self._return_next(w)

    # ---------------------------------------------------------------------- processes
    def _central(self) -> Generator[Any, Any, None]:
        for w in range(len(self.workers)):
            self._feed(w)
        results = []
        for _ in range(self.work.tiles):
            w, t, result = yield self._results.get()
            self.tile_done[t] = self.env.now
            self._unfinished[w] -= 1
            results.append(result)
            for v in range(len(self.workers)):  # a shared list: any worker may have room now
                self._feed(v)
        for inbox in self._inbox:
            inbox.put(None)
        if self.replay is not None:
            self.replay.finish(results)
        yield from _compute(self.cluster, self.central, self.work.head, "head")
        self.latency = self.env.now

    def _worker(self, w: int) -> Generator[Any, Any, None]:
        while True:
            item = yield self._inbox[w].get()
            if item is None:
                return
            t, payload = item
            yield from _compute(self.cluster, self.workers[w], self.work.compute[t], f"tile {t}")
            result = self.replay.compute(t, payload) if self.replay is not None else None
            self._give_back(w, t, result)


# ------------------------------------------------------------------------------ baselines
def single_device_latency(cluster: Cluster, node: str, whole: Compute) -> float:
    """Seconds the whole model takes on ``node`` of an idle copy of ``cluster``."""
    fresh = cluster.fresh()
    fresh.sim.process(_compute(fresh, node, whole, "whole model"), name=f"single {node}")
    fresh.sim.run()
    return fresh.sim.now


def remote_cloud_latency(
    cluster: Cluster, central: str, cloud: str, whole: Compute, sent: float, returned: float
) -> float:
    """Seconds to send ``sent`` bytes from ``central`` to ``cloud``, run the whole model there
    and send ``returned`` bytes back, on an idle copy of ``cluster``."""
    fresh = cluster.fresh()

    def run() -> Generator[Any, Any, None]:
        yield fresh.network.transfer(central, cloud, sent, label="input to the cloud")
        yield from _compute(fresh, cloud, whole, "whole model")
        yield fresh.network.transfer(cloud, central, returned, label="result")

    fresh.sim.process(run(), name=f"remote cloud {cloud}")
    fresh.sim.run()
    return fresh.sim.now
