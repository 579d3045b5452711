"""Closed forms against hand-computed values and the papers' published numbers."""

from __future__ import annotations

import pytest

from clustersim.training.pipeline import costs as c
from clustersim.training.pipeline.schedules import interleaved_1f1b


def test_gpipe_bubble_hand_values() -> None:
    # Huang et al. 2019 §2.3: (K-1)/(M+K-1).
    assert c.gpipe_bubble_fraction(4, 1) == pytest.approx(3 / 4)
    assert c.gpipe_bubble_fraction(4, 4) == pytest.approx(3 / 7)
    assert c.gpipe_bubble_fraction(4, 32) == pytest.approx(3 / 35)
    # "negligible when M >= 4 x K": at M = 4K the bubble is below 20 %.
    assert all(c.gpipe_bubble_fraction(k, 4 * k) < 0.2 for k in (2, 4, 8, 16))


def test_1f1b_and_interleaved_bubble_over_ideal() -> None:
    # Narayanan et al. SC 2021 §2.2: (p-1)/m and (p-1)/(v·m).
    assert c.one_f_one_b_bubble_over_ideal_fraction(4, 8) == pytest.approx(3 / 8)
    assert c.interleaved_bubble_over_ideal_fraction(4, 8, 2) == pytest.approx(3 / 16)
    # 1F1B has GPipe's bubble: x/(1+x) with x = (p-1)/m is (p-1)/(m+p-1).
    for p, m in [(2, 1), (4, 4), (8, 32)]:
        assert c.bubble_fraction("1f1b", p, m) == pytest.approx(c.gpipe_bubble_fraction(p, m))
        assert c.bubble_fraction("gpipe", p, m) == pytest.approx(c.gpipe_bubble_fraction(p, m))
    assert c.bubble_fraction("naive", 4, 8) == pytest.approx(3 / 4)
    assert c.bubble_fraction("pipedream", 4, 8) == 0.0


def test_flush_time() -> None:
    assert c.pipeline_flush_time("gpipe", 4, 4, 1.0) == pytest.approx(7.0)
    assert c.pipeline_flush_time("interleaved_1f1b", 4, 8, 1.0, v=2) == pytest.approx(8 + 3 / 2)
    assert c.pipeline_flush_time("naive", 4, 8, 1.0) == pytest.approx(32.0)


def test_flow_shop_with_transfers_hand_values() -> None:
    """The completion-time recurrence C(i, j) = max(C(i-1, j), C(i, j-1)) + p_i by hand: three
    jobs through machines of 1, 3 and 1 s finish at 5, 8 and 11 s (the slow middle machine,
    a transfer, paces the last two)."""
    assert c.flow_shop_makespan([1.0, 3.0, 1.0], 3) == pytest.approx(11.0)
    assert c.flow_shop_makespan([2.0], 4) == pytest.approx(8.0)
    # GPipe: forward machines f0, x0, f1 = 1, 0.5, 1; backward b1, x0', b0 = 2, 0.25, 2
    gpipe = c.unbalanced_flush_time("gpipe", [1.0, 1.0], [2.0, 2.0], 3, transfers=[(0.5, 0.25)])
    assert gpipe == pytest.approx((2.5 + 2 * 1.0) + (4.25 + 2 * 2.0))
    # naive: one micro-batch at a time, every transfer on the path
    naive = c.unbalanced_flush_time("naive", [1.0, 1.0], [2.0, 2.0], 3, transfers=[(0.5, 0.25)])
    assert naive == pytest.approx(3 * (6.0 + 0.75))
    # free transfers: the communication-free flow shop, and with balanced stages (m+K-1)·t
    assert c.unbalanced_flush_time(
        "gpipe", [1.0] * 4, [2.0] * 4, 4, transfers=[(0.0, 0.0)] * 3
    ) == pytest.approx(c.pipeline_flush_time("gpipe", 4, 4, 3.0))
    with pytest.raises(ValueError, match="naive and gpipe only"):
        c.unbalanced_flush_time("1f1b", [1.0, 1.0], [2.0, 2.0], 3, transfers=[(0.5, 0.25)])


def test_gpipe_table_2_transformer_speedups() -> None:
    """GPipe Table 2 (lecture notes): transformer throughput at M=32 normalised to K=2, M=1 is
    1.8, 3.4, 6.3 for K = 2, 4, 8. With balanced stages the bubble formula bounds it from
    above by K·M/(M+K-1) (K=2, M=1 is one device's throughput); the measured numbers sit
    within 10 % of that bound, and the gap shrinks as M grows."""
    table = {2: 1.8, 4: 3.4, 8: 6.3}
    for k, published in table.items():
        bound = k * (1 - c.gpipe_bubble_fraction(k, 32))
        assert published <= bound
        assert published / bound > 0.9
    # and with M = 1 pipelining buys nothing: every K gives one device's throughput
    assert all(k * (1 - c.gpipe_bubble_fraction(k, 1)) == pytest.approx(1.0) for k in table)


def test_in_flight_and_peak_memory() -> None:
    # GPipe holds all M; 1F1B stage s holds min(p-s, m) (SC 2021 §2.2.1).
    assert [c.in_flight_microbatches("gpipe", 4, 16, d) for d in range(4)] == [16] * 4
    assert [c.in_flight_microbatches("1f1b", 4, 16, d) for d in range(4)] == [4, 3, 2, 1]
    assert [c.in_flight_microbatches("1f1b", 4, 2, d) for d in range(4)] == [2, 2, 2, 1]
    assert c.in_flight_microbatches("naive", 4, 16, 0) == 1
    # interleaved: warm-up + 1 chunk micro-batches
    assert c.in_flight_microbatches("interleaved_1f1b", 4, 8, 0, v=2) == 6 + 4 + 1
    assert c.peak_activation_memory("gpipe", 4, 16, 0, 10.0, 2.0, False) == 160.0
    # recomputation: M stage inputs plus one micro-batch's intermediates (GPipe §2.3)
    assert c.peak_activation_memory("gpipe", 4, 16, 0, 10.0, 2.0, True) == 16 * 2 + 8
    assert c.peak_activation_memory("1f1b", 4, 16, 1, 10.0, 2.0, True) == 3 * 2 + 8


def test_pipedream_weight_versions() -> None:
    # SOSP 2019 §3.3: the input stage keeps p versions, the output stage one.
    assert [c.pipedream_weight_versions(4, s) for s in range(4)] == [4, 3, 2, 1]


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError, match="unknown schedule"):
        c.bubble_fraction("zb-h1", 4, 4)


def test_interleaved_warmup_is_what_the_schedule_runs() -> None:
    for p, m, v in [(4, 8, 2), (4, 4, 2), (2, 6, 3)]:
        ops = interleaved_1f1b(p, m, v)
        first_b = [next(i for i, op in enumerate(d) if op.kind == "B") for d in ops]
        # warm-up forwards, then one more forward before the first backward (unless all are)
        assert first_b == [min(c.interleaved_warmup(p, m, v, d) + 1, m * v) for d in range(p)]


def test_stashed_activation_bytes() -> None:
    assert c.stashed_activation_bytes(4, 10.0, 2.0, False) == 40.0
    assert c.stashed_activation_bytes(4, 10.0, 2.0, True) == 4 * 2 + 8
