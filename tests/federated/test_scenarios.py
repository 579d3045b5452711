"""What the federated scenario files claim, on shortened runs of the files themselves."""

from __future__ import annotations

import clustersim
from tests.paths import SCENARIOS


def test_non_iid_partitions_learn_more_slowly_than_iid() -> None:
    path = SCENARIOS / "federated_partitions.yaml"
    short = [("workload.rounds", 10), ("workload.verify", False)]
    iid = clustersim.run(path, [*short, ("workload.partition", {"kind": "iid"})]).metrics
    pathological = clustersim.run(path, short).metrics
    assert iid["final_accuracy"] > pathological["final_accuracy"] + 0.1
    assert iid["final_loss"] < pathological["final_loss"]


def test_five_percent_shared_data_recovers_most_of_the_1_class_loss() -> None:
    path = SCENARIOS / "federated_data_sharing.yaml"
    short = [("workload.rounds", 10), ("workload.centralized", False), ("workload.verify", False)]
    shared = clustersim.run(path, short).metrics["final_accuracy"]
    alone = clustersim.run(path, [*short, ("workload.sharing", None)]).metrics["final_accuracy"]
    iid = clustersim.run(
        path, [*short, ("workload.sharing", None), ("workload.partition", {"kind": "iid"})]
    ).metrics["final_accuracy"]
    assert alone < iid - 0.3  # 1-class non-IID costs a lot
    assert shared - alone > 0.5 * (iid - alone)  # sharing 5 % recovers most of it


def test_fedprox_keeps_learning_where_fedavg_drops_the_stragglers() -> None:
    path = SCENARIOS / "federated_fedprox_stragglers.yaml"
    m = clustersim.run(path, [("workload.rounds", 8), ("workload.verify", False)]).metrics
    assert m["final_loss"] < m["fedavg_final_loss"] - 0.5
    assert m["updates_straggler"] == 0  # FedProx aggregates every partial update
    assert m["fedavg_updates_reported"] == 8  # FedAvg keeps one client a round


def test_the_unreliable_wifi_run_meets_every_kind_of_failure() -> None:
    path = SCENARIOS / "federated_raspberry_wifi.yaml"
    r = clustersim.run(path, [("workload.rounds", 8)])
    m = r.metrics
    for status in ("late", "dropped", "lost"):
        assert m[f"updates_{status}"] > 0, status
    assert m["bytes_down_total"] > m["model_bytes"] * sum(m["selected_per_client"])  # resends
    assert m["round_time_mean_s"] > r.analytic["round_time_mean_s"]  # airtime is shared
    assert r.passed
