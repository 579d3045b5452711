"""PipeDream's 15-1 forced on the seeds' two clusters (SOSP 2019, Table 1): predicted against
simulated.

On Cluster-B (2 x 8 V100, NVLink, 25 GbE) the forced 15-1 of AlexNet and of VGG-16 runs at the
cost model's period. On Cluster-A (4 x 4 V100, PCIe, one shared 10 GbE NIC per server)
AlexNet's forced 15-1 is paced by stage 0's weight synchronisation in lock step: its replicas
wait for each round, resume together and send their activations in one burst that shares the
last server's inbound NIC twelve ways while the all-reduce's ring crosses it, and the
gradients coming back crowd its outbound NIC after it. The cost model times those rounds
(``sync rounds stage 0``, :mod:`~clustersim.training.pipeline.sync_round`): the run is the
prediction within 0.1 %, where a closed form of the burst's phases was 2.9 % off and the
model before it (stretching a round by at most 2x) 16 %. The planner's own choice, 12-1-1-1,
keeps its synchronisation off that NIC and runs as predicted.
"""

from __future__ import annotations

import pytest

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from tests.paths import SCENARIOS

CLUSTER_B = [
    "cluster.topology.nodes=2",
    "cluster.topology.gpus_per_node=8",
    "cluster.topology.intra_link=NVLink2",
    "cluster.topology.inter_link=25GbE",
]
QUICK = ["workload.verify=false", "workload.compare=false"]


def _forced(partition: str, *more: str) -> list[str]:
    return [*QUICK, "workload.stages=[15,1]", f"workload.partition={partition}", *more]


@pytest.mark.parametrize(("model", "partition"), [("alexnet", "[5,3]"), ("vgg16", "[13,3]")])
def test_a_forced_15_1_on_cluster_b_runs_as_predicted(model: str, partition: str) -> None:
    name = f"pipeline_pipedream_{model}.yaml"
    r = clustersim.run(SCENARIOS / name, _forced(partition, *CLUSTER_B))
    assert r.metrics["plan"] == "15-1"
    assert r.metrics["throughput_samples_per_s"] == pytest.approx(
        r.analytic["throughput_samples_per_s"], rel=0.01
    )
    # the synchronisation keeps up: no replica ever waits for it
    assert r.metrics["sync_wait_fraction_per_stage"] == [0.0, 0.0]


def test_alexnet_15_1_on_cluster_a_runs_at_its_lock_step_round() -> None:
    name = SCENARIOS / "pipeline_pipedream_alexnet.yaml"
    forced = _forced("[5,3]")
    r = clustersim.run(name, forced)
    m, a = r.metrics, r.analytic
    simulated, predicted = m["throughput_samples_per_s"], a["throughput_samples_per_s"]
    # measured: 26,726 against 26,729 (26,718 measured before the run settled); the phases'
    # closed form predicted 26,381 (that run: 25,612, -2.9 %) and the model before it 31,973
    # (that run: 26,718, -16 %)
    assert simulated == pytest.approx(predicted, rel=0.01)
    assert a["bottleneck"] == "sync rounds stage 0"
    # the run: stage 0's replicas wait for their weight sync half of the window ...
    assert m["sync_wait_fraction_per_stage"][0] > 0.3
    # ... whose rounds take more than four times the all-reduce alone (71.8 ms against
    # 15.9 ms), as long as the model's round: 15 periods (71.8 ms)
    loaded = load_scenario(name, forced)
    _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
    steady = plan.layout.steady
    assert m["sync_round_s_per_stage"][0] > 4 * steady.sync_s[0]
    assert m["sync_round_s_per_stage"][0] == pytest.approx(15 * steady.period_s, rel=0.01)
    # the planner's 12-1-1-1: its sync waits little and the run is the prediction
    chosen = clustersim.run(name, QUICK)
    assert chosen.metrics["plan"] == "12-1-1-1"
    assert chosen.metrics["sync_wait_fraction_per_stage"][0] < 0.1
    assert chosen.metrics["throughput_samples_per_s"] == pytest.approx(
        chosen.analytic["throughput_samples_per_s"], rel=0.01
    )


@pytest.mark.parametrize(("replicas", "batch"), [(13, 2048), (14, 1024), (15, 512)])
def test_other_r_1_plans_on_cluster_a_run_at_their_lock_step_round(
    replicas: int, batch: int
) -> None:
    """The same regime over replica counts and micro-batch sizes (128, 64, 32 images)."""
    name = SCENARIOS / "pipeline_pipedream_alexnet.yaml"
    sets = [*QUICK, f"workload.stages=[{replicas},1]", "workload.partition=[5,3]"]
    r = clustersim.run(name, [*sets, f"workload.batch={batch}"])
    assert r.analytic["bottleneck"] == "sync rounds stage 0"
    assert r.metrics["throughput_samples_per_s"] == pytest.approx(
        r.analytic["throughput_samples_per_s"], rel=0.01
    )
