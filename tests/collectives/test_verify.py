"""Verified runs (:mod:`clustersim.collectives.verify`): ``verify: sampled`` replays the same
schedule for every (op, algorithm) and still catches a broken kernel; the replay holds the ranks'
buffers plus a chunk, and the run's memory limit (or the workload's own) refuses what exceeds it."""

from __future__ import annotations

import dataclasses
import itertools
import tracemalloc
from collections.abc import Callable, Iterable

import numpy as np
import pytest

import clustersim
from clustersim.collectives import verify
from clustersim.collectives.algorithms import ALGORITHMS, PIPELINED
from clustersim.collectives.kernels import CHECK_BLOCK_BYTES
from clustersim.collectives.kind import KIND
from clustersim.collectives.schedule import Plan, Step
from clustersim.core.simulation import Simulation
from clustersim.errors import InputError
from clustersim.scenario.limits import RunLimits
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import check_scenario, prepare_scenario
from tests.collectives.helpers import CHECK, FLAT, GiB, MiB, scenario, two_level

ROOTED = ("broadcast", "reduce")


def _without_last_update(schedule: Callable[[Plan], Iterable[Step]]) -> Callable[[Plan], list]:
    """The schedule with its last data-moving step's kernel update removed (its flows kept)."""

    def broken(plan: Plan) -> list[Step]:
        steps = list(schedule(plan))
        last = max(i for i, step in enumerate(steps) if step.apply is not None)
        steps[last] = dataclasses.replace(steps[last], apply=None)
        return steps

    return broken


def _spec(op: str, name: str, p: int, **workload: object) -> dict:
    extra = {"root": p - 2} if op in ROOTED else {}
    if (op, name) in PIPELINED:
        extra["pipeline_chunk"] = "4 MiB"
    return scenario(op, name, p, 64 * MiB, verify="sampled", **extra, **workload)


@pytest.mark.parametrize(("op", "name"), FLAT)
def test_sampled_replay_passes_and_catches_a_broken_kernel(
    op: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """64 MiB timed at full size, replayed on 16 elements per chunk; without the last update
    (a negative control) the check fails."""
    for p in (5, 8):
        result = clustersim.run(_spec(op, name, p))
        assert list(result.checks) == [CHECK[op]] and result.passed, (p, result.checks)
    algorithm = ALGORITHMS[(op, name)]
    broken = dataclasses.replace(algorithm, schedule=_without_last_update(algorithm.schedule))
    monkeypatch.setitem(ALGORITHMS, (op, name), broken)
    for p in (5, 8):
        assert not clustersim.run(_spec(op, name, p)).passed, p


def test_sampled_hierarchical_and_its_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = two_level(3, 4, 48 * MiB, verify="sampled", sample_elements=3)
    assert clustersim.run(spec).passed
    key = ("allreduce", "hierarchical")
    algorithm = ALGORITHMS[key]
    broken = dataclasses.replace(algorithm, schedule=_without_last_update(algorithm.schedule))
    monkeypatch.setitem(ALGORITHMS, key, broken)
    assert not clustersim.run(spec).passed


def test_sampled_times_and_counts_the_full_size() -> None:
    """Only the replay is reduced: time, traffic and events are those of the full run."""
    full = clustersim.run(scenario("allreduce", "ring", 6, 6 * 40_000, verify=True))
    sampled = clustersim.run(scenario("allreduce", "ring", 6, 6 * 40_000, verify="sampled"))
    assert sampled.metrics == full.metrics
    assert sampled.passed and full.passed


def test_the_issues_13_ranks_of_100_mib_fit_and_sample() -> None:
    """13 × 100 MiB was refused ("needs 2.54 GiB, over the 2 GiB limit"): its replay now holds
    1.28 GiB, under half of a machine with 24 GiB available, and a sampled run needs kilobytes."""
    lengths = np.full(13, 100 * MiB // 4 // 13 + 1)
    assert verify.replay_bytes(13, lengths, 4) == pytest.approx(1.28 * GiB, rel=0.01)
    spec = scenario("allreduce", "ring", 13, 100 * MiB, verify=True)
    check_scenario(spec, limits=RunLimits(max_memory=12 * GiB))
    result = clustersim.run(scenario("allreduce", "ring", 13, 100 * MiB, verify="sampled"))
    assert result.passed


@pytest.mark.parametrize(
    ("op", "name", "p"),
    [
        ("allreduce", "ring", 8),
        ("allreduce", "double_binary_tree", 8),
        ("allreduce", "direct", 8),
        ("allreduce", "halving_doubling", 6),
        ("alltoall", "pairwise", 6),
        ("alltoall", "direct", 8),
        ("broadcast", "ring", 8),
    ],
)
def test_a_verified_replay_holds_the_buffers_and_one_chunk(op: str, name: str, p: int) -> None:
    """Peak traced memory of the whole run: the ranks' buffers plus the estimate's scratch and
    check block, and a megabyte for the simulation's own objects (no copy of the inputs)."""
    size = 8 * MiB
    tracemalloc.start()
    try:
        result = clustersim.run(scenario(op, name, p, size, verify=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.passed
    buffers = p * size
    extra = verify.replay_bytes(p, np.full(p, size // 4 // p), 4) - buffers
    assert buffers < peak <= buffers + extra + MiB, (peak - buffers) / MiB


def test_estimate_is_the_replay_the_run_holds() -> None:
    """The kind's memory estimate is what a verified replay allocates; none without one."""
    for mode, expected in ((True, 8 * 8 * MiB), ("sampled", 8 * 8 * 16 * 4), (False, 0)):
        loaded = load_scenario(scenario("allreduce", "ring", 8, 8 * MiB, verify=mode))
        _, plan = prepare_scenario(loaded, Simulation(loaded.seed))
        work = KIND.estimate(plan) if KIND.estimate else None
        assert work is not None and work.memory_knob.startswith("workload.size")
        scratch = 0 if mode is False else 4 * MiB + 3 * CHECK_BLOCK_BYTES
        assert work.memory_bytes == expected + scratch, mode
        assert work.events >= 3 * 2 * 7  # 14 steps of about 3 events


def test_refusal_names_the_estimate_the_limit_and_the_knobs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run limit (here from the environment) refuses a replay that needs more."""
    monkeypatch.setenv("CLUSTERSIM_MAX_MEMORY", "100 MiB")
    spec = scenario("allreduce", "ring", 8, 16 * MiB, verify=True)
    with pytest.raises(InputError) as info:
        check_scenario(spec, limits=RunLimits.from_environment())
    message = str(info.value)
    for words in (
        "138 MiB",
        "100 MiB",
        "verify: sampled",
        "workload.verify_memory",
        "verify: false",
    ):
        assert words in message, (words, message)
    spec["workload"]["verify_memory"] = "1 GiB"  # the run's own limit wins
    check_scenario(spec, limits=RunLimits.from_environment())
    spec["workload"].update(verify="sampled", verify_memory=None)
    check_scenario(spec, limits=RunLimits.from_environment())


def test_the_workloads_own_limit_refuses_with_the_estimate() -> None:
    spec = scenario("allreduce", "ring", 8, 16 * MiB, verify=True, verify_memory="100 MiB")
    with pytest.raises(InputError, match=r"needs 138 MiB .* over the limit of 100 MiB"):
        check_scenario(spec)


def test_sampled_runs_are_deterministic() -> None:
    runs = [
        clustersim.run(_spec("allreduce", "halving_doubling", 6)).to_json(include_wall=False)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("elements", "sample"), list(itertools.product([7, 100], [1, 5])))
def test_replay_lengths(elements: int, sample: int) -> None:
    lengths = np.array([elements, elements - 1])
    assert verify.replay_lengths(lengths, True, sample).tolist() == lengths.tolist()
    expected = np.minimum(lengths, sample).tolist()
    assert verify.replay_lengths(lengths, "sampled", sample).tolist() == expected
