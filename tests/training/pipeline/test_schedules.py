"""Pipeline schedules: every op exactly once, in the orders the papers draw."""

from __future__ import annotations

import pytest

from clustersim.training.pipeline.schedules import (
    Op,
    check_schedule,
    gpipe,
    interleaved_1f1b,
    naive,
    one_f_one_b,
    pipedream,
    pipedream_warmup,
    pipedream_window,
    schedule,
)


def _names(ops: list[Op]) -> str:
    return " ".join(f"{op.kind}{op.microbatch}" for op in ops)


@pytest.mark.parametrize("name", ["naive", "gpipe", "1f1b", "pipedream"])
@pytest.mark.parametrize(("p", "m"), [(1, 1), (2, 1), (4, 4), (4, 7), (3, 16)])
def test_every_op_exactly_once(name: str, p: int, m: int) -> None:
    check_schedule(schedule(name, p, m), p, m)


@pytest.mark.parametrize(("p", "m", "v"), [(2, 2, 2), (4, 4, 2), (4, 8, 2), (4, 8, 3), (2, 6, 4)])
def test_interleaved_every_op_exactly_once(p: int, m: int, v: int) -> None:
    ops = interleaved_1f1b(p, m, v)
    check_schedule(ops, p * v, m)
    for d, device_ops in enumerate(ops):  # device d holds chunks d, d+p, ...
        assert {op.stage % p for op in device_ops} == {d}


def test_gpipe_runs_all_forwards_then_backwards_in_reverse() -> None:
    # Huang et al. 2019, Fig. 2c: F0..F3 then B3..B0 on every device.
    assert all(_names(ops) == "F0 F1 F2 F3 B3 B2 B1 B0" for ops in gpipe(4, 4))


def test_naive_alternates_one_micro_batch_at_a_time() -> None:
    assert _names(naive(3, 2)[1]) == "F0 B0 F1 B1"


def test_1f1b_matches_the_megatron_figure() -> None:
    # Narayanan et al. SC 2021, Fig. 4 (top): 4 devices, 8 micro-batches.
    ops = one_f_one_b(4, 8)
    assert _names(ops[0]) == "F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7"
    assert _names(ops[3]) == "F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5 F6 B6 F7 B7"
    assert _names(one_f_one_b(4, 2)[0]) == "F0 F1 B0 B1"  # fewer micro-batches than stages


def test_interleaved_follows_megatron_lm_order() -> None:
    # megatron/core/pipeline_parallel/schedules.py: warm-up (p-d-1)*2 + (v-1)*p forwards,
    # micro-batches taken in groups of p, chunk (k mod pv) // p.
    ops = interleaved_1f1b(4, 8, 2)
    first = [str(op) for op in ops[0][:8]]
    assert first == ["F0@0", "F1@0", "F2@0", "F3@0", "F0@4", "F1@4", "F2@4", "F3@4"]
    warm = [next(i for i, op in enumerate(d) if op.kind == "B") for d in ops]
    assert warm == [(4 - d - 1) * 2 + 4 + 1 for d in range(4)]  # warm-up, then F before B
    assert str(next(op for op in ops[0] if op.kind == "B")) == "B0@4"  # backward: last chunk
    # m == p: Megatron-LM runs every forward first.
    assert all(op.kind == "F" for op in interleaved_1f1b(2, 2, 2)[1][:4])


def test_pipedream_round_robin_and_noam() -> None:
    # 15-1: NOAM = ceil(16/15) = 2 in flight on each input replica, 1 on the output stage.
    assert pipedream_warmup([15, 1]) == [1, 0]
    assert pipedream_warmup([1, 1, 1, 1]) == [3, 2, 1, 0]
    ops = pipedream([15, 1], 32)
    assert _names(ops[0][0]) == "F0 F15 B0 F30 B15 B30"
    assert {op.microbatch for op in ops[0][14]} == {14, 29}
    assert _names(ops[1][0])[:17] == "F0 B0 F1 B1 F2 B2"
    assert [str(o) for o in schedule("pipedream", 4, 8)[0]] == [
        str(o) for o in one_f_one_b(4, 8)[0]
    ]


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="multiple"):
        interleaved_1f1b(4, 6, 2)
    with pytest.raises(ValueError, match="at least 1"):
        gpipe(0, 4)
    with pytest.raises(ValueError, match="unknown schedule"):
        schedule("zero_bubble", 4, 4)
    with pytest.raises(ValueError, match="appears twice"):
        check_schedule([[Op("F", 0, 0), Op("F", 0, 0)]], 1, 1)
    with pytest.raises(ValueError, match="before"):
        check_schedule([[Op("B", 0, 0), Op("F", 0, 0)]], 1, 1)


def test_pipedream_window_is_whole_round_robin_cycles() -> None:
    # 15-1: a cycle of lcm(15, 1) = 15 micro-batches; one minibatch of 16 needs 2 cycles
    warm, window, tail = pipedream_window([15, 1], 16)
    assert window == 30 and window % 15 == 0
    # the pipeline holds 2 x 15 micro-batches (NOAM 2 on each input replica), then 3 rounds
    assert warm == 2 * 15 + 3 * 15 and tail == 2 * 15
    assert pipedream_window([1, 1, 1, 1], 8) == (8, 8, 8)
    # a deeper warm-up fills for longer
    assert pipedream_window([1, 1, 1, 1], 8, [9, 6, 3, 0]) == (13, 8, 10)


def test_pipedream_window_waits_for_the_run_to_settle_and_covers_its_repeats() -> None:
    # 1-2: the fill (7 on stage 0) and 3 rounds of 2 give 13, rounded up to whole cycles of 2
    # so that the window starts and ends at completions of the same replica
    assert pipedream_window([1, 2], 8, [6, 0]) == (14, 8, 8)
    # the timed model's settled warm-up when it is longer, again in whole cycles
    assert pipedream_window([1, 2], 8, [6, 0], settled=35)[0] == 36
    # rounds of 3 replicas alternating two lengths repeat every 6 micro-batches
    warm, window, _ = pipedream_window([3, 1], 8, [4, 1], repeat=6)
    assert warm % 6 == 0 and window == 12
