"""Parameter server: traffic == 2·W·G per step, sim == formula without contention, stragglers
slow the barrier by the expected order statistic, backup workers cut it, SSP bounds the clock gap,
the sharded aggregation equals the sum, and bad parameters are clear input errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import clustersim
from clustersim.errors import InputError
from clustersim.hardware.presets import get_device
from clustersim.training.parameter_server import kind as ps
from clustersim.training.parameter_server.costs import (
    expected_order_statistic,
    order_statistic,
    ps_bytes_total,
    ps_phase_time,
)

MB = 1e6
BW = 12.5e9  # 100 Gbps
LAT = 5e-6
G = 40 * MB
C = 0.02
RING = Path(__file__).resolve().parents[1] / "scenarios" / "ring_allreduce.yaml"


def scenario(
    workers: int = 4,
    nodes: int | None = None,
    topology_kind: str = "switch",
    seed: int = 3,
    **workload,
) -> dict:
    spec = {
        "kind": "parameter_server",
        "workers": workers,
        "model_size": G,
        "compute": C,
        "iterations": 3,
        **workload,
    }
    servers = spec.get("servers") or 1
    return {
        "name": "ps-test",
        "seed": seed,
        "cluster": {
            "topology": {"kind": topology_kind, "nodes": nodes or workers + servers},
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": spec,
    }


def run(**kwargs) -> clustersim.Result:
    return clustersim.run(scenario(**kwargs))


# ----------------------------------------------------------------------------------- traffic
@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_bytes_total_is_2_n_minus_1_g(workers: int) -> None:
    m = run(workers=workers).metrics
    n_nodes = workers + 1
    assert m["bytes_total"] == 3 * 2 * (n_nodes - 1) * G  # the lecture notes' 2(N-1)G per step
    assert m["bytes_pushed"] == m["bytes_pulled"] == 3 * workers * G
    assert m["bytes_max_link"] == 3 * workers * G  # the server's link, each way
    assert m["bytes_per_link"]["sw->n0"] == m["bytes_per_link"]["n0->sw"] == 3 * workers * G
    assert m["bytes_per_link"]["n1->sw"] == 3 * G


@pytest.mark.parametrize(("servers", "elements"), [(2, 10_000_000), (3, 10_000_001), (5, 7)])
def test_sharded_bytes_are_exact(servers: int, elements: int) -> None:
    size = 4 * elements
    m = run(workers=4, servers=servers, model_size=size).metrics
    shards = np.array_split(np.arange(elements), servers)
    assert m["bytes_total"] == ps_bytes_total(4, size, 3) == 3 * 2 * 4 * size
    assert m["bytes_max_link"] == 3 * 4 * 4 * max(len(s) for s in shards)
    assert m["servers"] == servers and m["workers"] == 4


# ------------------------------------------------------------------------- time vs formula
def test_hand_formula_one_server_on_a_switch() -> None:
    result = run(workers=8)
    # compute + push + pull; each phase: two-hop latency + 8·G through the server's link
    expected = C + 2 * (2 * LAT + 8 * G / BW)
    assert result.analytic["time_per_iteration_s"] == pytest.approx(expected, rel=1e-14)
    assert result.metrics["time_per_iteration_s"] == pytest.approx(expected, rel=1e-9)
    assert result.metrics["time_s"] == pytest.approx(3 * expected, rel=1e-9)


@pytest.mark.parametrize("mode", ["sync", "async", "ssp"])
@pytest.mark.parametrize(("workers", "servers"), [(1, 1), (4, 1), (6, 2), (8, 4), (2, 4)])
def test_contention_free_time_equals_formula(mode: str, workers: int, servers: int) -> None:
    extra = {"staleness": 1} if mode == "ssp" else {}
    result = run(workers=workers, servers=servers, mode=mode, **extra)
    for name in (
        "time_per_iteration_s",
        "communication_s",
        "bytes_total",
        "bytes_max_link",
        "server_link_utilization",
    ):
        sim, formula = result.metrics[name], result.analytic[name]
        assert abs(sim - formula) / formula < 1e-6, name


def test_fully_connected_time_equals_formula() -> None:
    result = run(workers=5, servers=2, topology_kind="fully_connected", nodes=9)
    sim, formula = result.metrics["time_per_iteration_s"], result.analytic["time_per_iteration_s"]
    assert abs(sim - formula) / formula < 1e-6
    # every flow has its own link: each phase is latency + one shard at full link speed
    assert formula == pytest.approx(C + 2 * (LAT + G / 2 / BW), rel=1e-12)


def test_oversubscribed_uplink_makes_the_sim_slower() -> None:
    """Server n0 on leaf 0; workers n4..n7 reach it through a leaf uplink of B/2. Max-min gives
    them B/8 each (4 flows on the uplink) and the 3 local workers B/6, so a phase streams for
    8·G/B instead of the formula's 7·G/B."""
    spec = scenario(workers=7, compute=0)
    spec["cluster"]["topology"] = {
        "kind": "switch",
        "nodes": 8,
        "groups": 2,
        "uplink_bandwidth": BW / 2,
    }
    result = clustersim.run(spec)
    sim, formula = result.metrics["communication_s"], result.analytic["communication_s"]
    assert sim > formula
    assert sim - formula == pytest.approx(2 * G / BW, rel=1e-6)


def test_compute_in_flops_runs_on_the_roofline() -> None:
    spec = scenario(workers=3, compute="2 PFLOP")
    spec["cluster"]["device"] = "H100"
    result = clustersim.run(spec)
    seconds = get_device("H100").roofline_time(2e15, 0.0)
    assert result.metrics["compute_s"] == pytest.approx(seconds, rel=1e-12)
    expected = seconds + 2 * (2 * LAT + 3 * G / BW)
    assert result.metrics["time_per_iteration_s"] == pytest.approx(expected, rel=1e-9)
    assert result.analytic["time_per_iteration_s"] == pytest.approx(expected, rel=1e-12)


def test_server_link_utilization_formula() -> None:
    m = run(workers=8).metrics
    busy = 2 * 8 * G / BW  # push and pull streaming through the server's link
    assert m["server_link_utilization"] == pytest.approx(busy / m["time_per_iteration_s"], rel=1e-9)


def test_phase_time_terms() -> None:
    # server-bound, worker-bound and route-bound phases
    assert ps_phase_time(1.0, 4, [10.0], [2.0], 10.0, [5.0]) == 1.0 + 20.0
    assert ps_phase_time(0.0, 1, [5.0, 5.0], [10.0, 10.0], 10.0, [1.0]) == 10.0
    assert ps_phase_time(0.0, 2, [6.0], [100.0], 6.0, [100.0], route_bandwidth=2.0) == 3.0


def test_ps_grows_with_n_while_ring_stays_flat() -> None:
    ps_times, ring_times = [], []
    for n in (2, 4, 8, 16):
        ps_times.append(run(workers=n, nodes=17, compute=0).metrics["time_per_iteration_s"])
        ring = clustersim.run(
            RING,
            [
                "cluster.topology.kind=switch",
                f"cluster.topology.nodes={n}",
                f"cluster.link.bandwidth={BW}",
                f"cluster.link.latency={LAT}",
                f"workload.size={G}",
                "workload.verify=false",
            ],
        )
        ring_times.append(ring.metrics["time_s"])
    assert ps_times == pytest.approx([2 * (2 * LAT + n * G / BW) for n in (2, 4, 8, 16)])
    assert ring_times[-1] < 2 * ring_times[0]  # ring: 2(N-1)/N·G/B, bounded by 2G/B
    assert ps_times[-1] / ps_times[0] > 7.5  # PS: linear in N
    assert all(p > r for p, r in zip(ps_times, ring_times, strict=True))


# -------------------------------------------------------------------------------- stragglers
def test_fixed_stragglers_slow_the_barrier_by_the_max_exactly() -> None:
    factors = [1.0, 1.5, 1.0, 3.0]
    result = run(workers=4, stragglers=factors)
    m, a = result.metrics, result.analytic
    assert m["time_per_iteration_s"] - a["time_per_iteration_s"] == pytest.approx(
        C * (max(factors) - 1), rel=1e-9
    )
    assert m["time_per_iteration_s"] == pytest.approx(
        a["time_per_iteration_with_stragglers_s"], rel=1e-9
    )
    assert m["straggler_idle_s"] == pytest.approx(3 * sum(C * (3.0 - f) for f in factors), rel=1e-9)
    assert m["compute_s"] == pytest.approx(C * np.mean(factors), rel=1e-12)
    # every worker's step is compute + barrier wait + communication
    per_worker_idle = m["straggler_idle_s"] / (4 * 3)
    assert m["compute_s"] + per_worker_idle + m["communication_s"] == pytest.approx(
        m["time_per_iteration_s"], rel=1e-9
    )
    assert m["straggler_idle_fraction"] == pytest.approx(
        m["straggler_idle_s"] / (4 * m["time_s"]), rel=1e-12
    )


def test_random_stragglers_cost_the_expected_maximum() -> None:
    workers, iterations, sigma = 8, 1500, 0.5
    result = run(
        workers=workers,
        iterations=iterations,
        seed=11,
        stragglers={"dist": "lognormal", "sigma": sigma},
    )
    m, a = result.metrics, result.analytic
    delay = m["time_per_iteration_s"] - a["time_per_iteration_s"]
    assert delay > 0  # direction: the barrier waits for the slowest worker
    expected = C * (expected_order_statistic(np.ones(workers), "lognormal", sigma=sigma) - 1)
    assert a["straggler_delay_s"] == pytest.approx(expected, rel=1e-12)
    # amount: within 4 standard errors of the mean maximum over the iterations
    draws = np.random.default_rng(0).lognormal(0, sigma, (200_000, workers)).max(axis=1)
    stderr = C * draws.std() / math.sqrt(iterations)
    assert abs(delay - expected) < 4 * stderr


def test_expected_order_statistic_against_closed_forms() -> None:
    for w, b in ((1, 0), (8, 0), (8, 3), (32, 2)):
        # X_(k:W) of 1 + Exp(scale): scale·(1/W + ... + 1/(W-k+1)) over the shift
        k = w - b
        closed = 1 + 0.7 * sum(1 / i for i in range(w - k + 1, w + 1))
        got = expected_order_statistic(np.ones(w), "exponential", b, scale=0.7)
        assert got == pytest.approx(closed, rel=1e-6)
    # one lognormal: E[f] = exp(mu + sigma²/2)
    assert expected_order_statistic([2.0], "lognormal", mu=0.1, sigma=0.8) == pytest.approx(
        2 * math.exp(0.1 + 0.32), rel=1e-6
    )
    assert order_statistic([3.0, 1.0, 2.0, 5.0], 1) == 3.0


def test_backup_workers_drop_the_late_gradients_and_cut_the_step() -> None:
    stragglers = {"dist": "lognormal", "sigma": 0.8}
    slow = run(workers=8, iterations=100, stragglers=stragglers).metrics
    fast = run(workers=8, iterations=100, stragglers=stragglers, backup_workers=2).metrics
    assert fast["time_per_iteration_s"] < slow["time_per_iteration_s"]
    assert fast["straggler_idle_s"] < slow["straggler_idle_s"]
    assert fast["gradients_dropped"] == 2 * 100 and slow["gradients_dropped"] == 0
    assert fast["bytes_pushed"] == 100 * 6 * G and fast["bytes_pulled"] == 100 * 8 * G
    assert fast["bytes_total"] == ps_bytes_total(8, G, 100, 2)


def test_backup_worker_hides_a_fixed_straggler_exactly() -> None:
    result = run(workers=4, stragglers=[1.0, 1.0, 5.0, 1.0], backup_workers=1)
    m, a = result.metrics, result.analytic
    assert m["time_per_iteration_s"] == pytest.approx(a["time_per_iteration_s"], rel=1e-9)
    assert a["time_per_iteration_with_stragglers_s"] == a["time_per_iteration_s"]
    assert m["gradients_dropped"] == 3
    assert m["straggler_idle_s"] == 0.0
    no_backup = run(workers=4, stragglers=[1.0, 1.0, 5.0, 1.0]).metrics
    assert no_backup["time_per_iteration_s"] - m["time_per_iteration_s"] > 4 * C


# ------------------------------------------------------------------------------ async / ssp
def test_async_lockstep_staleness() -> None:
    m = run(workers=5, mode="async", iterations=4).metrics
    # all five pushes land together: they are applied 0..4 updates after the parameters read
    assert m["staleness_mean"] == 2.0 and m["staleness_max"] == 4
    assert m["clock_gap_max"] == 0 and m["straggler_idle_s"] == 0.0


@pytest.mark.parametrize("staleness", [0, 1, 3])
def test_ssp_bounds_the_clock_gap(staleness: int) -> None:
    factors = [1.0, 1.0, 1.0, 4.0]
    ssp = run(
        workers=4,
        mode="ssp",
        staleness=staleness,
        iterations=12,
        stragglers=factors,
        model_size=4 * MB,
    ).metrics
    free = run(
        workers=4, mode="async", iterations=12, stragglers=factors, model_size=4 * MB
    ).metrics
    assert ssp["clock_gap_max"] <= staleness
    # a gradient can be overtaken by at most 2s+1 pushes of each other worker
    assert ssp["staleness_max"] <= (4 - 1) * (2 * staleness + 1)
    assert free["clock_gap_max"] > 3  # async lets the fast workers run far ahead
    assert ssp["straggler_idle_s"] > 0 and free["straggler_idle_s"] == 0
    assert ssp["time_s"] == pytest.approx(free["time_s"], rel=0.3)  # the straggler sets both


def test_ssp_with_zero_staleness_is_bulk_synchronous() -> None:
    factors = [1.0, 2.0, 1.0]
    ssp = run(workers=3, mode="ssp", staleness=0, stragglers=factors).metrics
    assert ssp["clock_gap_max"] == 0
    assert ssp["staleness_max"] == 3 - 1  # only the same step's other pushes overtake


def test_random_stragglers_are_deterministic_per_seed() -> None:
    spec = {"workers": 4, "mode": "async", "stragglers": {"dist": "exponential", "scale": 0.5}}
    a, b = run(**spec).metrics, run(**spec).metrics
    c = run(seed=99, **spec).metrics
    assert a == b
    assert a["time_s"] != c["time_s"]


# ------------------------------------------------------------------------------ verification
@pytest.mark.parametrize(
    ("mode", "extra"),
    [
        ("sync", {}),
        ("sync", {"backup_workers": 1, "stragglers": [1, 2, 3]}),
        ("async", {"stragglers": {"dist": "exponential"}}),
        ("ssp", {"staleness": 1}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_aggregate_equals_sum(mode: str, extra: dict, dtype: str) -> None:
    result = run(
        workers=3, servers=2, model_size=8 * 1001, dtype=dtype, mode=mode, verify=True, **extra
    )
    record = result.checks["ps_aggregate_equals_sum"]
    assert record["passed"], record
    assert record["pushes"] == 3 * 3 - result.metrics["gradients_dropped"]


def test_verification_catches_a_lost_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ps.ps_push

    def drop_last_shard(accumulators, gradient, lengths):
        original(accumulators[:-1], gradient, lengths[:-1])

    monkeypatch.setattr(ps, "ps_push", drop_last_shard)
    result = run(workers=3, servers=2, model_size=4 * 1000, verify=True)
    assert not result.checks["ps_aggregate_equals_sum"]["passed"]
    assert not result.passed


def test_verify_false_moves_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object) -> None:
        raise AssertionError("kernel called in a timing-only run")

    monkeypatch.setattr(ps, "ps_push", forbidden)
    assert run(workers=3).checks == {}


def test_kernel_sums_shards() -> None:
    grads = np.arange(12, dtype=np.float64).reshape(3, 4)
    lengths = np.array([3, 1])
    np.testing.assert_array_equal(ps.ps_aggregate(grads, lengths), grads.sum(axis=0))


# ------------------------------------------------------------------------------- node choice
def test_role_ps_nodes_are_the_servers() -> None:
    spec = {
        "name": "ps-custom",
        "seed": 1,
        "cluster": {
            "topology": {
                "kind": "custom",
                "nodes": [
                    {"name": "w[0-2]"},
                    {"name": "sw", "kind": "switch"},
                    {"name": "ps0", "role": "ps"},
                ],
                "links": [{"a": "w[0-2]", "b": "sw"}, {"a": "ps0", "b": "sw"}],
            },
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": {"kind": "parameter_server", "model_size": G, "compute": C, "iterations": 2},
    }
    result = clustersim.run(spec)
    m = result.metrics
    assert m["servers"] == 1 and m["workers"] == 3
    assert m["bytes_per_link"]["sw->ps0"] == 2 * 3 * G
    assert m["time_per_iteration_s"] == pytest.approx(
        result.analytic["time_per_iteration_s"], rel=1e-9
    )
    spec["workload"]["servers"] = 2
    with pytest.raises(InputError, match="role: ps"):
        clustersim.run(spec)


def test_workers_default_to_every_other_device() -> None:
    spec = scenario(workers=4, nodes=6)
    del spec["workload"]["workers"]
    assert clustersim.run(spec).metrics["workers"] == 5


# ------------------------------------------------------------------------------ input errors
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backup_workers": 4}, r"backup_workers \(4\) must be less than workers \(4\)"),
        ({"workers": 9}, r"servers \+ workers \(1 \+ 9\) is more than the cluster's 5 devices"),
        ({"servers": 5}, r"servers \(5\) leaves no worker"),
        ({"mode": "ssp"}, "mode ssp needs a staleness bound"),
        ({"staleness": 2}, "staleness .* applies only to mode ssp"),
        ({"mode": "async", "backup_workers": 1}, "backup_workers .* applies only to mode sync"),
        ({"stragglers": [1.0, 2.0]}, r"one factor per worker \(4\), got 2"),
        ({"stragglers": [1.0, 0.0, 1.0, 1.0]}, "positive finite factor"),
        ({"stragglers": {"dist": "lognormal", "scale": 2}}, "scale does not apply to dist"),
        ({"stragglers": {"dist": "exponential", "scale": -1}}, "scale must be a positive"),
        ({"model_size": 4003}, "not a whole number of float32 elements"),
        ({"model_size": 0}, "model_size must be a positive"),
        ({"compute": "fast"}, "compute must be a time such as '20 ms'"),
        ({"compute": "-1 s"}, "compute must be a non-negative time"),
        ({"iteration": 3}, "unknown key 'iteration'"),
        ({"servers": 2, "workers": 3, "model_size": 4}, "fewer than the 2 servers"),
    ],
)
def test_bad_params_are_input_errors(changes: dict, message: str) -> None:
    spec = scenario(workers=4, nodes=5)
    spec["workload"].update(changes)
    with pytest.raises(InputError, match=message):
        clustersim.run(spec)


def test_verify_refuses_large_replays() -> None:
    with pytest.raises(InputError, match="verify: false"):
        run(workers=4, model_size=200 * MB, verify=True)
