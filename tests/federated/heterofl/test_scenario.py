"""What federated_heterofl.yaml claims, on the file itself."""

from __future__ import annotations

import clustersim
from tests.paths import SCENARIOS

PATH = SCENARIOS / "federated_heterofl.yaml"


def test_the_pis_train_a_slice_and_heterofl_reaches_the_target_before_fedavg() -> None:
    compare = {"fedavg": {"algorithm": "fedavg", "heterofl": None}}
    m = clustersim.run(PATH, [("workload.compare", compare), ("workload.verify", False)]).metrics
    assert m["client_rate"] == [1.0] * 4 + [0.25] * 6  # Jetsons full, Pis a quarter
    assert m["round_time_mean_s"] < 0.5 * m["fedavg_time_s"] / m["rounds"]
    assert m["time_to_target_s"] is not None and m["fedavg_time_to_target_s"] is not None
    assert m["time_to_target_s"] < m["fedavg_time_to_target_s"]
    assert m["final_accuracy"] < m["fedavg_final_accuracy"]  # the price of the narrow slices
