"""Tests for clustersim.hardware.network.FlowNetwork: routes, timing, sharing and metrics."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.hardware import topology as topo
from clustersim.hardware.network import FlowNetwork, FlowPattern

BW = 1e9
LAT = 1e-5


def make(graph: nx.Graph, **sim_kwargs) -> tuple[Simulation, FlowNetwork]:
    sim = Simulation(**sim_kwargs)
    return sim, FlowNetwork(sim, graph)


def line(bandwidths: list[float], latencies: list[float]) -> nx.Graph:
    """A custom path graph v0 - v1 - ... with the given per-link bandwidths and latencies."""
    n = len(bandwidths) + 1
    return topo.custom(
        nodes=[{"name": f"v{i}"} for i in range(n)],
        links=[
            {"a": f"v{i}", "b": f"v{i + 1}", "bandwidth": bw, "latency": lat}
            for i, (bw, lat) in enumerate(zip(bandwidths, latencies, strict=True))
        ],
    )


def submit(sim: Simulation, net: FlowNetwork, at: float, src, dst, size: float, out: dict, key):
    """Start a process that sends one flow at time ``at``; out[key] = (value, resume time)."""

    def proc():
        if at:
            yield sim.env.timeout(at)
        value = yield net.transfer(src, dst, size)
        out[key] = (float(value[0]), sim.now)

    sim.process(proc(), f"send-{key}")


def link_bytes_by_name(net: FlowNetwork) -> dict[str, float]:
    return {net.link_name(i): float(b) for i, b in enumerate(net.link_bytes) if b}


# --------------------------------------------------------------------- contention-free timing


@settings(max_examples=100, deadline=None)
@given(
    size=st.one_of(st.floats(0, 1e12), st.sampled_from([1.0, 1e6, 3e9, 1 / 3])),
    bandwidth=st.one_of(st.floats(1e3, 1e13), st.sampled_from([1e9, 12.5e9, 3.0, 0.1])),
    latency=st.one_of(st.floats(0, 1.0), st.sampled_from([0.0, 1e-6, 5e-6, 0.1])),
)
def test_single_transfer_is_exactly_latency_plus_size_over_bandwidth(size, bandwidth, latency):
    sim, net = make(topo.ring(nodes=2, bandwidth=bandwidth, latency=latency))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", size, out, "f")
    sim.run()
    expected = latency + size / bandwidth
    value, resumed = out["f"]
    assert value == expected
    assert resumed == expected
    assert net.flows_completed == 1


@settings(max_examples=100, deadline=None)
@given(
    size=st.floats(0, 1e12),
    bandwidths=st.lists(st.floats(1e3, 1e13), min_size=1, max_size=5),
    latency=st.sampled_from([0.0, 0.5, 0.25, 2.0**-20, 1e-6]),
)
def test_multi_hop_transfer_is_exact(size, bandwidths, latency):
    """Latency is the sum of hop latencies (dyadic here, so exact); rate the path minimum."""
    hops = len(bandwidths)
    sim, net = make(line(bandwidths, [latency] * hops))
    out: dict = {}
    submit(sim, net, 0.0, "v0", f"v{hops}", size, out, "f")
    sim.run()
    expected = latency * hops + size / min(bandwidths)
    assert out["f"] == (expected, expected)


def test_multi_hop_route_latency_and_bottleneck():
    sim, net = make(line([8.0, 2.0, 4.0], [0.25, 0.5, 0.125]))
    hops = net.route(net.node_index("v0"), net.node_index("v3"))
    assert [net.link_name(h) for h in hops] == ["v0->v1", "v1->v2", "v2->v3"]
    back = net.route(net.node_index("v3"), net.node_index("v0"))
    assert [net.link_name(h) for h in back] == ["v3->v2", "v2->v1", "v1->v0"]
    pattern = net.pattern([0, 3, 1], [3, 0, 1])
    assert isinstance(pattern, FlowPattern)
    assert pattern.latency.tolist() == [0.875, 0.875, 0.0]
    assert pattern.bottleneck.tolist() == [2.0, 2.0, np.inf]
    out: dict = {}
    submit(sim, net, 0.0, "v0", "v3", 6.0, out, "f")
    sim.run()
    assert out["f"] == (3.875, 3.875)


def test_multi_hop_latency_is_the_sum_of_unequal_hop_latencies():
    lats = [1e-6, 3.7e-6, 2e-3, 0.1]
    _, net = make(line([1.0] * 4, lats))
    pattern = net.pattern([0], [4])
    assert pattern.latency[0] == pytest.approx(sum(lats), rel=1e-15)


def test_switch_path_has_two_hops():
    sim, net = make(topo.switch(nodes=4, bandwidth=BW, latency=LAT))
    hops = net.route(net.node_index("n0"), net.node_index("n3"))
    assert [net.link_name(h) for h in hops] == ["n0->sw", "sw->n3"]
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n3", 1e9, out, "f")
    sim.run()
    assert out["f"][0] == (LAT + LAT) + 1e9 / BW


# ------------------------------------------------------------------------------- sharing


def test_two_flows_sharing_a_link_each_take_twice_as_long():
    sim, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", 3e9, out, "a")
    submit(sim, net, 0.0, "n0", "n1", 3e9, out, "b")
    sim.run()
    assert out["a"][0] == out["b"][0] == LAT + 2 * 3e9 / BW


def test_staggered_flows_share_piecewise():
    """f0 streams alone, then shares with f1 at half rate, then f1 finishes alone."""
    sim, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    out: dict = {}
    t1 = 0.25
    submit(sim, net, 0.0, "n0", "n1", 1e9, out, "f0")
    submit(sim, net, t1, "n0", "n1", 1e9, out, "f1")
    sim.run()
    # f1 starts streaming at t1 + LAT; f0 has 1e9 - BW * t1 bytes left and gets BW/2.
    left0 = 1e9 - BW * t1
    f0_end = t1 + LAT + left0 / (BW / 2)
    # f1 has had BW/2 for the same period and then streams its rest alone.
    f1_end = f0_end + (1e9 - left0) / BW
    assert out["f0"][0] == pytest.approx(f0_end, rel=1e-12)
    assert out["f1"][0] == pytest.approx(f1_end, rel=1e-12)
    assert out["f0"][1] == pytest.approx(f0_end, rel=1e-12)
    assert out["f1"][1] == pytest.approx(f1_end, rel=1e-12)


def test_late_flow_with_latency_shares_only_after_its_latency():
    """A flow in its latency phase takes no bandwidth from the flows already streaming."""
    lat = 0.5
    sim, net = make(topo.ring(nodes=2, bandwidth=2.0, latency=lat))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", 4.0, out, "a")  # streams [0.5, ...) at 2 B/s
    submit(sim, net, 1.0, "n0", "n1", 1.0, out, "b")  # streams from 1.5
    sim.run()
    # a: 2 B by t=1.5, then 1 B/s each; b done at 2.5 with a at 1 B left, a done at 3.0
    assert out["b"][0] == pytest.approx(2.5, rel=1e-12)
    assert out["a"][0] == pytest.approx(3.0, rel=1e-12)


def test_flows_on_disjoint_links_do_not_slow_each_other():
    sim, net = make(topo.ring(nodes=4, bandwidth=BW, latency=LAT))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", 2e9, out, "a")
    submit(sim, net, 0.0, "n2", "n3", 5e9, out, "b")
    submit(sim, net, 0.0, "n3", "n0", 1e9, out, "c")
    sim.run()
    assert out["a"][0] == LAT + 2e9 / BW
    assert out["b"][0] == LAT + 5e9 / BW
    assert out["c"][0] == LAT + 1e9 / BW


def test_links_are_full_duplex():
    sim, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", 7e8, out, "ab")
    submit(sim, net, 0.0, "n1", "n0", 7e8, out, "ba")
    sim.run()
    assert out["ab"] == out["ba"] == (LAT + 7e8 / BW, LAT + 7e8 / BW)


def test_bottleneck_is_shared_max_min_fairly_across_a_switch():
    """Two senders into one receiver share sw->n2; a third flow elsewhere is unaffected."""
    sim, net = make(topo.switch(nodes=4, bandwidth=BW, latency=0.0))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n2", 1e9, out, "a")
    submit(sim, net, 0.0, "n1", "n2", 1e9, out, "b")
    submit(sim, net, 0.0, "n3", "n0", 1e9, out, "c")
    sim.run()
    assert out["a"][0] == pytest.approx(2.0, rel=1e-12)
    assert out["b"][0] == pytest.approx(2.0, rel=1e-12)
    assert out["c"][0] == 1.0


# ------------------------------------------------------------------------------ batches


def test_transfer_all_returns_one_event_valued_with_arrival_times():
    sim, net = make(topo.switch(nodes=4, bandwidth=BW, latency=LAT))
    pattern = net.pattern([0, 2, 1], [1, 3, 1])
    got: dict = {}

    def proc():
        event = net.transfer_all(pattern, [1e9, 2e9, 5.0], label="step")
        got["event"] = event
        got["value"] = yield event
        got["now"] = sim.now

    sim.process(proc(), "p")
    sim.run()
    assert isinstance(got["event"], simpy.Event)
    value = got["value"]
    assert isinstance(value, np.ndarray) and value.shape == (3,)
    assert value.tolist() == [2 * LAT + 1e9 / BW, 2 * LAT + 2e9 / BW, 0.0]
    assert got["now"] == value.max()
    assert net.flows_completed == 3


def test_transfer_all_broadcasts_a_scalar_size():
    sim, net = make(topo.ring(nodes=4, bandwidth=BW, latency=0.0))
    pattern = net.pattern([0, 1, 2, 3], [1, 2, 3, 0])
    got: dict = {}

    def proc():
        got["value"] = yield net.transfer_all(pattern, 5e8)

    sim.process(proc(), "p")
    sim.run()
    assert got["value"].tolist() == [0.5] * 4
    assert net.node_bytes_sent.tolist() == [5e8] * 4


def test_empty_pattern_succeeds_at_once():
    _, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    event = net.transfer_all(net.pattern([], []), [])
    assert event.triggered and event.value.shape == (0,)


@pytest.mark.parametrize("bad", [-1.0, np.inf, np.nan])
def test_bad_sizes_are_rejected(bad):
    _, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    with pytest.raises(ValueError, match="finite and non-negative"):
        net.transfer("n0", "n1", bad)


def test_zero_size_flow_completes_after_its_latency():
    sim, net = make(line([BW, BW], [0.25, 0.5]))
    out: dict = {}
    submit(sim, net, 1.0, "v0", "v2", 0.0, out, "z")
    sim.run()
    assert out["z"] == (1.75, 1.75)


def test_zero_size_flow_without_latency_completes_at_once():
    sim, net = make(topo.ring(nodes=2, bandwidth=BW, latency=0.0))
    out: dict = {}
    submit(sim, net, 0.5, "n0", "n1", 0.0, out, "z")
    sim.run()
    assert out["z"] == (0.5, 0.5)


def test_local_flow_completes_immediately():
    sim, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    out: dict = {}
    submit(sim, net, 0.5, "n1", "n1", 1e12, out, "self")
    sim.run()
    assert out["self"] == (0.5, 0.5)
    assert net.link_bytes.sum() == 0


def test_local_and_zero_size_flows_do_not_disturb_a_batch():
    sim, net = make(topo.ring(nodes=2, bandwidth=BW, latency=LAT))
    pattern = net.pattern([0, 0, 1], [1, 0, 0])
    got: dict = {}

    def proc():
        got["value"] = yield net.transfer_all(pattern, [1e9, 1e9, 0.0])

    sim.process(proc(), "p")
    sim.run()
    assert got["value"].tolist() == [LAT + 1e9 / BW, 0.0, LAT]


# ------------------------------------------------------------------------------ metrics


def test_link_and_node_byte_accounting():
    sim, net = make(topo.switch(nodes=3, bandwidth=BW, latency=LAT))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", 5.0, out, "a")
    submit(sim, net, 0.0, "n1", "n0", 7.0, out, "b")
    submit(sim, net, 0.0, "n0", "n2", 11.0, out, "c")
    sim.run()
    assert link_bytes_by_name(net) == {
        "n0->sw": 16.0,
        "sw->n1": 5.0,
        "n1->sw": 7.0,
        "sw->n0": 7.0,
        "sw->n2": 11.0,
    }
    idx = [net.node_index(n) for n in ("n0", "n1", "n2")]
    assert net.node_bytes_sent[idx].tolist() == [16.0, 7.0, 0.0]
    assert net.node_bytes_received[idx].tolist() == [7.0, 5.0, 11.0]
    assert net.node_bytes_sent[net.node_index("sw")] == 0.0
    assert net.node_bytes_received[net.node_index("sw")] == 0.0


def test_send_busy_time_of_sequential_and_overlapping_transfers():
    sim, net = make(topo.ring(nodes=3, bandwidth=1.0, latency=0.5))
    out: dict = {}

    def proc():
        yield net.transfer("n0", "n1", 2.0)  # busy [0, 2.5]
        yield sim.env.timeout(1.5)  # idle [2.5, 4]
        yield net.transfer_all(net.pattern([0, 0], [1, 2]), [1.0, 3.0])  # busy [4, 7.5]
        out["end"] = sim.now

    sim.process(proc(), "p")
    sim.run()
    assert out["end"] == 7.5
    assert net.node_send_busy.tolist() == [2.5 + 3.5, 0.0, 0.0]


def test_send_busy_is_the_union_of_overlapping_send_intervals():
    """n0 sends 10 B to n1 over [0, 10] and 3 B to n3 over [2, 5]: it is busy for 10 s."""
    sim, net = make(topo.ring(nodes=4, bandwidth=1.0, latency=0.0))
    out: dict = {}
    submit(sim, net, 0.0, "n0", "n1", 10.0, out, "long")
    submit(sim, net, 2.0, "n0", "n3", 3.0, out, "short")
    sim.run()
    assert out["long"][0] == 10.0 and out["short"][0] == 5.0
    assert net.node_send_busy[net.node_index("n0")] == 10.0


# ------------------------------------------------------------------------- event economy


def sequential_batches(n: int, k: int, latency: float) -> tuple[int, int, float]:
    sim, net = make(topo.switch(nodes=n, bandwidth=BW, latency=latency))
    pattern = net.pattern(np.arange(n), np.roll(np.arange(n), -1))

    def proc():
        for _ in range(k):
            yield net.transfer_all(pattern, 1e6)

    sim.process(proc(), "collective")
    sim.run()
    assert net.flows_completed == n * k
    return sim.events_processed, net.rate_solves, sim.now


@pytest.mark.parametrize("latency", [0.0, LAT])
def test_event_count_grows_with_batches_not_flows(latency):
    k = 12
    small = sequential_batches(4, k, latency)
    large = sequential_batches(256, k, latency)
    assert small[0] <= 4 * k + 10
    assert large[0] == small[0]
    assert large[2] == small[2] == pytest.approx(k * (2 * latency + 1e6 / BW), rel=1e-12)


@pytest.mark.parametrize(("latency", "wakeups_per_step"), [(0.0, 1), (LAT, 2)])
def test_one_wakeup_per_distinct_instant_with_a_process_per_rank(latency, wakeups_per_step):
    """Every rank submits its own flow at the same instant: the network still schedules one
    wake-up per distinct activation/completion instant, not one per flow."""
    k = 3

    def network_events(n: int) -> int:
        sim, net = make(topo.ring(nodes=n, bandwidth=BW, latency=latency))

        def rank(i: int):
            for _ in range(k):
                yield net.transfer(i, (i + 1) % n, 1e6)

        for i in range(n):
            sim.process(rank(i), f"rank{i}")
        sim.run()
        # each rank process: start, k transfer events, termination
        return sim.events_processed - n * (k + 2)

    assert network_events(4) == network_events(64) == k * wakeups_per_step


def test_flows_alone_on_their_links_need_no_rate_solve():
    """A ring step's flows each have their links to themselves: their rate is the bottleneck."""
    assert sequential_batches(8, 1, LAT)[1] == sequential_batches(8, 20, LAT)[1] == 0


def test_rates_are_resolved_only_where_the_flow_set_changed():
    sim, net = make(topo.switch(nodes=8, bandwidth=BW, latency=LAT))
    incast = net.pattern([0, 2], [1, 1])  # both cross sw->n1
    done: dict[str, float] = {}

    def shared():
        value = yield net.transfer_all(incast, 4e9)
        done["incast"] = float(value.max())

    def others():
        for _ in range(10):  # alone on their links: no allocation
            yield net.transfer(3, 4, 1e6)
        solves_before = net.rate_solves
        yield net.transfer(5, 1, 1e6)  # joins the incast's link: one solve when it starts,
        done["joined_solves"] = net.rate_solves - solves_before  # one when it ends

    sim.process(shared(), "incast")
    sim.process(others(), "others")
    sim.run()
    assert done["joined_solves"] == 2
    assert net.rate_solves == 1 + 2  # incast start, join, leave (the incast flows end together)
    # the incast flows shared 1 GB/s two ways, then three ways for the joined flow's stay
    assert done["incast"] > 2 * (LAT + 4e9 / BW)


# ------------------------------------------------------------------------------- routes


def all_routes(net: FlowNetwork) -> dict[tuple[str, str], list[str]]:
    return {
        (a, b): [net.link_name(h) for h in net.route(net.index[a], net.index[b])]
        for a in net.nodes
        for b in net.nodes
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: topo.torus2d(rows=3, cols=4, bandwidth=BW, latency=LAT),
        lambda: topo.fat_tree(k=4, bandwidth=BW, latency=LAT),
        lambda: topo.switch(nodes=8, groups=4, bandwidth=BW, latency=LAT),
        lambda: topo.ring(nodes=6, bandwidth=BW, latency=LAT),
    ],
)
def test_routes_are_deterministic_shortest_paths(build):
    graph = build()
    _, net = make(graph)
    routes = all_routes(net)
    _, again = make(build())
    assert all_routes(again) == routes
    lengths = dict(nx.all_pairs_shortest_path_length(graph.to_networkx()))
    for (a, b), hops in routes.items():
        assert len(hops) == lengths[a][b]
        node = a
        for hop in hops:  # consecutive links form a path from a to b
            tail, head = hop.split("->")
            assert tail == node
            node = head
        assert node == b


def test_route_ties_break_towards_the_lowest_node_index():
    _, net = make(topo.ring(nodes=4, bandwidth=BW, latency=LAT))
    # n0 -> n2 has two 2-hop routes, via n1 or via n3
    assert [net.link_name(h) for h in net.route(0, 2)] == ["n0->n1", "n1->n2"]
    assert [net.link_name(h) for h in net.route(2, 0)] == ["n2->n1", "n1->n0"]
    _, torus = make(topo.torus2d(rows=3, cols=3, bandwidth=BW, latency=LAT))
    # n0 -> n4 (one row down, one column right): via n1 (index 1) rather than n3
    assert [torus.link_name(h) for h in torus.route(0, 4)] == ["n0->n1", "n1->n4"]


def test_route_cache_does_not_change_routes():
    """Routes found by an early-stopping search equal those of the cached full search."""
    graph = topo.torus2d(rows=4, cols=4, bandwidth=BW, latency=LAT)
    _, fresh = make(graph)
    first = {(s, d): fresh.route(s, d) for s in range(16) for d in range(16)}
    _, warm = make(graph)
    for s in range(16):
        warm.route(s, s)  # a self-route explores (and caches) the full tree
    assert {(s, d): warm.route(s, d) for s in range(16) for d in range(16)} == first


def test_unknown_node_is_an_input_error_naming_it():
    _, net = make(topo.ring(nodes=3, bandwidth=BW, latency=LAT))
    with pytest.raises(InputError, match="'ghost'"):
        net.transfer("n0", "ghost", 1.0)
    with pytest.raises(InputError, match="'nope'"):
        net.node_index("nope")


def test_disconnected_nodes_have_no_route():
    graph = nx.Graph()
    graph.add_edge("a", "b", bandwidth=1.0, latency=0.0)
    graph.add_edge("c", "d", bandwidth=1.0, latency=0.0)
    _, net = make(graph)
    with pytest.raises(InputError, match=r"a.*c"):
        net.transfer("a", "c", 1.0)


# -------------------------------------------------- random graphs against a fluid reference


def reference_rates(active: list[int], paths: list[list[int]], capacity: list[float]):
    """Max-min fair rates by progressive filling, in plain Python (independent of maxmin.py)."""
    rates = {i: float("inf") for i in active if not paths[i]}
    live = [i for i in active if paths[i]]
    left = dict(enumerate(capacity))
    while live:
        count: dict[int, int] = {}
        for i in live:
            for link in paths[i]:
                count[link] = count.get(link, 0) + 1
        share = min(left[link] / c for link, c in count.items())
        tight = {link for link, c in count.items() if left[link] / c <= share * (1 + 1e-12)}
        frozen = [i for i in live if tight.intersection(paths[i])]
        for i in frozen:
            rates[i] = share
            for link in paths[i]:
                left[link] -= share
        live = [i for i in live if i not in frozen]
    return rates


def fluid_reference(submit_at, latency, paths, sizes, capacity) -> list[float]:
    """Finish time of every flow in an event-by-event fluid simulation."""
    n = len(sizes)
    start = [submit_at[i] + latency[i] for i in range(n)]
    remaining = [float(s) for s in sizes]
    finish = [float("nan")] * n
    pending, active = set(range(n)), []
    t = 0.0
    while pending or active:
        eps = 1e-12 * max(1.0, abs(t))
        newly = sorted(i for i in pending if start[i] <= t + eps)
        pending.difference_update(newly)
        active.extend(newly)
        rates = reference_rates(active, paths, capacity)
        done = [i for i in active if remaining[i] <= 0 or rates[i] == float("inf")]
        if done:
            for i in done:
                finish[i] = t
            active = [i for i in active if i not in done]
            continue
        ends = {i: t + remaining[i] / rates[i] for i in active}
        next_t = min([start[i] for i in pending] + list(ends.values()))
        for i in active:
            if ends[i] <= next_t * (1 + 1e-12):
                remaining[i] = 0.0  # finishes now (also when next_t == t from rounding)
            else:
                remaining[i] -= rates[i] * (next_t - t)
        t = next_t
    return finish


@st.composite
def random_runs(draw):
    n = draw(st.integers(2, 6))
    edges = {(draw(st.integers(0, i - 1)), i) for i in range(1, n)}  # a random spanning tree
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n))
    edges |= {(min(a, b), max(a, b)) for a, b in extra if a != b}
    bw = st.one_of(st.sampled_from([1.0, 2.0, 5.0, 10.0]), st.floats(0.5, 20.0))
    lat = st.sampled_from([0.0, 0.0, 0.01, 0.1, 0.25])
    medium = st.sampled_from([None, None, None, "m0", "m1"])  # some links on shared media
    links = [
        {"a": f"v{a}", "b": f"v{b}", "bandwidth": draw(bw), "latency": draw(lat)}
        | ({"medium": m} if (m := draw(medium)) else {})
        for a, b in sorted(edges)
    ]
    batches = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 3.0)),
                st.lists(
                    st.tuples(
                        st.integers(0, n - 1),
                        st.integers(0, n - 1),
                        st.one_of(st.sampled_from([0.0, 1.0, 4.0]), st.floats(0.0, 20.0)),
                    ),
                    min_size=1,
                    max_size=6,
                ),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return n, links, batches


@settings(max_examples=100, deadline=None)
@given(random_runs())
def test_random_batches_match_a_fluid_reference(run):
    n, links, batches = run
    graph = topo.custom(nodes=[{"name": f"v{i}"} for i in range(n)], links=links)
    sim, net = make(graph)
    results: dict[int, tuple[np.ndarray, float]] = {}
    patterns = []
    for b, (at, flows) in enumerate(batches):
        pattern = net.pattern([f[0] for f in flows], [f[1] for f in flows])
        patterns.append(pattern)

        def proc(b=b, at=at, pattern=pattern, flows=tuple(flows)):
            yield sim.env.timeout(at)
            if len(flows) == 1:  # the scalar path of a single transfer
                value = yield net.transfer(flows[0][0], flows[0][1], flows[0][2])
            else:
                value = yield net.transfer_all(pattern, [f[2] for f in flows])
            results[b] = (value, sim.now)

        sim.process(proc(), f"batch{b}")
    sim.run()

    assert sorted(results) == list(range(len(batches)))
    submit_at, latency, paths, sizes, finish = [], [], [], [], []
    for b, (at, flows) in enumerate(batches):
        pattern = patterns[b]
        value, resumed = results[b]
        assert resumed == pytest.approx(value.max(), rel=1e-12, abs=1e-15)
        for i, (s, d, size) in enumerate(flows):
            path = pattern.entry_link[pattern.entry_flow == i].tolist()
            hops = net.route(s, d) if s != d else []
            assert path[: len(hops)] == hops
            assert all(link >= net.capacity.size for link in path[len(hops) :])  # airtime
            submit_at.append(at)
            latency.append(float(pattern.latency[i]))
            paths.append(path)
            sizes.append(size)
            finish.append(float(value[i]))
            # never before its latency, up to the clock rounding the engine allows itself
            # (a flow due within a relative 4e-16 of now starts now)
            assert value[i] >= at + pattern.latency[i] - 4 * np.spacing(value[i])
            if path:
                # no flow beats its path's bottleneck (the network never over-fills a link);
                # the slack is the clock's resolution at the finish time
                streamed_for = value[i] - at - pattern.latency[i] + 4 * np.spacing(value[i])
                assert size <= pattern.bottleneck[i] * streamed_for * (1 + 1e-9)
    capacity = [*net.capacity.tolist(), *net.medium_capacity.tolist()]
    expected = fluid_reference(submit_at, latency, paths, sizes, capacity)
    assert finish == pytest.approx(expected, rel=1e-9, abs=1e-12)

    # bytes are conserved
    total = sum(sizes)
    assert net.flows_completed == len(sizes)
    assert net.node_bytes_sent.sum() == pytest.approx(total, rel=1e-12)
    assert net.node_bytes_received.sum() == pytest.approx(total, rel=1e-12)
    real = net.capacity.size
    hop_bytes = sum(
        size * sum(link < real for link in path) for size, path in zip(sizes, paths, strict=True)
    )
    assert net.link_bytes.sum() == pytest.approx(hop_bytes, rel=1e-12)
