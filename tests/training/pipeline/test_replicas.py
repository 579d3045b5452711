"""Data-parallel pipeline replicas: the gradient all-reduce after the flush."""

from __future__ import annotations

import pytest

from tests.training.pipeline.helpers import run


@pytest.mark.parametrize("algorithm", ["ring", "recursive_doubling", "tree"])
def test_data_parallel_replicas_all_reduce_their_gradients(algorithm: str) -> None:
    """Two pipelines on a fully connected cluster (no contention): the minibatch ends when
    stage 0, the last to finish, has all-reduced its gradients, with the algorithm's time."""
    wl = {
        "schedule": "1f1b",
        "stages": 2,
        "microbatches": 4,
        "replicas": 2,
        "allreduce_algorithm": algorithm,
        "profile": {"count": 4, "flops": "10 GFLOP", "activation": "0 B", "params": "50 MB"},
    }
    r = run(wl, nodes=4, topology="fully_connected", link={"bandwidth": "100 GB/s", "latency": 0})
    assert r.checks["pipeline_gradient_equals_full_batch"]["passed"]
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(
        r.analytic["time_per_minibatch_s"], rel=1e-9
    )
    assert r.metrics["data_parallel_sync_time_fraction"] > 0
