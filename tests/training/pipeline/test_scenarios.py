"""What the pipeline scenario files claim in their descriptions.

(``tests/test_scenarios.py`` runs every scenario and its checks; this file checks the numbers
each one is there to show.)
"""

from __future__ import annotations

import pytest

import clustersim
from clustersim.training.pipeline import costs
from tests.paths import SCENARIOS


def _run(name: str, *overrides: str) -> clustersim.Result:
    return clustersim.run(SCENARIOS / name, list(overrides))


def test_gpipe_k4_bubble_and_throughput_against_m() -> None:
    runs = {m: _run(f"pipeline_gpipe_m{m}.yaml") for m in (1, 4, 32)}
    for m, r in runs.items():
        assert r.checks["pipeline_gradient_equals_full_batch"]["passed"]
        formula = costs.gpipe_bubble_fraction(4, m)
        # NVLink transfers put the run a little above the communication-free formula, never
        # below; the analytic flush prices them as machines of the flow shop, so it is the run
        assert formula <= r.metrics["bubble_fraction"] < formula * 1.02
        assert r.analytic["bubble_fraction"] == pytest.approx(r.metrics["bubble_fraction"])
        assert r.analytic["time_per_minibatch_s"] == pytest.approx(
            r.metrics["time_per_minibatch_s"]
        )
    tput = [runs[m].metrics["throughput_samples_per_s"] for m in (1, 4, 32)]
    assert tput[0] < tput[1] < tput[2]
    # M = 32 against M = 1: the bubble formula says 4·32/35 = 3.66x for micro-batches that take
    # 1/M of the minibatch's time, which holds for the roofline alone
    off = "cluster.device={preset: V100, launch_overhead: 0}"
    bare = [_run(f"pipeline_gpipe_m{m}.yaml", off).metrics for m in (1, 32)]
    ratio = bare[1]["throughput_samples_per_s"] / bare[0]["throughput_samples_per_s"]
    assert ratio == pytest.approx(4 * 32 / 35, rel=0.01)
    # the V100's 5 us per kernel is paid per micro-batch, 32 times as often at M = 32: the gain
    # is smaller, as the analytic column (which prices the same launches) says
    launched = tput[2] / tput[0]
    assert launched < ratio
    predicted = [runs[m].analytic["throughput_samples_per_s"] for m in (1, 32)]
    assert launched == pytest.approx(predicted[1] / predicted[0], rel=0.01)


def test_1f1b_needs_a_quarter_of_gpipe_memory_on_stage_0() -> None:
    g = _run("pipeline_memory_gpipe.yaml", "workload.verify=false")
    o = _run("pipeline_memory_1f1b.yaml", "workload.verify=false")
    gm = g.metrics["peak_activation_memory_bytes_per_stage"]
    om = o.metrics["peak_activation_memory_bytes_per_stage"]
    assert [a / b for a, b in zip(gm, om, strict=True)] == pytest.approx([4, 16 / 3, 8, 16])
    assert gm[0] > 30e9 > 8e9 > om[0]  # 30.7 GB vs 7.7 GB on an 80 GB A100
    assert o.metrics["time_per_minibatch_s"] == pytest.approx(
        g.metrics["time_per_minibatch_s"], rel=0.01
    )
    rec = _run("pipeline_memory_gpipe.yaml", "workload.verify=false", "workload.recompute=true")
    assert (
        rec.metrics["peak_activation_memory_bytes"] < g.metrics["peak_activation_memory_bytes"] / 10
    )
    assert rec.metrics["time_per_minibatch_s"] > g.metrics["time_per_minibatch_s"] * 1.25


def test_interleaving_shrinks_the_bubble() -> None:
    inter = _run("pipeline_interleaved_1f1b.yaml")
    plain = _run(
        "pipeline_interleaved_1f1b.yaml",
        "workload.schedule=1f1b",
        "workload.chunks=1",
        "workload.verify=false",
    )
    assert inter.checks["pipeline_gradient_equals_full_batch"]["passed"]
    assert inter.analytic["bubble_over_ideal_fraction"] == pytest.approx(3 / 16)
    assert plain.analytic["bubble_over_ideal_fraction"] == pytest.approx(3 / 8)
    assert inter.metrics["bubble_fraction"] < plain.metrics["bubble_fraction"] - 0.05
    assert inter.metrics["time_per_minibatch_s"] < plain.metrics["time_per_minibatch_s"]
    # twice as many stage boundaries are crossed
    assert inter.metrics["bytes_between_stages"] == pytest.approx(
        (8 - 1) / (4 - 1) * plain.metrics["bytes_between_stages"]
    )


def test_3d_parallelism_reports_where_the_time_goes() -> None:
    r = _run("pipeline_3d_parallel.yaml")
    m = r.metrics
    parts = [
        m["compute_time_fraction"],
        m["tensor_parallel_comm_time_fraction"],
        m["data_parallel_sync_time_fraction"],
        m["idle_time_fraction"],
    ]
    assert sum(parts) == pytest.approx(1.0)
    assert all(p > 0 for p in parts)
    assert m["compute_time_fraction"] > 0.5
    assert m["devices_used"] == 16 and m["plan"] == "4x2x2"
    assert r.checks["pipeline_gradient_equals_full_batch"]["passed"]
    # the bubble departs from the 1F1B formula upwards: TP all-reduces and InfiniBand hops
    assert m["bubble_fraction"] > r.analytic["bubble_fraction"]
