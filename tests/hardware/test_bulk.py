"""Batches that move as one (``_Bulk``) against the general engine.

A batch of alike, apart flows of one size, submitted while no flow holds a slot, is kept as
one entry; anything else submitted meanwhile writes it into the slots. Both ways must give the
same arrival times and byte totals to the last bit, and the same send busy time up to the
rounding of adding one interval in one piece or in two (a held send that goes straight on).
"""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.core.simulation import Simulation
from clustersim.hardware import topology as topo
from clustersim.hardware.network import FlowNetwork


def _ring(n: int, latency: float = 1e-6) -> FlowNetwork:
    return FlowNetwork(Simulation(0), topo.ring(nodes=n, bandwidth=1e9, latency=latency))


class _Counts:
    """How often the bulk paths ran (wraps the network's methods)."""

    def __init__(self, net: FlowNetwork) -> None:
        self.bulks = self.materialised = 0
        submit, materialise = net._submit_bulk, net._materialise

        def counted_submit(*args):
            self.bulks += 1
            return submit(*args)

        def counted_materialise():
            self.materialised += len(net._bulks)
            return materialise()

        net._submit_bulk = counted_submit
        net._materialise = counted_materialise


def _play(net: FlowNetwork, batches: list[tuple[float, list[int], list[int], float | list]]):
    """Submit each (at, src, dst, size) batch from its own process; return what each saw."""
    sim = net.sim
    seen: dict[int, tuple[np.ndarray, float]] = {}
    for b, (at, src, dst, size) in enumerate(batches):
        pattern = net.pattern(src, dst)

        def proc(b=b, at=at, pattern=pattern, size=size, src=src, dst=dst):
            yield sim.env.timeout(at)
            if len(src) == 1 and not isinstance(size, list):
                value = yield net.transfer(src[0], dst[0], size)
            else:
                value = yield net.transfer_all(pattern, size)
            seen[b] = (np.array(value), sim.now)

        sim.process(proc(), f"b{b}")
    sim.run()
    return seen


def _both(make, batches):
    """(bulk on, bulk off, counts of the bulk paths) of the same batches."""
    on, off = make(), make()
    off._bulk_enabled = False
    counts = _Counts(on)
    return (on, _play(on, batches)), (off, _play(off, batches)), counts


def _assert_same(on, off) -> None:
    (net_a, seen_a), (net_b, seen_b) = on, off
    assert sorted(seen_a) == sorted(seen_b)
    for b in seen_a:
        assert np.array_equal(seen_a[b][0], seen_b[b][0]), b
        assert seen_a[b][1] == seen_b[b][1], b
    assert np.array_equal(net_a.link_bytes, net_b.link_bytes)
    assert np.array_equal(net_a.node_bytes_sent, net_b.node_bytes_sent)
    assert np.array_equal(net_a.node_bytes_received, net_b.node_bytes_received)
    np.testing.assert_allclose(net_a.node_send_busy, net_b.node_send_busy, rtol=1e-13, atol=0)
    assert net_a.flows_completed == net_b.flows_completed


def test_ring_steps_move_as_one_and_hold_no_slot():
    n = 64
    net = _ring(n)
    sim = net.sim
    pattern = net.pattern(list(range(n)), [(i + 1) % n for i in range(n)])
    slots_free: list[bool] = []

    def proc():
        for _ in range(2 * (n - 1)):
            event = net.transfer_all(pattern, 1e6)
            slots_free.append(net._n_free == net._f_state.size)
            yield event

    sim.process(proc(), "ring")
    sim.run()
    assert all(slots_free) and len(slots_free) == 2 * (n - 1)
    step = 1e-6 + 1e6 / 1e9
    assert sim.now == pytest.approx(2 * (n - 1) * step, rel=1e-12)
    # every rank sent through the whole run: one busy interval, not 126 pieces
    np.testing.assert_allclose(net.node_send_busy, sim.now, rtol=1e-13)
    assert net.link_bytes.sum() == 2 * (n - 1) * n * 1e6


def test_ring_steps_equal_the_general_engine():
    # sequential steps from one process, as a collective runs them
    n = 16
    on, off = _ring(n), _ring(n)
    off._bulk_enabled = False
    results = []
    for net in (on, off):
        pattern = net.pattern(list(range(n)), [(i + 1) % n for i in range(n)])
        times: list[float] = []

        def proc(net=net, pattern=pattern, times=times):
            for _ in range(2 * (n - 1)):
                value = yield net.transfer_all(pattern, 3e5)
                times.append(float(value[0]))

        net.sim.process(proc(), "ring")
        net.sim.run()
        results.append(times)
    assert results[0] == results[1]
    assert np.array_equal(on.link_bytes, off.link_bytes)
    np.testing.assert_allclose(on.node_send_busy, off.node_send_busy, rtol=1e-13, atol=0)


@pytest.mark.parametrize(
    ("at", "phase"), [(0.5e-6, "waiting out its latency"), (0.3e-3, "streaming")]
)
def test_a_flow_arriving_during_a_bulk_writes_it_into_the_slots(at, phase):
    n = 8
    batches = [
        (0.0, list(range(n)), [(i + 1) % n for i in range(n)], 1e6),
        (at, [0], [1], 2e5),  # shares the link 0 -> 1 with the bulk
        (at, [3], [2], 1e5),  # a link the bulk does not use
    ]
    on, off, counts = _both(lambda: _ring(n), batches)
    _assert_same(on, off)
    assert counts.bulks == 1 and counts.materialised == 1, phase
    # the shared link slowed the bulk's flow 0 -> 1: the batch ends later than alone
    assert on[1][0][0].max() > 1e-6 + 1e6 / 1e9


def test_disjoint_bulks_with_a_common_sender_each_move_as_one():
    # on four fully connected nodes, 0 -> 1, 2 -> 3 and 0 -> 2, 1 -> 3 share no link but
    # share sender 0: the first bulk's held sends must end before the second's do
    graph = topo.fully_connected(nodes=4, bandwidth=1e9, latency=1e-6)

    def make():
        return FlowNetwork(Simulation(0), graph)

    batches = [(0.0, [0, 2], [1, 3], 1e6), (1e-4, [0, 1], [2, 3], 3e6), (5e-3, [0], [3], 1e5)]
    on, off, counts = _both(make, batches)
    _assert_same(on, off)
    assert counts.bulks == 3 and counts.materialised == 0  # the last, a single flow, too


def test_more_batch_bulks_than_the_limit_go_to_the_slots():
    # ten two-flow batches on disjoint links at once: eight move as one, the ninth writes
    # them all into the slots, the tenth is general from the start
    graph = topo.fully_connected(nodes=40, bandwidth=1e9, latency=1e-6)

    def make():
        return FlowNetwork(Simulation(0), graph)

    batches = [(0.0, [4 * i, 4 * i + 2], [4 * i + 1, 4 * i + 3], 1e6 * (i + 1)) for i in range(10)]
    on, off, counts = _both(make, batches)
    _assert_same(on, off)
    assert counts.bulks == 8 and counts.materialised == 8


def test_single_flows_on_disjoint_links_all_move_as_one_until_two_share_a_link():
    graph = topo.switch(nodes=64, bandwidth=1e9, latency=1e-6)

    def make():
        return FlowNetwork(Simulation(0), graph)

    apart = [(1e-5 * i, [2 * i], [2 * i + 1], 1e6 * (1 + i % 3)) for i in range(30)]
    on, off, counts = _both(make, apart)
    _assert_same(on, off)
    assert counts.bulks == 30 and counts.materialised == 0
    # one more flow into a receiver already in use: every bulk still in flight goes to the slots
    crowded = [*apart, (3e-4, [62], [1], 1e6)]
    on, off, counts = _both(make, crowded)
    _assert_same(on, off)
    assert counts.bulks == 30 and counts.materialised == 30


def test_overlapping_batches_do_not_both_move_as_one():
    n = 6
    ring = (list(range(n)), [(i + 1) % n for i in range(n)])
    batches = [(0.0, *ring, 1e6), (2e-4, *ring, 5e5)]
    on, off, counts = _both(lambda: _ring(n), batches)
    _assert_same(on, off)
    assert counts.bulks == 1 and counts.materialised == 1
    # the two batches shared every link for a while: the first is later than alone
    assert on[1][0][0].max() > 1e-6 + 1e6 / 1e9


@pytest.mark.parametrize("seed", range(40))
def test_random_batches_equal_the_general_engine(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    kind = ["ring", "fully_connected", "switch"][seed % 3]
    latency = float(rng.choice([0.0, 1e-6, 1e-4]))
    graph = getattr(topo, kind)(nodes=n, bandwidth=1e9, latency=latency)

    def make():
        return FlowNetwork(Simulation(seed), graph)

    batches = []
    for _ in range(int(rng.integers(1, 7))):
        k = int(rng.integers(1, n + 1))
        src = rng.permutation(n)[:k].tolist()
        shift = int(rng.integers(1, n))
        dst = [(s + shift) % n for s in src]
        size = float(rng.choice([1e5, 1e6, 2.5e6]))
        sizes: float | list = size if rng.random() < 0.8 else [size] * (k - 1) + [size / 2]
        batches.append((float(rng.choice([0.0, 1e-4, 1e-3]) * rng.integers(0, 4)), src, dst, sizes))
    on, off, _ = _both(make, batches)
    _assert_same(on, off)


def test_a_pause_between_steps_ends_the_senders_busy_interval():
    # a reduction between steps (a collective with gamma > 0): the links idle, so do the sends
    n, gap = 8, 1e-4
    net = _ring(n)
    pattern = net.pattern(list(range(n)), [(i + 1) % n for i in range(n)])

    def proc():
        for _ in range(2 * (n - 1)):
            yield net.transfer_all(pattern, 1e6)
            yield net.sim.env.timeout(gap)

    net.sim.process(proc(), "ring")
    net.sim.run()
    step = 1e-6 + 1e6 / 1e9
    np.testing.assert_allclose(net.node_send_busy, 2 * (n - 1) * step, rtol=1e-12)
