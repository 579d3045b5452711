"""Federated learning at scale: 1,000 clients, 10 % per round, 100 rounds (docs/architecture.md §6).

The issue's target: 1,000 clients on an edge_cloud topology (10 Wi-Fi 5 access points, the cloud
aggregating), 100 selected per round, 100 rounds of multinomial logistic regression (60
features, 60 samples per client, E = 1, B = 10) simulate in seconds with ``train: false`` and in
under a minute with training, on 2 cores. Printed next to each run: the SimPy events it
processed and what a bare SimPy loop takes for that many events, so the figures mean something
on a busy machine too; CPU seconds are printed beside wall seconds.

Then the event count against the clients per round and the total clients (timing only, 20
rounds): it must grow with the clients per round (one process and two transfers per selected
client per round), not with the clients that sit out.

Usage::

    python benchmarks/federated.py            # the target runs and the event-count table
    python benchmarks/federated.py --rounds 30
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import simpy

import clustersim


def scenario(clients: int, per_round: int, rounds: int, train: bool) -> dict[str, Any]:
    """The benchmark scenario: ``clients`` Raspberry Pis on 10 Wi-Fi 5 access points."""
    return {
        "name": f"federated-{clients}-{per_round}",
        "seed": 1,
        "cluster": {
            "topology": {"kind": "edge_cloud", "devices": clients, "edge_servers": 10},
        },
        "workload": {
            "kind": "federated",
            "rounds": rounds,
            "clients_per_round": per_round,
            "local_epochs": 1,
            "batch_size": 10,
            "lr": 0.1,
            "dataset": {
                "name": "blobs",
                "samples": 60 * clients,
                "test_samples": 2000,
                "features": 60,
            },
            "train": train,
            "verify": False,
        },
    }


def bare_simpy(events: int) -> float:
    """Seconds a bare SimPy loop takes for ``events`` timeouts."""
    env = simpy.Environment()

    def proc():
        for _ in range(events):
            yield env.timeout(1e-6)

    env.process(proc())
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def measure(data: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """(wall s, CPU s, metrics) of one in-process run."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = clustersim.run(data)
    return time.perf_counter() - wall, time.process_time() - cpu, result.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    clustersim.run(scenario(20, 5, 1, True))  # warm up imports

    print("## 1,000 clients, 100 per round, logistic regression")
    print(
        f"{'mode':>14}  {'wall s':>7}  {'CPU s':>6}  {'events':>7}  {'bare SimPy s':>12}  "
        f"{'final acc':>9}  {'sim time':>9}"
    )
    for train in (False, True):
        wall, cpu, m = measure(scenario(1000, 100, args.rounds, train))
        bare = bare_simpy(m["sim_events"])
        accuracy = f"{m['final_accuracy']:.3f}" if train else "-"
        mode = "train: true" if train else "train: false"
        print(
            f"{mode:>14}  {wall:7.2f}  {cpu:6.2f}  {m['sim_events']:7d}  {bare:12.3f}  "
            f"{accuracy:>9}  {m['time_s']:8.3f}s"
        )

    print("\n## events against clients per round and total clients (timing only, 20 rounds)")
    print(
        f"{'clients':>7}  {'per round':>9}  {'events':>7}  {'events/selection':>16}  {'CPU s':>6}"
    )
    for clients, per_round in ((1000, 10), (1000, 100), (1000, 400), (100, 100), (4000, 100)):
        _, cpu, m = measure(scenario(clients, per_round, 20, False))
        per = m["sim_events"] / (20 * per_round)
        print(f"{clients:7d}  {per_round:9d}  {m['sim_events']:7d}  {per:16.1f}  {cpu:6.2f}")


if __name__ == "__main__":
    main()
