"""Tests for clustersim.core.simulation.Simulation: random streams, run loop, event counting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.core.simulation import Simulation
from clustersim.errors import SimulationError

# ----------------------------------------------------------------------------- random streams


def draws(seed: int, name: str, n: int = 64) -> np.ndarray:
    return Simulation(seed=seed).rng(name).random(n)


def test_rng_is_a_numpy_generator():
    assert isinstance(Simulation(seed=1).rng("x"), np.random.Generator)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), name=st.text(max_size=20))
def test_rng_is_reproducible_for_the_same_seed_and_name(seed, name):
    np.testing.assert_array_equal(draws(seed, name), draws(seed, name))


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    name=st.text(max_size=12),
    others=st.lists(st.text(max_size=12), max_size=5),
)
def test_other_components_do_not_shift_a_stream(seed, name, others):
    """Asking for (and consuming) other components' generators first changes nothing."""
    sim = Simulation(seed=seed)
    for other in others:
        sim.rng(other).random(17)
    np.testing.assert_array_equal(sim.rng(name).random(64), draws(seed, name))


def test_rng_other_first_does_not_change_x():
    sim = Simulation(seed=3)
    sim.rng("other").standard_normal(1000)
    np.testing.assert_array_equal(sim.rng("x").random(64), draws(3, "x"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((0, "x"), (0, "y")),
        ((0, "x"), (1, "x")),
        ((0, "stragglers"), (0, "Stragglers")),
        ((0, ""), (0, "x")),
        ((7, "a"), (8, "a")),
    ],
)
def test_rng_streams_differ_across_names_and_seeds(a, b):
    assert not np.array_equal(draws(*a), draws(*b))


def test_rng_streams_of_many_names_are_distinct():
    names = [f"component{i}" for i in range(200)]
    firsts = {int(Simulation(seed=0).rng(n).integers(0, 2**63)) for n in names}
    assert len(firsts) == len(names)


def test_rng_streams_are_stable_across_versions():
    """Golden values: the derivation (seed, crc32 of the name) -> PCG64 must not change, or
    every saved scenario result would change. Update deliberately, never casually."""
    assert Simulation(seed=0).rng("x").bit_generator.random_raw(3).tolist() == [
        1835916580667649586,
        9886059629360871876,
        9541793401845511429,
    ]
    assert Simulation(seed=12345).rng("stragglers").bit_generator.random_raw(2).tolist() == [
        11323467128587082682,
        17363647005914877630,
    ]


# ---------------------------------------------------------------------------------- run loop


def two_timeouts(sim: Simulation):
    yield sim.env.timeout(1.0)
    yield sim.env.timeout(1.0)


def test_events_processed_counts_every_simpy_event():
    sim = Simulation()
    sim.process(two_timeouts(sim), "p")
    sim.run()
    # Initialize, two timeouts, and the process's own termination event
    assert sim.events_processed == 4
    assert sim.now == 2.0
    sim.process(two_timeouts(sim), "q")
    sim.run()
    assert sim.events_processed == 8
    assert sim.now == 4.0


def test_events_processed_scales_with_processes():
    sim = Simulation()
    for i in range(10):
        sim.process(two_timeouts(sim), f"p{i}")
    sim.run()
    assert sim.events_processed == 40


def test_run_until_stops_without_deadlock_report():
    sim = Simulation()
    got = []

    def waiter():
        yield sim.env.event()  # never triggered

    def ticker():
        for _ in range(5):
            yield sim.env.timeout(1.0)
            got.append(sim.now)

    sim.process(waiter(), "waiter")
    sim.process(ticker(), "ticker")
    sim.run(until=2.5)  # stops early without a deadlock check on the waiting process
    assert got == [1.0, 2.0]
    first = sim.events_processed
    assert first > 0
    sim.run(until=10.0)
    assert got == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert sim.events_processed > first


def test_run_reports_a_deadlock_naming_the_waiting_process():
    sim = Simulation()

    def waiter():
        yield sim.env.timeout(1.0)
        yield sim.env.event()  # nobody ever triggers it

    sim.process(waiter(), "rank3.recv")
    sim.process(two_timeouts(sim), "finished-fine")
    with pytest.raises(SimulationError, match="deadlock") as info:
        sim.run()
    message = str(info.value)
    assert "rank3.recv" in message
    assert "finished-fine" not in message
    assert "t=2" in message  # the time the queue ran dry


def test_deadlock_report_is_truncated_for_many_processes():
    sim = Simulation()

    def waiter():
        yield sim.env.event()

    for i in range(11):
        sim.process(waiter(), f"w{i}")
    with pytest.raises(SimulationError, match="and 3 more"):
        sim.run()


def test_event_limit_raises_naming_the_running_process():
    sim = Simulation()

    def spinner():
        while True:
            yield sim.env.timeout(1.0)

    sim.process(spinner(), "spinner")
    with pytest.raises(SimulationError, match="event limit of 100 ") as info:
        sim.run(max_events=100)
    assert "spinner" in str(info.value)
    assert sim.events_processed == 100


def test_run_that_needs_exactly_max_events_succeeds():
    sim = Simulation()
    sim.process(two_timeouts(sim), "p")  # 4 events in all
    sim.run(max_events=4)
    assert sim.events_processed == 4


def test_run_with_max_events_above_need_succeeds():
    sim = Simulation()
    sim.process(two_timeouts(sim), "p")
    sim.run(max_events=5)
    assert sim.events_processed == 4


def test_process_exception_propagates_and_events_are_still_counted():
    sim = Simulation()

    def broken():
        yield sim.env.timeout(1.0)
        raise RuntimeError("kernel exploded")

    sim.process(broken(), "broken")
    with pytest.raises(RuntimeError, match="kernel exploded"):
        sim.run()
    assert sim.events_processed >= 2


def test_empty_simulation_runs_and_counts_nothing():
    sim = Simulation(seed=5)
    sim.run()
    assert sim.events_processed == 0
    assert sim.now == 0.0
    assert sim.seed == 5


def test_tracing_is_opt_in():
    assert not Simulation().tracer.enabled
    assert Simulation(trace=True).tracer.enabled


def test_run_events_count_every_simulation_of_a_run():
    main = Simulation(3)
    side = Simulation(3, run=main)
    other = Simulation(3)

    def ticks(sim: Simulation, n: int):
        for _ in range(n):
            yield sim.env.timeout(1.0)

    for sim, n in ((main, 4), (side, 7), (other, 2)):
        sim.process(ticks(sim, n), "ticks")
        sim.run()
    assert main.events_processed < main.run_events == side.run_events
    assert main.run_events == main.events_processed + side.events_processed
    assert other.run_events == other.events_processed
