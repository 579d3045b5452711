"""The planner's choice is the simulator's best: every plan of small cases, simulated.

For each case every PipeDream plan (consecutive devices per stage, unused devices at the end)
is priced by the planner's cost model (:mod:`clustersim.training.pipeline.steady_state`, or the
data-parallel kind for one stage) and simulated on a fresh cluster. The planner's choice must
be the fastest simulated plan, and every plan's prediction must be its simulated throughput
within 1 % (the whole study: 630 plans within 0.3 %).

``python -m tests.training.pipeline.test_planner_brute_force`` runs the wider study quoted in
the README: 18 cases (3 topologies x activation x weight sizes), every plan, and prints how far
the model is from the simulation over all plans.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from clustersim.training.pipeline.kind import _run, _throughput
from clustersim.training.pipeline.layout import device_order, pipedream_layout
from clustersim.training.pipeline.steady_state import PlacementCosts
from tests.training.pipeline.helpers import prepared

TOPOLOGIES: dict[str, dict[str, Any]] = {
    "switch": {"kind": "switch", "nodes": 4},
    "shared_nic": {
        "kind": "two_level",
        "nodes": 2,
        "gpus_per_node": 2,
        "intra_link": {"bandwidth": "40 GB/s", "latency": "1 us"},
        "inter_link": {"bandwidth": "4 GB/s", "latency": "5 us"},
        "nic": "shared",
    },
    "oversubscribed": {"kind": "switch", "nodes": 4, "groups": 2, "uplink_bandwidth": "5 GB/s"},
}
LINK = {"bandwidth": "10 GB/s", "latency": "1 us"}
CASES = [
    ("switch", "10 MB", "20 MB"),  # the weights pull towards stages, the activations back
    ("shared_nic", "10 MB", "1 MB"),  # two servers, one NIC each
    ("oversubscribed", "1 MB", "1 MB"),  # two leaves behind a 2:1 uplink
]


def _compositions(n: int, k: int) -> Iterator[list[int]]:
    for cuts in itertools.combinations(range(1, n), k - 1):
        edges = (0, *cuts, n)
        yield [edges[i + 1] - edges[i] for i in range(k)]


def all_plans(layers: int, devices: int) -> Iterator[tuple[list[int], list[int]]]:
    """Every (layers per stage, replicas per stage) on at most ``devices`` devices."""
    for k in range(1, min(layers, devices) + 1):
        for counts in _compositions(layers, k):
            for used in range(k, devices + 1):
                for replicas in _compositions(used, k):
                    yield counts, replicas


def _workload(activation: str, params: str) -> dict[str, Any]:
    return {
        "schedule": "pipedream",
        "partition": "planner",
        "microbatches": 8,
        "compare": False,
        "verify": False,
        "profile": {"count": 4, "flops": "10 GFLOP", "activation": activation, "params": params},
    }


def study(topology: str, activation: str, params: str) -> dict[str, Any]:
    """Price and simulate every plan of one case; the planner's choice beside them."""
    cluster, plan = prepared(
        _workload(activation, params), topology=TOPOLOGIES[topology], link=LINK
    )
    workload = plan.params
    devices = device_order(cluster, workload, 1)
    costs = PlacementCosts(cluster, devices, workload.allreduce_algorithm)
    rows = []
    for counts, replicas in all_plans(len(plan.layout.profile), len(devices)):
        layout = pipedream_layout(
            cluster, workload, plan.layout.profile, counts, replicas, devices, costs
        )
        predicted = _throughput(layout)
        simulated = _run(cluster.fresh(), workload, layout, verify=False).metrics[
            "throughput_samples_per_s"
        ]
        rows.append((counts, replicas, predicted, simulated))
    chosen = plan.layout
    return {
        "rows": rows,
        "chosen": (chosen.counts, chosen.replicas),
        "chosen_predicted": _throughput(chosen),
        "chosen_simulated": _run(cluster.fresh(), workload, chosen, verify=False).metrics[
            "throughput_samples_per_s"
        ],
    }


@pytest.mark.parametrize(("topology", "activation", "params"), CASES)
def test_the_planner_chooses_the_simulators_best_plan(
    topology: str, activation: str, params: str
) -> None:
    out = study(topology, activation, params)
    rows = out["rows"]
    assert len(rows) == 35  # 4 layers on up to 4 devices
    best = max(simulated for *_, simulated in rows)
    assert out["chosen_simulated"] >= best * (1 - 1e-9)
    assert out["chosen_simulated"] == pytest.approx(out["chosen_predicted"], rel=0.01)
    for counts, replicas, predicted, simulated in rows:
        assert simulated == pytest.approx(predicted, rel=0.01), (counts, replicas)


def main() -> None:  # pragma: no cover - the README's study, run by hand
    """Every plan of 18 cases: how far the cost model is from the simulation."""
    ratios: list[float] = []
    for topology in TOPOLOGIES:
        for activation in ("1 MB", "10 MB", "100 MB"):
            for params in ("1 MB", "20 MB"):
                out = study(topology, activation, params)
                rows = out["rows"]
                best = max(s for *_, s in rows)
                r = [s / p for *_, p, s in rows]
                ratios += r
                print(
                    f"{topology:15s} activation {activation:>6s} weights {params:>5s}: "
                    f"chosen {out['chosen'][0]} x {out['chosen'][1]} simulated "
                    f"{out['chosen_simulated']:.1f}/s (best {best:.1f}), predicted "
                    f"{out['chosen_predicted']:.1f}/s; all plans simulated/predicted "
                    f"{min(r):.3f}..{max(r):.3f}"
                )
    for tolerance in (0.03, 0.01, 0.001):
        within = sum(abs(x - 1) <= tolerance for x in ratios)
        print(f"{len(ratios)} plans: {within} within {tolerance:.1%}")
    print(f"ratio {min(ratios):.4f}..{max(ratios):.4f}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
