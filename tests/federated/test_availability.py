"""Clients that are offline at selection, drop out mid-round, or are still busy."""

from __future__ import annotations

import numpy as np

from tests.federated.helpers import run


def test_a_client_offline_for_the_whole_run_is_never_selected() -> None:
    r = run({"clients_per_round": 9, "rounds": 6, "availability": {"offline": {"c3": [[0, 1000]]}}})
    m = r.metrics
    assert m["selected_per_client"][3] == 0
    assert sum(m["selected_per_client"]) == 9 * 6  # the other 9 every round


def test_an_offline_interval_starting_mid_round_drops_the_client() -> None:
    """c0 goes offline 1.5 ms into the run: after its 1 ms download, during training."""
    r = run(
        {
            "rounds": 3,
            "slowdown": [1000.0] + [1.0] * 9,
            "availability": {"offline": {"c0": [["1.5 ms", "1 s"]]}},
        }
    )
    m = r.metrics
    assert m["updates_offline"] == 1
    assert m["participation_per_client"][0] == 0
    assert m["selected_per_client"][0] == 1  # offline at the next two selections
    assert m["updates_reported"] == 9 * 3


def test_dropouts_never_upload() -> None:
    r = run({"rounds": 20, "availability": {"dropout_probability": 0.3}})
    m = r.metrics
    selected = sum(m["selected_per_client"])
    assert 0.15 * selected < m["updates_dropped"] < 0.45 * selected
    assert m["updates_reported"] + m["updates_dropped"] == selected
    assert m["bytes_up_total"] == m["updates_reported"] * m["model_bytes"]
    assert m["bytes_down_total"] == selected * m["model_bytes"]


def test_offline_probability_thins_the_selection() -> None:
    r = run({"rounds": 30, "availability": {"offline_probability": 0.5}})
    per_round = sum(r.metrics["selected_per_client"]) / 30
    assert 3 < per_round < 7  # about half of the 10


def test_a_late_client_is_busy_and_not_selected_again_until_done() -> None:
    """c0 needs ~60 ms a round, the deadline is 20 ms: it is late, and while it still works
    the following rounds run without it."""
    r = run({"rounds": 6, "deadline": "20 ms", "slowdown": [30000.0] + [1.0] * 9})
    m = r.metrics
    assert m["participation_per_client"][0] == 0
    assert m["updates_late"] == m["selected_per_client"][0] >= 1
    assert m["selected_per_client"][0] < 6
    assert all(t == np.float64(20e-3) or t < 20e-3 + 1e-6 for t in m["round_time_s"])
