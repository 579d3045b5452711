"""Data-parallel training: replicas == one worker on the concatenated batch, simulated time ==
the bucket formula on contention-free networks, overlap hides communication, Goyal et al.'s
learning-rate rules, and the input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import clustersim
from clustersim.collectives import ring
from clustersim.errors import InputError
from clustersim.training import datasets
from clustersim.training.data_parallel.kind import (
    DataParallelParams,
    LayerCost,
    buckets_of,
    learning_rate,
)

GBPS = 1e9 / 8


def scenario(
    nodes: int = 4,
    topology: str = "switch",
    bandwidth: float = 10 * GBPS,
    latency: float = 5e-6,
    device: str = "H100",
    **workload,
) -> dict:
    base = {
        "kind": "data_parallel",
        "iterations": 20,
        "dataset": {"samples": 1024, "test_samples": 256},
    }
    base.update(workload)
    return {
        "name": "dp-test",
        "seed": 3,
        "cluster": {
            "topology": {"kind": topology, "nodes": nodes},
            "device": device,
            "link": {"bandwidth": bandwidth, "latency": latency},
        },
        "workload": base,
    }


# ------------------------------------------------------------------- numerics and the check
@pytest.mark.parametrize(
    "workload",
    [
        {},
        {"algorithm": "recursive_doubling"},
        {"algorithm": "halving_doubling", "workers": 3},
        {"sync": "parameter_server", "servers": 2},
        {"overlap": True, "bucket_size": 1000, "model": [16, 32, 32, 4]},
        {"lr_scaling": "linear", "warmup": 0.5},
    ],
    ids=[
        "ring",
        "recursive_doubling",
        "halving_doubling_3",
        "ps_2_servers",
        "overlap",
        "linear_warmup",
    ],
)
def test_data_parallel_equals_single_worker(workload: dict) -> None:
    result = clustersim.run(scenario(nodes=5, **workload))
    record = result.checks["data_parallel_equals_single_worker"]
    assert record["passed"], record
    assert record["steps"] == 20
    assert record["max_abs_err"] < 1e-12


def test_check_catches_a_broken_allreduce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: a ring that skips its last reduce-scatter step sums wrongly."""
    original = ring.ring_reduce_scatter_step

    def skip_last(padded: np.ndarray, step: int) -> None:
        if step < padded.shape[0] - 2:
            original(padded, step)

    monkeypatch.setattr(ring, "ring_reduce_scatter_step", skip_last)
    result = clustersim.run(scenario(iterations=3))
    record = result.checks["data_parallel_equals_single_worker"]
    assert not record["passed"]
    assert record["max_abs_err"] > 1e-6


def test_the_model_learns() -> None:
    result = clustersim.run(
        scenario(iterations=150, dataset={"samples": 2048, "test_samples": 512})
    )
    m = result.metrics
    assert m["final_accuracy"] > 0.6  # chance is 0.1
    assert m["train_loss_curve"][-1] < 0.5 * m["train_loss_curve"][0]
    assert len(m["train_loss_curve"]) == 150
    assert m["test_accuracy_iterations"][-1] == 150


def test_teacher_dataset_learns() -> None:
    result = clustersim.run(
        scenario(
            iterations=150,
            model=[8, 64, 3],
            dataset={"kind": "teacher", "samples": 2048, "test_samples": 512},
        )
    )
    assert result.metrics["final_accuracy"] > 0.7  # chance is 1/3


def test_same_seed_same_result() -> None:
    a = clustersim.run(scenario(iterations=5)).to_json(include_wall=False)
    b = clustersim.run(scenario(iterations=5)).to_json(include_wall=False)
    assert a == b


# ----------------------------------------------------------------------- timing vs formula
def test_time_equals_formula_without_overlap() -> None:
    result = clustersim.run(scenario())
    m, a = result.metrics, result.analytic
    for name in (
        "time_per_iteration_s",
        "compute_s",
        "communication_s",
        "exposed_communication_s",
        "scaling_efficiency",
        "bytes_total",
    ):
        assert m[name] == pytest.approx(a[name], rel=1e-9), name
    assert m["exposed_communication_s"] == pytest.approx(m["communication_s"], rel=1e-9)
    assert m["scaling_efficiency"] == pytest.approx(m["compute_s"] / m["time_per_iteration_s"])


def test_ring_traffic_is_2_n_minus_1_g() -> None:
    result = clustersim.run(scenario(nodes=6, iterations=7))
    m = result.metrics
    assert m["bytes_total"] == 2 * (6 - 1) * m["gradient_bytes"] * 7
    assert m["bytes_per_iteration"] == [2 * 5 * m["gradient_bytes"]] * 7


def test_parameter_server_traffic_is_2_w_g() -> None:
    result = clustersim.run(scenario(nodes=5, iterations=4, sync="parameter_server"))
    m = result.metrics
    assert m["workers"] == 4
    assert m["bytes_total"] == 2 * 4 * m["gradient_bytes"] * 4
    assert m["time_per_iteration_s"] == pytest.approx(
        result.analytic["time_per_iteration_s"], rel=1e-9
    )


RESNET = {"builtin": "resnet50"}


@pytest.mark.parametrize("overlap", [False, True])
def test_timing_only_profile_matches_formula(overlap: bool) -> None:
    result = clustersim.run(
        scenario(
            nodes=8,
            bandwidth=100 * GBPS,
            model=RESNET,
            overlap=overlap,
            batch_size=64,
            iterations=3,
        )
    )
    m, a = result.metrics, result.analytic
    assert "final_accuracy" not in m and not result.checks
    for name in ("time_per_iteration_s", "compute_s", "communication_s", "exposed_communication_s"):
        assert m[name] == pytest.approx(a[name], rel=1e-9), name
    assert m["gradient_bytes"] == pytest.approx(25.5e6 * 4, rel=0.02)  # 25.5 M parameters


def test_overlap_hides_communication() -> None:
    # V100s on 400 Gbps: ~6 ms of compute against ~4 ms of all-reduce per iteration
    runs = {
        o: clustersim.run(
            scenario(
                nodes=8,
                bandwidth=400 * GBPS,
                device="V100",
                model=RESNET,
                overlap=o,
                batch_size=64,
                iterations=2,
            )
        ).metrics
        for o in (False, True)
    }
    plain, hidden = runs[False], runs[True]
    assert hidden["buckets"] > 1 and plain["buckets"] == 1
    assert hidden["compute_s"] == pytest.approx(plain["compute_s"])
    assert hidden["exposed_communication_s"] < 0.5 * plain["exposed_communication_s"]
    assert hidden["time_per_iteration_s"] < plain["time_per_iteration_s"]
    # the same bytes move either way (ring traffic is linear in the bucket sizes)
    assert hidden["bytes_total"] == pytest.approx(plain["bytes_total"])


def test_buckets_follow_backward_order() -> None:
    layers = [LayerCost(f"l{i}", n, 0, 0, 0, 0) for i, n in enumerate([10, 300, 5, 200, 50])]
    assert buckets_of(layers, 1000, 4, overlap=False) == [[4, 3, 2, 1, 0]]
    # 4 B per element: 50 -> 200 B, +200 -> 1000 B closes; 5 + 300 -> 1220 B closes; 10 left
    assert buckets_of(layers, 1000, 4, overlap=True) == [[4, 3], [2, 1], [0]]


# -------------------------------------------------------------------------- learning rate
def test_linear_scaling_and_warmup() -> None:
    params = DataParallelParams(lr=0.1, batch_size=32, lr_scaling="linear", warmup=2)
    per_epoch = 10
    # Goyal et al. §2.2: start at lr, add a constant each iteration, reach k·lr after warm-up
    assert learning_rate(params, 0, 8, per_epoch) == pytest.approx(0.1)
    assert learning_rate(params, 10, 8, per_epoch) == pytest.approx(0.1 + 0.7 * 10 / 20)
    assert learning_rate(params, 20, 8, per_epoch) == pytest.approx(0.8)
    assert learning_rate(params, 500, 8, per_epoch) == pytest.approx(0.8)
    base256 = DataParallelParams(lr=0.1, batch_size=32, lr_scaling="linear", base_batch=256)
    assert learning_rate(base256, 0, 32, per_epoch) == pytest.approx(0.1 * 32 * 32 / 256)
    flat = DataParallelParams(lr=0.1)
    assert learning_rate(flat, 0, 8, per_epoch) == learning_rate(flat, 99, 8, per_epoch) == 0.1


def test_timeline_has_every_kernel_and_bucket() -> None:
    result = clustersim.run(
        scenario(iterations=2, overlap=True, bucket_size=1000, model=[16, 32, 32, 4]), trace=True
    )
    names = {s.name.split()[0] for s in result.trace.spans if s.lane == ("n0", "compute")}
    assert names == {"forward", "backward", "update"}
    buckets = [s for s in result.trace.spans if s.lane == ("gradients", "exchange")]
    assert len(buckets) == 2 * result.metrics["buckets"]


def test_single_worker_needs_no_network() -> None:
    result = clustersim.run(scenario(workers=1, iterations=5))
    m = result.metrics
    assert m["bytes_total"] == 0 and m["communication_s"] == 0
    assert m["scaling_efficiency"] == pytest.approx(1.0)
    assert result.checks["data_parallel_equals_single_worker"]["max_abs_err"] == 0.0


def test_epochs_set_the_iterations() -> None:
    result = clustersim.run(scenario(iterations=None, epochs=1.5))
    # 1024 samples / (4 workers × 32) = 8 iterations per epoch
    assert result.metrics["iterations"] == 12
    assert result.metrics["epochs"] == pytest.approx(1.5)


# ------------------------------------------------------------------------------- datasets
def test_workers_batches_concatenate_to_the_global_batch() -> None:
    sampler = datasets.GlobalBatchSampler(100, 3, 8, np.random.default_rng(0))
    assert sampler.iterations_per_epoch == 4
    seen = np.concatenate([sampler.batch(k).ravel() for k in range(4)])
    assert len(set(seen.tolist())) == 96  # an epoch never repeats a sample
    assert sampler.batch(4).shape == (3, 8)  # next epoch reshuffles


def test_datasets_are_deterministic_and_shaped() -> None:
    a = datasets.gaussian_blobs(np.random.default_rng(1), 50, 10, 4, 3)
    b = datasets.gaussian_blobs(np.random.default_rng(1), 50, 10, 4, 3)
    assert np.array_equal(a.x_train, b.x_train) and a.x_test.shape == (10, 4)
    t = datasets.teacher_dataset(np.random.default_rng(2), 200, 20, 5, 4, hidden=16)
    assert set(np.unique(t.y_train)) <= set(range(4)) and t.features == 5


# --------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("workload", "message"),
    [
        ({"warmup": 1}, "lr_scaling"),
        ({"iterations": 5, "epochs": 1}, "not both"),
        ({"model": [16, 8, 4], "dataset": {"features": 10}}, "dataset.features"),
        ({"model": [16]}, "MLP layer sizes"),
        ({"servers": 2}, "parameter_server"),
        ({"algorithm": "nope"}, "unknown all-reduce algorithm"),
        ({"workers": 9}, "more than"),
        ({"batch_size": 512}, "global batch"),
        ({"dataset": {"kind": "teacher", "separation": 2}}, "separation"),
    ],
)
def test_input_errors(workload: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clustersim.run(scenario(**workload))


def test_default_iterations_and_sizes() -> None:
    params = DataParallelParams()
    assert params.mlp_sizes() == [32, 64, 10]
    assert math.isclose(params.lr, 0.05)
