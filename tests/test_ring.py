"""Ring collectives: kernel == direct computation, traffic == 2(N-1)S, time == alpha-beta formula
on contention-free topologies, and the contention the formula ignores where links are shared."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives import ring
from clustersim.collectives.kernels import chunk_lengths, from_padded, to_padded
from clustersim.core.simulation import Simulation
from clustersim.hardware import topology
from clustersim.hardware.cluster import Cluster
from clustersim.hardware.presets import get_device

GiB = 2**30
MiB = 2**20
BW = 50 * GiB
LAT = 500e-9


def scenario(
    nodes: int = 8,
    size: float = 64 * MiB,
    op: str = "allreduce",
    verify: bool = False,
    topology_kind: str = "ring",
    **workload,
) -> dict:
    return {
        "name": f"test-{op}-{nodes}",
        "seed": 3,
        "cluster": {
            "topology": {"kind": topology_kind, "nodes": nodes},
            "link": {"bandwidth": BW, "latency": LAT},
        },
        "workload": {
            "kind": "collective",
            "op": op,
            "algorithm": "ring",
            "size": size,
            "verify": verify,
            **workload,
        },
    }


# ------------------------------------------------------------------------------------ kernel
@pytest.mark.parametrize(
    ("p", "elements"), [(2, 1), (2, 7), (3, 3), (4, 16), (5, 23), (8, 3), (7, 50_000)]
)
def test_kernel_allreduce_equals_sum(p: int, elements: int) -> None:
    rng = np.random.default_rng(p * 1000 + elements)
    data = rng.standard_normal((p, elements))
    lengths = chunk_lengths(elements, p)
    padded = to_padded(data.copy(), lengths).copy()
    out = from_padded(ring.ring_allreduce(padded), lengths)
    expected = data.sum(axis=0)
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape), rtol=0, atol=1e-12)


def test_chunks_are_as_even_as_elements_allow() -> None:
    assert chunk_lengths(10, 4).tolist() == [3, 3, 2, 2]
    assert chunk_lengths(3, 5).tolist() == [1, 1, 1, 0, 0]
    assert chunk_lengths(8, 4).tolist() == [2, 2, 2, 2]


@pytest.mark.parametrize("op", ["allreduce", "reduce_scatter", "allgather"])
@pytest.mark.parametrize(("nodes", "size"), [(2, 4 * 1001), (5, 4 * 1003), (8, 4096)])
def test_verified_ops_pass(op: str, nodes: int, size: int) -> None:
    result = clustersim.run(scenario(nodes, size, op, verify=True))
    assert len(result.checks) == 1
    ((name, record),) = result.checks.items()
    expected = {
        "allreduce": "allreduce_equals_sum",
        "reduce_scatter": "reduce_scatter_equals_sum",
        "allgather": "allgather_equals_concat",
    }
    assert name == expected[op]
    assert record["passed"], record


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "int64"])
def test_verified_dtypes(dtype: str) -> None:
    itemsize = np.dtype(dtype).itemsize
    result = clustersim.run(scenario(6, itemsize * 999, "allreduce", verify=True, dtype=dtype))
    assert result.checks["allreduce_equals_sum"]["passed"]
    if dtype.startswith("int"):
        assert result.checks["allreduce_equals_sum"]["max_abs_err"] == 0.0


def test_verification_catches_a_broken_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: a ring that skips one reduction step must fail its check."""
    original = ring.ring_reduce_scatter_step

    def skip_last(padded: np.ndarray, step: int) -> None:
        if step < padded.shape[0] - 2:
            original(padded, step)

    monkeypatch.setattr(ring, "ring_reduce_scatter_step", skip_last)
    result = clustersim.run(scenario(4, 4 * 4096, verify=True))
    assert not result.checks["allreduce_equals_sum"]["passed"]
    assert not result.passed


def test_verify_false_moves_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object) -> None:
        raise AssertionError("kernel called in a timing-only run")

    monkeypatch.setattr(ring, "ring_reduce_scatter_step", forbidden)
    monkeypatch.setattr(ring, "ring_allgather_step", forbidden)
    result = clustersim.run(scenario(8, 64 * MiB, verify=False))
    assert result.checks == {}


# ----------------------------------------------------------------------------------- traffic
@pytest.mark.parametrize("nodes", [2, 3, 8, 13])
@pytest.mark.parametrize("elements", [1024, 1001, 7])
def test_bytes_total_is_exact(nodes: int, elements: int) -> None:
    size = 4 * elements
    for op, factor in (("allreduce", 2), ("reduce_scatter", 1), ("allgather", 1)):
        m = clustersim.run(scenario(nodes, size, op)).metrics
        assert m["bytes_total"] == factor * (nodes - 1) * size
        assert sum(m["bytes_sent_per_rank"]) == m["bytes_total"]


def test_ring_link_load_is_balanced() -> None:
    m = clustersim.run(scenario(8, 64 * MiB)).metrics
    # Each ring link direction used carries 2(N-1)/N of the buffer; reverse directions carry 0.
    assert m["bytes_max_link"] == 2 * 7 * 8 * MiB
    assert m["bytes_link_total"] == m["bytes_total"]


# ------------------------------------------------------------------------- time vs formula
@pytest.mark.parametrize("topology_kind", ["ring", "fully_connected"])
@pytest.mark.parametrize("op", ["allreduce", "reduce_scatter", "allgather"])
@pytest.mark.parametrize("nodes", [2, 4, 16, 64])
def test_contention_free_time_equals_formula(topology_kind: str, op: str, nodes: int) -> None:
    result = clustersim.run(scenario(nodes, 64 * MiB, op, topology_kind=topology_kind))
    sim, formula = result.metrics["time_s"], result.analytic["time_s"]
    assert abs(sim - formula) / formula < 1e-6


def test_formula_hand_values() -> None:
    # 8 ranks, 64 MiB, alpha 500 ns, 50 GiB/s: 14 * (500 ns + 8 MiB / 50 GiB/s)
    expected = 14 * (500e-9 + 8 * MiB / (50 * GiB))
    assert ring.ring_allreduce_time(64 * MiB, 8, 500e-9, 1 / (50 * GiB)) == pytest.approx(
        expected, rel=1e-15
    )
    assert expected == pytest.approx(2.1945e-3, rel=1e-12)
    assert ring.ring_reduce_scatter_time(64 * MiB, 8, 0, 1 / (50 * GiB)) == pytest.approx(
        7 * 8 * MiB / (50 * GiB), rel=1e-15
    )
    assert ring.ring_allgather_time(1.0, 2, 1.0, 0.0) == 1.0
    # gamma: the reduction term appears once per byte of the reduce-scatter half
    assert ring.ring_allreduce_time(8.0, 4, 0, 0, gamma=1.0) == pytest.approx(6.0)


def test_uneven_chunks_cost_the_largest_chunk_per_step() -> None:
    nodes, elements = 8, 1001  # chunks of 126 and 125 elements
    result = clustersim.run(scenario(nodes, 4 * elements))
    expected = 2 * (nodes - 1) * (LAT + 4 * 126 / BW)
    assert result.metrics["time_s"] == pytest.approx(expected, rel=1e-12)
    assert result.metrics["time_s"] > result.analytic["time_s"]  # formula uses S/N


def test_busbw_equals_link_bandwidth_without_latency() -> None:
    spec = scenario(8, 64 * MiB)
    spec["cluster"]["link"]["latency"] = 0
    m = clustersim.run(spec).metrics
    assert m["busbw_Bps"] == pytest.approx(BW, rel=1e-12)
    assert m["algbw_Bps"] == pytest.approx(64 * MiB / m["time_s"], rel=1e-15)


# ------------------------------------------------------------------------------- contention
def _cluster(graph) -> Cluster:
    return Cluster(Simulation(0), graph, get_device("H100"))


def test_two_collectives_at_once_share_the_links() -> None:
    nodes, chunk = 8, 8 * MiB
    cluster = _cluster(topology.ring(nodes=nodes, bandwidth=BW, latency=LAT))
    chunks = np.full(nodes, float(chunk))
    for tag in ("a", "b"):
        cluster.sim.process(
            ring.ring_process(cluster, cluster.ranks, "allreduce", chunks, label=tag), tag
        )
    cluster.sim.run()
    alone = ring.ring_allreduce_time(nodes * chunk, nodes, LAT, 1 / BW)
    expected = 2 * (nodes - 1) * (LAT + chunk / (BW / 2))
    assert cluster.sim.now == pytest.approx(expected, rel=1e-9)
    assert cluster.sim.now > 1.9 * alone


def test_oversubscribed_uplink_slows_an_interleaved_ring() -> None:
    """Ranks alternate between two leaf switches, so every ring hop crosses the core uplinks;
    N/2 flows share each uplink direction and get a quarter of the formula's bandwidth."""
    nodes = 8
    spec = scenario(nodes, 64 * MiB, topology_kind="switch")
    spec["cluster"]["topology"].update(groups=2, uplink_bandwidth=BW)
    spec["workload"]["ranks"] = [f"n{i // 2 + (i % 2) * 4}" for i in range(nodes)]
    result = clustersim.run(spec)
    alpha = result.analytic["alpha_s"]
    assert alpha == pytest.approx(4 * LAT)  # host-leaf-core-leaf-host
    expected = 2 * (nodes - 1) * (alpha + 8 * MiB / (BW / 4))
    assert result.metrics["time_s"] == pytest.approx(expected, rel=1e-9)
    assert result.metrics["time_s"] > 3.5 * result.analytic["time_s"]


def test_contiguous_ring_on_the_same_switch_is_nearly_contention_free() -> None:
    spec = scenario(8, 64 * MiB, topology_kind="switch")
    spec["cluster"]["topology"].update(groups=2, uplink_bandwidth=BW)
    result = clustersim.run(spec)
    assert result.metrics["time_s"] == pytest.approx(result.analytic["time_s"], rel=1e-6)


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_json() -> None:
    first = clustersim.run(scenario(5, 4 * 1003, verify=True)).to_json(include_wall=False)
    second = clustersim.run(scenario(5, 4 * 1003, verify=True)).to_json(include_wall=False)
    assert first == second


def test_large_ring_is_cheap_in_events() -> None:
    m = clustersim.run(scenario(256, 64 * MiB)).metrics
    steps = 2 * 255
    assert m["sim_events"] <= 3 * steps + 10
