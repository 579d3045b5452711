"""The table ``clustersim run`` prints: one unit family per kind of quantity, lists printed
once when equal, big numbers with units, and an analytic column that explains itself."""

from __future__ import annotations

import re

import pytest

import clustersim
from clustersim.kinds.contract import AnalyticNote
from clustersim.report import format_table, format_value, quantity
from clustersim.result import Result
from clustersim.units import parse_bytes
from tests.paths import SCENARIOS


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("time_s", "time"),
        ("comm_busy_s_per_rank", "time"),
        ("bytes_total", "data"),
        ("bytes_per_link", "data"),
        ("bytes_read_total", "data"),
        ("peak_activation_memory_bytes", "memory"),
        ("peak_activation_memory_bytes_per_stage", "memory"),
        ("params_bytes_per_device", "memory"),
        ("busbw_Bps", "rate"),
        ("flops_total", "flops"),
        ("flops_per_sample", "flops"),
        ("flops_ratio", "number"),
        ("memory_read_ratio", "number"),
        ("bubble_fraction_per_stage", "number"),
        ("throughput_samples_per_s", "number"),
        ("mobile_energy_j", "energy"),
    ],
)
def test_the_family_comes_from_the_name(name: str, family: str) -> None:
    assert quantity(name) == family


def test_bytes_on_the_wire_are_decimal_and_memory_binary() -> None:
    assert format_value("bytes_total", 2 * 7 * 2**20 * 8) == "117.4 MB"  # not "112 MiB"
    assert format_value("bytes_total", 64 * 2**20) == "67.11 MB"
    assert format_value("bytes_total", 1e9) == "1 GB"
    assert format_value("peak_activation_memory_bytes", 7.156 * 2**30) == "7.156 GiB"
    assert format_value("peak_activation_memory_bytes", 1e9) == "953.7 MiB"
    assert format_value("busbw_Bps", 50 * 2**30) == "53.69 GB/s"  # nccl-tests' GB/s
    assert format_value("bytes_total", 999_960) == "1 MB"  # rounding carries into the next unit
    assert format_value("bytes_total", 0) == "0 B"


def test_a_range_is_in_one_family_so_its_minimum_reads_smaller() -> None:
    """The issue's case: large_batch_warmup printed ``668.5 kB .. 653 KiB``."""
    text = format_value("bytes_per_link", {"a->b": 668_500.0, "b->c": 653 * 1024.0})
    low, high = text.split(" (")[0].split(" .. ")
    assert (low, high) == ("668.5 kB", "668.7 kB")
    assert parse_bytes(low) < parse_bytes(high)
    assert text.endswith("(2, max b->c)")  # a mapping names its largest key: the busiest link


def test_equal_values_print_once() -> None:
    assert format_value("bytes_sent_per_rank", [29.36e6] * 8) == "29.36 MB (all 8)"
    # equal as printed: float noise in the 17th digit does not make a range
    assert format_value(
        "bubble_fraction_per_stage", [0.32759117829512696, 0.32759117829512685]
    ) == ("0.327591 (all 2)")
    assert format_value("compute_busy_s_per_rank", [0.1374, 0.13740000001]) == "137.4 ms (all 2)"
    assert format_value("layers_per_stage", [4]) == "4"


def test_big_numbers_have_units_or_digits_not_exponents() -> None:
    assert format_value("flops_total", 1.44865e13) == "14.49 TFLOP"
    assert format_value("baseline_flops_total", 6.90322e12) == "6.903 TFLOP"
    assert format_value("throughput_samples_per_s", 1_234_567.8) == "1,234,568"
    assert format_value("model_parameters", 6_738_415_616) == "6738415616"
    assert format_value("mobile_energy_j", 0.0123) == "12.3 mJ"
    assert format_value("max_abs_err", 3.58e-7) == "3.58e-07"


def test_curves_print_their_ends() -> None:
    assert format_value("train_loss_curve", [3.39, 2.5, 0.51]) == "3.39 -> 0.51 (3 points)"


def _result(**kw) -> Result:
    return Result(scenario="t", seed=0, **kw)


def test_a_departure_names_its_effect_and_agreement_says_matches() -> None:
    notes = {
        "time_s": AnalyticNote("C + 2(α + WG/B) [Li et al. 2014]", "no stragglers", "stragglers"),
        "bytes_total": AnalyticNote("2WG"),
    }
    table = format_table(
        _result(
            metrics={"time_s": 0.1838, "bytes_total": 1.2e9, "workers": 16},
            analytic={"time_s": 0.1096, "bytes_total": 1.2e9},
            analytic_notes=notes,
        )
    )
    rows = {line.split()[0]: line for line in table.splitlines() if line[:1].isalpha()}
    assert rows["time_s"].rstrip().endswith("+67.7 % stragglers")
    assert rows["bytes_total"].rstrip().endswith("matches")
    assert "time_s: C + 2(α + WG/B) [Li et al. 2014]" in table
    assert "assumed for time_s: no stragglers" in table


def test_without_a_note_the_difference_is_a_percentage() -> None:
    table = format_table(_result(metrics={"time_s": 2.0}, analytic={"time_s": 1.0}))
    assert "+100 %" in table and "analytic column" not in table


def test_lists_compare_element_by_element() -> None:
    table = format_table(
        _result(
            metrics={"peak_activation_memory_bytes_per_stage": [2.0**30, 2.0**31]},
            analytic={"peak_activation_memory_bytes_per_stage": [2.0**30, 2.0**31]},
        )
    )
    assert "1 GiB .. 2 GiB (2)" in table and "matches" in table


def test_the_collective_kind_names_its_formula_and_its_assumption() -> None:
    result = clustersim.run(SCENARIOS / "ring_allreduce.yaml", ["workload.verify=false"])
    table = format_table(result)
    assert "time_s: allreduce/ring: 2(p-1)·α + 2(p-1)/p·n·β" in table
    assert "Patarasuk & Yuan" in table and "contention-free" in table
    assert "busbw_Bps: algbw · 2(p-1)/p" in table
    time_row = next(line for line in table.splitlines() if line.startswith("time_s "))
    assert time_row.rstrip().endswith("matches")


def test_contention_is_named_where_the_formula_ignores_it() -> None:
    """The direct all-reduce's multi-port formula on a switch, where each GPU has one port."""
    result = clustersim.run(
        SCENARIOS / "allreduce_algorithms.yaml",
        ["workload.algorithm=direct", "cluster.topology.kind=switch", "workload.verify=false"],
    )
    time_row = next(
        line for line in format_table(result).splitlines() if line.startswith("time_s ")
    )
    assert re.search(r" \+\d{3} % contention$", time_row.rstrip()), time_row  # +477 %


@pytest.mark.parametrize("method", ["tree", "medusa", "pearl"])
def test_methods_without_a_closed_form_say_so(method: str) -> None:
    result = clustersim.run(
        SCENARIOS / "speculative_methods.yaml",
        [f"workload.method={method}", "workload.tokens=24", "workload.verify=false"],
    )
    table = format_table(result)
    speedup = next(line for line in table.splitlines() if line.startswith("speedup "))
    assert "no closed form" in speedup
    assert "no closed form for" in table
    assert "measured only" in table
