"""Tests for clustersim.units: exact parsing, case sensitivity, errors, round-trips, pydantic."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from clustersim.errors import InputError
from clustersim.units import (
    KNOWN_UNITS,
    Bytes,
    FlopRate,
    Flops,
    Rate,
    Seconds,
    format_bytes,
    format_flop_rate,
    format_flops,
    format_quantity,
    format_rate,
    format_time,
    parse_bytes,
    parse_flop_rate,
    parse_flops,
    parse_quantity,
    parse_rate,
    parse_time,
)

Parser = Callable[[object], float]
Formatter = Callable[..., str]

PAIRS: dict[str, tuple[Parser, Formatter]] = {
    "bytes": (parse_bytes, format_bytes),
    "rate": (parse_rate, format_rate),
    "time": (parse_time, format_time),
    "flop_rate": (parse_flop_rate, format_flop_rate),
    "flops": (parse_flops, format_flops),
}
KINDS = sorted(PAIRS)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
SMALLEST_SUBNORMAL = 5e-324


# ------------------------------------------------------------------------------ exactness


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_bytes, "1 GB", 1e9),
        (parse_bytes, "1 GiB", 2**30),
        (parse_bytes, "64 MiB", 67108864),
        (parse_bytes, "64MiB", 67108864),
        (parse_bytes, "  64   MiB  ", 67108864),
        (parse_bytes, "1 kB", 1000),
        (parse_bytes, "1 KB", 1000),
        (parse_bytes, "1 KiB", 1024),
        (parse_bytes, "2 PiB", 2 * 2**50),
        (parse_bytes, "1 PB", 1e15),
        (parse_bytes, "8 bit", 1.0),
        (parse_bytes, "1 Gbit", 1.25e8),
        (parse_bytes, "1.5e3 MB", 1.5e9),
        (parse_bytes, ".5 GB", 5e8),
        (parse_bytes, "1e9", 1e9),
        (parse_bytes, "4096", 4096),
        (parse_bytes, "-2 KiB", -2048),
        (parse_rate, "100 Gbps", 12.5e9),
        (parse_rate, "100 Gb/s", 12.5e9),
        (parse_rate, "100 Gbit/s", 12.5e9),
        (parse_rate, "50 GiB/s", 50 * 2**30),
        (parse_rate, "25 GB/s", 25e9),
        (parse_rate, "8 bps", 1.0),
        (parse_rate, "1 Kbps", 125.0),
        (parse_time, "500 ns", 5e-7),
        (parse_time, "1 min", 60),
        (parse_time, "2 h", 7200),
        (parse_time, "3 ms", 3e-3),
        (parse_time, "7 us", 7e-6),
        (parse_time, "7 \u00b5s", 7e-6),
        (parse_time, "7 \u03bcs", 7e-6),
        (parse_time, "1 ps", 1e-12),
        (parse_time, "-3 s", -3.0),
        (parse_time, "0.1", 0.1),
        (parse_flop_rate, "312 TFLOPS", 312e12),
        (parse_flop_rate, "312 TFLOP/s", 312e12),
        (parse_flop_rate, "1 EFLOPS", 1e18),
        (parse_flop_rate, "1EFLOPS", 1e18),
        (parse_flops, "6 PFLOP", 6e15),
        (parse_flops, "1 kFLOP", 1e3),
    ],
)
def test_exact_values(parse: Parser, text: str, expected: float) -> None:
    result = parse(text)
    assert isinstance(result, float)
    assert result == expected


def test_parse_is_correctly_rounded() -> None:
    # Multiplying floats (0.07 * 1e-3) would be off by an ulp; exact fractions are not.
    assert 0.07 * 1e-3 != 7e-5
    assert parse_time("0.07 ms") == 7e-5
    assert parse_time("0.05 ns") == 5e-11
    assert parse_time("2.19 ms") == 2.19e-3
    assert parse_bytes("1.1 GB") == 1.1e9


def test_case_sensitivity() -> None:
    assert parse_bytes("1 Mb") == 125000
    assert parse_bytes("1 MB") == 1e6
    assert parse_rate("1 Mb/s") == 125000
    assert parse_rate("1 MB/s") == 1e6
    with pytest.raises(InputError, match="unknown unit 'mb'"):
        parse_bytes("1 mb")
    with pytest.raises(InputError, match="unknown unit 'gib'"):
        parse_bytes("1 gib")
    with pytest.raises(InputError, match="unknown unit 'tflops'"):
        parse_flop_rate("1 tflops")


def test_numeric_inputs() -> None:
    assert parse_bytes(4096) == 4096.0
    assert parse_bytes(1.5) == 1.5
    assert parse_bytes(-1) == -1.0
    assert parse_bytes(np.float32(1.5)) == 1.5
    assert parse_bytes(np.float64(2.5)) == 2.5
    assert parse_bytes(np.int64(7)) == 7.0
    assert parse_bytes(Fraction(1, 4)) == 0.25
    assert parse_bytes(Decimal("0.1")) == 0.1
    assert math.copysign(1.0, parse_time("-0")) == -1.0
    assert math.copysign(1.0, parse_time(-0.0)) == -1.0


def test_parse_quantity_dispatch() -> None:
    assert parse_quantity("bytes", "1 KiB") == 1024
    assert parse_quantity("rate", "100 Gbps") == 12.5e9
    assert parse_quantity("time", "500 ns") == 5e-7
    assert parse_quantity("flop_rate", "1 TFLOPS") == 1e12
    assert parse_quantity("flops", "1 TFLOP") == 1e12
    with pytest.raises(InputError, match="known kinds: bytes, rate, time, flop_rate, flops"):
        parse_quantity("length", "1 m")


def test_known_units() -> None:
    assert set(KNOWN_UNITS) == set(PAIRS)
    for kind, units in KNOWN_UNITS.items():
        parse, _ = PAIRS[kind]
        assert len(set(units)) == len(units)
        for unit in units:
            assert parse(f"1 {unit}") > 0
            assert parse(f"1{unit}") == parse(f"1 {unit}")
    for unit in ("B", "kB", "KB", "GB", "PiB", "bit", "Tbit"):
        assert unit in KNOWN_UNITS["bytes"]
    for unit in ("GB/s", "TiB/s", "bps", "Tbps", "Gb/s", "kbit/s"):
        assert unit in KNOWN_UNITS["rate"]
    for unit in ("s", "ms", "us", "\u00b5s", "\u03bcs", "ns", "ps", "min", "h"):
        assert unit in KNOWN_UNITS["time"]
    assert "EFLOP/s" in KNOWN_UNITS["flop_rate"]
    assert "EFLOP" in KNOWN_UNITS["flops"]


# ------------------------------------------------------------------------------ errors


def test_unknown_unit_lists_known_units() -> None:
    with pytest.raises(InputError) as info:
        parse_rate("50 GX/s")
    message = str(info.value)
    assert message.startswith("'50 GX/s' is not a rate: unknown unit 'GX/s'; known units: B/s,")
    for unit in KNOWN_UNITS["rate"]:
        assert unit in message


def test_unit_of_another_kind_is_rejected() -> None:
    with pytest.raises(InputError, match="unknown unit 'GB'"):
        parse_rate("50 GB")
    with pytest.raises(InputError, match="unknown unit 'GB/s'"):
        parse_bytes("50 GB/s")
    with pytest.raises(InputError, match="unknown unit 'TFLOP'"):
        parse_flop_rate("1 TFLOP")


def test_garbage_string() -> None:
    with pytest.raises(InputError) as info:
        parse_bytes("abc")
    assert str(info.value) == (
        "'abc' is not a size: expected a number with an optional unit such as '64 MiB'"
    )
    for text in ("", "   ", "GB", "1 2 GB", "1,5 GB", "1_000 B", "0x10 B", "1 GB extra"):
        with pytest.raises(InputError, match="is not a size"):
            parse_bytes(text)


@pytest.mark.parametrize("text", ["nan", "NaN GB", "inf", "-inf s", "Infinity", "+inf"])
def test_nonfinite_strings_rejected(text: str) -> None:
    for parse, _ in PAIRS.values():
        with pytest.raises(InputError, match="NaN and infinity are not allowed") as info:
            parse(text)
        assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), Decimal("NaN")]
)
def test_nonfinite_numbers_rejected(value: object) -> None:
    with pytest.raises(InputError, match="NaN and infinity are not allowed"):
        parse_time(value)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (True, "bool"),
        (False, "bool"),
        (np.bool_(True), "numpy.bool"),
        (None, "NoneType"),
        ([1, 2], "list"),
        ({"a": 1}, "dict"),
        (b"1 GB", "bytes"),
        (1 + 2j, "complex"),
    ],
)
def test_non_numbers_rejected(value: object, type_name: str) -> None:
    with pytest.raises(InputError) as info:
        parse_bytes(value)
    message = str(info.value)
    assert message.startswith(f"{value!r} is not a size")
    assert f"got {type_name}" in message


def test_overflow_rejected() -> None:
    with pytest.raises(InputError, match="too large"):
        parse_bytes("1e400")
    with pytest.raises(InputError, match="too large"):
        parse_bytes("1e300 PB")
    with pytest.raises(InputError, match="too large"):
        parse_bytes(10**400)


def test_input_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_time("5 parsecs")


def test_format_rejects_bad_arguments() -> None:
    with pytest.raises(InputError):
        format_bytes(float("nan"))
    with pytest.raises(InputError):
        format_time(float("inf"))
    with pytest.raises(InputError):
        format_time(True)
    with pytest.raises(InputError):
        format_time("1 s")  # type: ignore[arg-type]
    for digits in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="digits"):
            format_time(1.0, digits)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("format_", "args", "expected"),
    [
        (format_bytes, (64 * 2**20,), "64 MiB"),
        (format_bytes, (64 * 2**20, 3), "64 MiB"),
        (format_bytes, (1.5 * 2**30,), "1.5 GiB"),
        (format_bytes, (1024,), "1 KiB"),
        (format_bytes, (2**60,), "1024 PiB"),
        (format_bytes, (1e9,), "1 GB"),
        (format_bytes, (1e12,), "1 TB"),  # a multiple of 1 KiB, but decimal reads shorter
        (format_bytes, (1.024e9,), "1.024 GB"),
        (format_bytes, (1536.5,), "1.5365 kB"),
        (format_bytes, (123456789, 3), "123 MB"),
        (format_bytes, (0,), "0 B"),
        (format_bytes, (-0.0,), "-0 B"),
        (format_bytes, (0.5,), "0.5 B"),
        (format_bytes, (-2048,), "-2 KiB"),
        (format_bytes, (5e-324,), "5e-324 B"),
        (format_rate, (12.5e9,), "12.5 GB/s"),
        (format_rate, (50 * 2**30,), "50 GiB/s"),
        (format_rate, (25e9, 2), "25 GB/s"),
        (format_time, (0.00219, 3), "2.19 ms"),
        (format_time, (5e-7,), "500 ns"),
        (format_time, (1e-6,), "1 us"),  # the float 1e-6 is just below 10**-6
        (format_time, (1e-3,), "1 ms"),
        (format_time, (1e-9,), "1 ns"),
        (format_time, (0.1,), "100 ms"),
        (format_time, (1.0,), "1 s"),
        (format_time, (3600.0,), "3600 s"),
        (format_time, (5e-10,), "0.5 ns"),
        (format_time, (0.99996, 4), "1 s"),  # rounding carries into the next unit
        (format_time, (0.99996e-3, 3), "1 ms"),
        (format_time, (1 / 3, 4), "333.3 ms"),
        (format_flop_rate, (312e12,), "312 TFLOPS"),
        (format_flop_rate, (1.5e18,), "1.5 EFLOPS"),
        (format_flop_rate, (2e21,), "2000 EFLOPS"),
        (format_flop_rate, (10.0,), "10 FLOPS"),
        (format_flops, (6e15,), "6 PFLOP"),
        (format_flops, (123456.0, 2), "120 kFLOP"),
        (format_quantity, ("time", 5e-7), "500 ns"),
    ],
)
def test_format_examples(format_: Formatter, args: tuple[object, ...], expected: str) -> None:
    assert format_(*args) == expected


def test_format_large_and_tiny_use_exponent() -> None:
    assert format_time(1e300) == "1e+300 s"
    assert parse_time(format_time(1e300)) == 1e300
    assert format_time(1e-300) == "1e-291 ns"
    # Rounding the largest double to nearest would overflow on the way back; it rounds down.
    biggest = 1.7976931348623157e308
    assert math.isfinite(parse_bytes(format_bytes(biggest, 3)))


# ------------------------------------------------------------------------------ properties


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=300)
@given(x=finite_floats)
def test_round_trip_exact(kind: str, x: float) -> None:
    parse, format_ = PAIRS[kind]
    text = format_(x)
    back = parse(text)
    assert back == x, text
    assert math.copysign(1.0, back) == math.copysign(1.0, x), text
    assert parse_quantity(kind, format_quantity(kind, x)) == x


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=300)
@given(x=finite_floats)
def test_round_trip_three_digits(kind: str, x: float) -> None:
    parse, format_ = PAIRS[kind]
    text = format_(x, 3)
    back = parse(text)
    # Rounding a mantissa in [1, 1000) (or any nonzero mantissa) to 3 significant digits moves
    # it by at most half a unit of the third digit, i.e. relative 5e-3. Converting back to float
    # adds half an ulp: relatively negligible for normal numbers, but for subnormals it is up to
    # half the smallest subnormal in absolute terms, hence the additive term.
    assert abs(back - x) <= 5e-3 * abs(x) + SMALLEST_SUBNORMAL / 2, text
    mantissa = text.split(" ")[0]
    assert len(mantissa.lstrip("-").split("e")[0].replace(".", "").strip("0")) <= 3, text


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=300)
@given(x=finite_floats)
def test_format_shape(kind: str, x: float) -> None:
    _, format_ = PAIRS[kind]
    text = format_(x)
    mantissa, unit = text.split(" ")
    assert unit in KNOWN_UNITS[kind]
    assert "e" in mantissa or not mantissa.rstrip("0").endswith(".")
    if "." in mantissa and "e" not in mantissa:
        assert not mantissa.endswith("0")


@settings(max_examples=300)
@given(x=st.floats(min_value=1e-9, max_value=999.0))
def test_time_mantissa_in_range(x: float) -> None:
    mantissa = float(format_time(x).split(" ")[0])
    assert 1 <= mantissa < 1000


@settings(max_examples=300)
@given(n=st.integers(min_value=1, max_value=2**40), unit=st.sampled_from(["KiB", "MiB", "GiB"]))
def test_binary_multiples_round_trip_via_text(n: int, unit: str) -> None:
    value = parse_bytes(f"{n} {unit}")
    assert parse_bytes(format_bytes(value)) == value


# ------------------------------------------------------------------------------ pydantic


class _Link(BaseModel):
    bandwidth: Rate
    latency: Seconds = 0.0
    buffer: Bytes = 0.0
    peak: FlopRate = 0.0
    work: Flops = 0.0


def test_pydantic_accepts_strings_and_numbers() -> None:
    link = _Link(
        bandwidth="50 GiB/s", latency="500 ns", buffer="64 MiB", peak="312 TFLOPS", work="1 PFLOP"
    )
    assert link.bandwidth == 50 * 2**30
    assert link.latency == 5e-7
    assert link.buffer == 67108864
    assert link.peak == 312e12
    assert link.work == 1e15
    assert _Link(bandwidth=1e9).bandwidth == 1e9
    assert _Link.model_validate_json('{"bandwidth": "100 Gbps"}').bandwidth == 12.5e9


def test_pydantic_error_names_field() -> None:
    with pytest.raises(ValidationError) as info:
        _Link(bandwidth="50 GX/s")
    errors = info.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ("bandwidth",)
    assert "'50 GX/s' is not a rate: unknown unit 'GX/s'; known units: B/s" in errors[0]["msg"]
    assert "bandwidth" in str(info.value)


def test_pydantic_rejects_bool_and_none() -> None:
    for bad in (True, None, "nan GB/s"):
        with pytest.raises(ValidationError, match="bandwidth"):
            _Link(bandwidth=bad)
