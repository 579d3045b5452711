"""The pipeline process against its cost model: equal when it should be, departing when theory
says it must (unbalanced stages, slow links, stragglers), plus memory, traffic and checks."""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.scenario.loader import load_scenario
from clustersim.training.pipeline import costs

PEAK = 100e12  # FLOP/s of the test device
GFLOP = 1e9


def _scenario(
    workload: dict[str, Any],
    *,
    nodes: int = 4,
    topology: str = "switch",
    link: dict[str, Any] | None = None,
    **cluster: Any,
) -> dict[str, Any]:
    wl = {"kind": "pipeline", "verify": True, **workload}
    wl.setdefault(
        "profile", {"count": 8, "flops": "10 GFLOP", "activation": "0 B", "params": "1 MB"}
    )
    return {
        "name": "pipeline-test",
        "cluster": {
            "topology": {"kind": topology, "nodes": nodes},
            "device": {"peak_flops": PEAK, "mem_bandwidth": "1 PB/s", "memory": "80 GB"},
            "link": link or {"bandwidth": "1 PB/s", "latency": 0},
            **cluster,
        },
        "workload": wl,
    }


def _run(workload: dict[str, Any], **kw: Any) -> clustersim.Result:
    return clustersim.run(_scenario(workload, **kw))


CASES = [
    ("gpipe", 4, 1, 1),
    ("gpipe", 4, 4, 1),
    ("gpipe", 4, 32, 1),
    ("gpipe", 2, 8, 1),
    ("1f1b", 4, 4, 1),
    ("1f1b", 4, 8, 1),
    ("1f1b", 8, 3, 1),
    ("naive", 4, 4, 1),
    ("interleaved_1f1b", 4, 8, 2),
    ("interleaved_1f1b", 2, 4, 4),
]


@pytest.mark.parametrize(("schedule", "k", "m", "v"), CASES)
def test_balanced_stages_free_communication_equal_the_formula(
    schedule: str, k: int, m: int, v: int
) -> None:
    wl = {
        "schedule": schedule,
        "stages": k,
        "microbatches": m,
        "chunks": v,
        "profile": {"count": 2 * k * v, "flops": "10 GFLOP", "activation": "0 B"},
    }
    r = _run(wl, nodes=k)
    formula = costs.bubble_fraction(schedule, k, m, v)
    assert r.metrics["bubble_fraction"] == pytest.approx(formula, rel=1e-9, abs=1e-12)
    assert r.metrics["bubble_over_ideal_fraction"] == pytest.approx(
        costs.bubble_over_ideal_fraction(schedule, k, m, v), rel=1e-9, abs=1e-12
    )
    assert r.analytic["bubble_fraction"] == pytest.approx(formula)
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(
        r.analytic["time_per_minibatch_s"], rel=1e-9
    )
    # each device does 2 layers x v chunks x (1 + 2) x 10 GFLOP per micro-batch
    t_stage = 2 * v * 3 * 10 * GFLOP / PEAK
    assert r.analytic["time_per_minibatch_s"] == pytest.approx(
        costs.pipeline_flush_time(schedule, k, m, t_stage, v)
    )
    assert r.checks["pipeline_gradient_equals_full_batch"]["passed"]


def test_simulated_bubble_for_gpipe_k4_m4() -> None:
    r = _run({"schedule": "gpipe", "stages": 4, "microbatches": 4})
    assert r.metrics["bubble_fraction"] == pytest.approx(3 / 7, rel=1e-12)
    assert r.metrics["bubble_fraction_per_stage"] == pytest.approx([3 / 7] * 4, rel=1e-12)


def test_unbalanced_stages_depart_upwards_as_a_flow_shop() -> None:
    """One stage twice as slow: GPipe's forward phase is a flow shop of M identical jobs,
    ``Σ f_k + (M-1)·max f``, and so is the backward phase: the bubble grows past
    (K-1)/(M+K-1) exactly by that much."""
    flops = [10, 10, 10, 10, 10, 10, 20, 20]  # stage 3 holds the two heavy layers
    layers = [{"flops": f"{f} GFLOP", "activation": "0 B"} for f in flops]
    k, m = 4, 8
    r = _run({"schedule": "gpipe", "stages": k, "microbatches": m, "profile": {"layers": layers}})
    f = [(flops[2 * i] + flops[2 * i + 1]) * GFLOP / PEAK for i in range(k)]
    flow_shop = 3 * (sum(f) + (m - 1) * max(f))  # forward + backward (2x), flow-shop each
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(flow_shop, rel=1e-9)
    assert r.metrics["bubble_fraction"] > costs.gpipe_bubble_fraction(k, m) + 0.2
    per_stage = r.metrics["bubble_fraction_per_stage"]
    assert per_stage[3] < min(per_stage[:3])  # the slow stage idles least
    # the analytic time uses the slowest stage: (M+K-1)·t_max, an upper bound here
    assert r.metrics["time_per_minibatch_s"] < r.analytic["time_per_minibatch_s"]


def test_slow_links_add_the_transfer_time_on_the_critical_path() -> None:
    """Each hop costs c = route latency + size/bandwidth. While c < t_f the flow shop gains
    ``(K-1)·c`` forward and again backward; the bubble departs upwards by exactly that."""
    k, m = 4, 8
    wl = {
        "schedule": "gpipe",
        "stages": k,
        "microbatches": m,
        "profile": {"count": 8, "flops": "10 GFLOP", "activation": "10 MB"},
    }
    fast = _run(wl)
    slow = _run(wl, link={"bandwidth": "100 GB/s", "latency": "5 us"})
    c = 2 * 5e-6 + 10e6 / 100e9  # two hops through the switch, then the bytes
    assert slow.metrics["time_per_minibatch_s"] == pytest.approx(
        slow.analytic["time_per_minibatch_s"] + 2 * (k - 1) * c, rel=1e-9
    )
    assert fast.metrics["bubble_fraction"] == pytest.approx(
        costs.gpipe_bubble_fraction(k, m), rel=1e-4
    )
    assert slow.metrics["bubble_fraction"] > fast.metrics["bubble_fraction"] + 0.01


def test_a_straggler_slows_its_stage() -> None:
    wl = {"schedule": "1f1b", "stages": 4, "microbatches": 8}
    r = _run(wl, slowdown={"n1": 2.0})
    assert r.metrics["stage_compute_time_s"][1] == pytest.approx(
        2 * r.metrics["stage_compute_time_s"][0]
    )
    assert r.metrics["bubble_fraction"] > costs.bubble_fraction("1f1b", 4, 8) + 0.1
    assert r.metrics["bubble_fraction_per_stage"][1] == min(r.metrics["bubble_fraction_per_stage"])


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_peak_activation_memory_and_recomputation(schedule: str) -> None:
    k, m = 4, 8
    prof = {"count": 8, "flops": "10 GFLOP", "activation": "1 MB", "input": "1 MB"}
    wl = {"schedule": schedule, "stages": k, "microbatches": m, "batch": 2 * m, "profile": prof}
    plain, rec = _run(wl), _run({**wl, "recompute": True})
    full, inputs = 2 * 3e6, 2 * 1e6  # per micro-batch of 2: input + 2 layer outputs / input
    held = [costs.in_flight_microbatches(schedule, k, m, d) for d in range(k)]
    assert plain.metrics["peak_activation_memory_bytes_per_stage"] == pytest.approx(
        [n * full for n in held]
    )
    assert rec.metrics["peak_activation_memory_bytes_per_stage"] == pytest.approx(
        [n * inputs + full - inputs for n in held]
    )
    assert rec.analytic["peak_activation_memory_bytes_per_stage"] == pytest.approx(
        rec.metrics["peak_activation_memory_bytes_per_stage"]
    )
    # recomputation adds one forward per micro-batch: t_stage goes from 3 f to 4 f
    assert rec.metrics["time_per_minibatch_s"] == pytest.approx(
        plain.metrics["time_per_minibatch_s"] * 4 / 3, rel=1e-6
    )
    assert rec.checks["pipeline_gradient_equals_full_batch"]["passed"]


def test_1f1b_holds_k_minus_s_where_gpipe_holds_m() -> None:
    prof = {"count": 4, "flops": "1 GFLOP", "activation": "1 MB"}
    g = _run({"schedule": "gpipe", "stages": 4, "microbatches": 16, "profile": prof})
    o = _run({"schedule": "1f1b", "stages": 4, "microbatches": 16, "profile": prof})
    ratio = [
        a / b
        for a, b in zip(
            g.metrics["peak_activation_memory_bytes_per_stage"],
            o.metrics["peak_activation_memory_bytes_per_stage"],
            strict=True,
        )
    ]
    assert ratio == pytest.approx([16 / 4, 16 / 3, 16 / 2, 16 / 1])
    assert o.metrics["bubble_fraction"] == pytest.approx(g.metrics["bubble_fraction"], rel=1e-3)


def test_bytes_between_stages() -> None:
    k, m, b = 4, 4, 3
    r = _run(
        {
            "schedule": "1f1b",
            "stages": k,
            "microbatches": m,
            "batch": b * m,
            "profile": {"count": 8, "flops": "1 GFLOP", "activation": "1 MB"},
        }
    )
    expected = 2 * 1e6 * b * m  # activations forward and their gradients back, per boundary
    assert r.metrics["bytes_between_stages_per_boundary"] == pytest.approx([expected] * 3)
    assert r.analytic["bytes_between_stages"] == pytest.approx(3 * expected)
    assert r.metrics["bytes_total"] == pytest.approx(3 * expected)


def test_pipedream_steady_state_and_weight_versions() -> None:
    r = _run({"schedule": "pipedream", "stages": 4, "microbatches": 8})
    assert r.metrics["bubble_fraction"] == pytest.approx(0.0, abs=1e-9)
    assert r.metrics["throughput_samples_per_s"] == pytest.approx(
        r.analytic["throughput_samples_per_s"], rel=1e-9
    )
    # SOSP 2019 §3.3: stage i of K keeps K-i weight versions
    assert r.metrics["weight_versions_per_stage"] == [4, 3, 2, 1]
    assert r.analytic["weight_versions_per_stage"] == [4, 3, 2, 1]
    check = r.checks["weight_stashing_consistent"]
    assert check["passed"] and check["version_mismatches"] == 0


def test_weight_stashing_negative_control_fails() -> None:
    r = _run({"schedule": "pipedream", "stages": 4, "microbatches": 8, "weight_stashing": False})
    check = r.checks["weight_stashing_consistent"]
    assert not check["passed"]
    assert check["version_mismatches"] > 0 and check["max_abs_err"] > 1e-3
    assert not r.passed


def test_replicated_pipedream_stages_sync_in_rounds() -> None:
    r = _run(
        {
            "schedule": "pipedream",
            "stages": 2,
            "microbatches": 4,
            "replicas": 2,
            "profile": {"count": 4, "flops": "10 GFLOP", "activation": "1 MB", "params": "100 MB"},
        },
        link={"bandwidth": "100 GB/s", "latency": "1 us"},
    )
    assert r.checks["weight_stashing_consistent"]["passed"]
    assert r.metrics["plan"] == "2-2"


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
    r = _run(wl, nodes=4, topology="fully_connected", link={"bandwidth": "100 GB/s", "latency": 0})
    assert r.checks["pipeline_gradient_equals_full_batch"]["passed"]
    assert r.metrics["time_per_minibatch_s"] == pytest.approx(
        r.analytic["time_per_minibatch_s"], rel=1e-9
    )
    assert r.metrics["data_parallel_sync_time_fraction"] > 0


def test_tensor_parallel_stages() -> None:
    wl = {
        "schedule": "1f1b",
        "stages": 2,
        "microbatches": 4,
        "profile": {
            "builtin": "transformer",
            "count": 4,
            "hidden": 256,
            "seq_len": 128,
            "heads": 8,
        },
    }
    one = _run(
        wl, nodes=4, topology="fully_connected", link={"bandwidth": "100 GB/s", "latency": "1 us"}
    )
    two = _run(
        {**wl, "tensor_parallel": 2},
        nodes=4,
        topology="fully_connected",
        link={"bandwidth": "100 GB/s", "latency": "1 us"},
    )
    assert two.metrics["stage_compute_time_s"] == pytest.approx(
        [x / 2 for x in one.metrics["stage_compute_time_s"]]
    )
    assert two.metrics["tensor_parallel_comm_time_fraction"] > 0
    # the analytic time leaves out the point-to-point latencies between stages
    assert two.analytic["time_per_minibatch_s"] < two.metrics["time_per_minibatch_s"]
    assert two.metrics["time_per_minibatch_s"] == pytest.approx(
        two.analytic["time_per_minibatch_s"], rel=5e-2
    )
    fractions = [
        two.metrics[k]
        for k in (
            "compute_time_fraction",
            "tensor_parallel_comm_time_fraction",
            "data_parallel_sync_time_fraction",
            "idle_time_fraction",
        )
    ]
    assert sum(fractions) == pytest.approx(1.0) and min(fractions) >= -1e-12
    assert two.checks["pipeline_gradient_equals_full_batch"]["passed"]


def test_trace_has_the_staircase() -> None:
    r = clustersim.run(
        _scenario({"schedule": "gpipe", "stages": 4, "microbatches": 4, "recompute": True}),
        trace=True,
    )
    spans = [s for s in r.trace.spans if s.lane[1] == "compute"]
    assert {s.category for s in spans} == {"forward", "backward", "recompute"}
    first_forward = {s.lane[0]: s.start for s in reversed(spans) if s.name == "F0"}
    f = 2 * 10 * GFLOP / PEAK
    assert [first_forward[f"n{k}"] for k in range(4)] == pytest.approx([k * f for k in range(4)])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"batch": 6, "microbatches": 4}, "batch 6 must be a multiple of microbatches 4"),
        ({"partition": "planner"}, "planner needs schedule pipedream"),
        ({"chunks": 2}, "chunks 2 needs schedule interleaved_1f1b"),
        (
            {"schedule": "interleaved_1f1b", "chunks": 2, "microbatches": 6},
            "microbatches (6) to be a multiple of stages (4)",
        ),
        ({"stages": None}, "stages is required"),
        ({"allreduce_algorithm": "butterfly"}, "unknown all-reduce algorithm 'butterfly'"),
        ({"microbatches": 0}, "workload.microbatches: must be a positive integer, got 0"),
        ({"partition": [3, 3, 1]}, "partition lists 3 stages but stages x chunks is 4"),
        ({"weight_stashing": False}, "weight_stashing: false only applies to schedule pipedream"),
        ({"profile": {"count": 4}}, "needs flops and activation"),
        ({"profile": {"builtin": "transformer", "count": 4}}, "needs hidden, seq_len, heads"),
        (
            {"profile": {"builtin": "vgg16", "layers": [{"flops": 1, "activation": 1}]}},
            "exactly one of",
        ),
    ],
)
def test_bad_parameters_name_the_field(change: dict[str, Any], field: str) -> None:
    wl = {"schedule": "gpipe", "stages": 4, "microbatches": 4, **change}
    wl = {k: v for k, v in wl.items() if v is not None}
    with pytest.raises(InputError) as err:
        load_scenario(_scenario(wl))
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("change", "nodes", "text"),
    [
        ({"stages": 8}, 4, "needs 8 devices"),
        ({"stages": 16}, 16, "16 stages x 1 chunks need at least 16 layers"),
        ({"partition": [4, 3, 1, 1]}, 4, "sum to 9 but the profile has 8 layers"),
        ({"devices": ["n0", "n1", "n9", "n3"]}, 4, "'n9' is not a device"),
    ],
)
def test_impossible_placements_are_input_errors(
    change: dict[str, Any], nodes: int, text: str
) -> None:
    with pytest.raises(InputError, match=text):
        _run({"schedule": "gpipe", "stages": 4, "microbatches": 4, **change}, nodes=nodes)
