"""Ring collectives (:mod:`clustersim.collectives.ring`): kernel == direct computation, traffic
== 2(N-1)S, time == alpha-beta formula on contention-free topologies, and the contention the
formula ignores where links are shared."""

from __future__ import annotations

import numpy as np
import pytest

import clustersim
from clustersim.collectives import ring
from clustersim.collectives.kernels import chunk_lengths, from_padded, to_padded
from tests.collectives.helpers import BW, LAT, GiB, MiB, ring_scenario


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


@pytest.mark.parametrize("op", ["allreduce", "reduce_scatter", "allgather"])
@pytest.mark.parametrize(("nodes", "size"), [(2, 4 * 1001), (5, 4 * 1003), (8, 4096)])
def test_verified_ops_pass(op: str, nodes: int, size: int) -> None:
    result = clustersim.run(ring_scenario(nodes, size, op, verify=True))
    assert len(result.checks) == 1
    ((name, record),) = result.checks.items()
    expected = {
        "allreduce": "allreduce_equals_sum",
        "reduce_scatter": "reduce_scatter_equals_sum",
        "allgather": "allgather_equals_concat",
    }
    assert name == expected[op]
    assert record["passed"], record


def test_verification_catches_a_broken_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: a ring that skips one reduction step must fail its check."""
    original = ring.ring_reduce_scatter_step

    def skip_last(padded: np.ndarray, step: int) -> None:
        if step < padded.shape[0] - 2:
            original(padded, step)

    monkeypatch.setattr(ring, "ring_reduce_scatter_step", skip_last)
    result = clustersim.run(ring_scenario(4, 4 * 4096, verify=True))
    assert not result.checks["allreduce_equals_sum"]["passed"]
    assert not result.passed


# ----------------------------------------------------------------------------------- traffic
@pytest.mark.parametrize("nodes", [2, 3, 8, 13])
@pytest.mark.parametrize("elements", [1024, 1001, 7])
def test_bytes_total_is_exact(nodes: int, elements: int) -> None:
    size = 4 * elements
    for op, factor in (("allreduce", 2), ("reduce_scatter", 1), ("allgather", 1)):
        m = clustersim.run(ring_scenario(nodes, size, op)).metrics
        assert m["bytes_total"] == factor * (nodes - 1) * size
        assert sum(m["bytes_sent_per_rank"]) == m["bytes_total"]


def test_ring_link_load_is_balanced() -> None:
    m = clustersim.run(ring_scenario(8, 64 * MiB)).metrics
    # Each ring link direction used carries 2(N-1)/N of the buffer; reverse directions carry 0.
    assert m["bytes_max_link"] == 2 * 7 * 8 * MiB
    assert m["bytes_link_total"] == m["bytes_total"]


# ------------------------------------------------------------------------- time vs formula
@pytest.mark.parametrize("topology_kind", ["ring", "fully_connected"])
@pytest.mark.parametrize("op", ["allreduce", "reduce_scatter", "allgather"])
@pytest.mark.parametrize("nodes", [2, 4, 16, 64])
def test_contention_free_time_equals_formula(topology_kind: str, op: str, nodes: int) -> None:
    result = clustersim.run(ring_scenario(nodes, 64 * MiB, op, topology_kind=topology_kind))
    sim, formula = result.metrics["time_s"], result.analytic["time_s"]
    assert abs(sim - formula) / formula < 1e-6


@pytest.mark.parametrize("op", ["allreduce", "reduce_scatter", "allgather"])
@pytest.mark.parametrize("nodes", [3, 5, 7])
def test_uneven_chunks_time_equals_formula(op: str, nodes: int) -> None:
    """64 MiB over 3, 5 or 7 ranks leaves chunks one element apart: each step waits for the
    largest, and the formula is priced at ``p`` times it, so the two still agree to 1e-9."""
    result = clustersim.run(ring_scenario(nodes, 64 * MiB, op))
    sim, formula = result.metrics["time_s"], result.analytic["time_s"]
    assert abs(sim - formula) / formula < 1e-9


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


def test_traffic_formulas_hand_values() -> None:
    assert ring.ring_allreduce_bytes(1.0, 8) == 14  # 2(N-1)S
    assert ring.ring_phase_bytes(1.0, 8) == 7


def test_uneven_chunks_cost_the_largest_chunk_per_step() -> None:
    nodes, elements = 8, 1001  # chunks of 126 and 125 elements
    result = clustersim.run(ring_scenario(nodes, 4 * elements))
    expected = 2 * (nodes - 1) * (LAT + 4 * 126 / BW)
    assert result.metrics["time_s"] == pytest.approx(expected, rel=1e-12)
    assert result.metrics["time_s"] > result.analytic["time_s"]  # formula uses S/N


def test_large_ring_is_cheap_in_events() -> None:
    m = clustersim.run(ring_scenario(256, 64 * MiB)).metrics
    steps = 2 * 255
    assert m["sim_events"] <= 3 * steps + 10


# ------------------------------------------------------------------------------- contention
def test_oversubscribed_uplink_slows_an_interleaved_ring() -> None:
    """Ranks alternate between two leaf switches, so every ring hop crosses the core uplinks;
    N/2 flows share each uplink direction and get a quarter of the formula's bandwidth."""
    nodes = 8
    spec = ring_scenario(nodes, 64 * MiB, topology_kind="switch")
    spec["cluster"]["topology"].update(groups=2, uplink_bandwidth=BW)
    spec["workload"]["ranks"] = [f"n{i // 2 + (i % 2) * 4}" for i in range(nodes)]
    result = clustersim.run(spec)
    alpha = result.analytic["alpha_s"]
    assert alpha == pytest.approx(4 * LAT)  # host-leaf-core-leaf-host
    expected = 2 * (nodes - 1) * (alpha + 8 * MiB / (BW / 4))
    assert result.metrics["time_s"] == pytest.approx(expected, rel=1e-9)
    assert result.metrics["time_s"] > 3.5 * result.analytic["time_s"]


def test_contiguous_ring_on_the_same_switch_is_nearly_contention_free() -> None:
    spec = ring_scenario(8, 64 * MiB, topology_kind="switch")
    spec["cluster"]["topology"].update(groups=2, uplink_bandwidth=BW)
    result = clustersim.run(spec)
    assert result.metrics["time_s"] == pytest.approx(result.analytic["time_s"], rel=1e-6)
