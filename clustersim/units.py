"""Unit strings to SI floats and back: the one place clustersim interprets units.

Everything inside the simulator is SI: seconds, bytes, bytes/s, FLOP and FLOP/s. Scenario files
and command lines, however, say ``"64 MiB"``, ``"100 Gbps"`` or ``"500 ns"``, and reports should
say the same. This module turns such strings into floats (``parse_*``), floats back into strings
(``format_*``), and offers pydantic ``Annotated`` types (``Bytes``, ``Rate``, ...) so that a
schema field accepts either form.

Rules, chosen so that nothing is ever guessed:

* A bare number (``int``, ``float``, numpy scalar, or a numeric string such as ``"1e9"``) is SI.
* Units are case-sensitive: ``B`` is a byte and ``b`` a bit, so ``"1 MB"`` is 1e6 bytes while
  ``"1 Mb"`` is 125000 bytes. An unknown unit is an :class:`~clustersim.errors.InputError` whose
  message lists the known units for that quantity.
* Space between number and unit is optional (``"64MiB"`` == ``"64 MiB"``).
* Negative numbers parse (the caller decides whether they make sense); NaN, infinity and booleans
  are errors.
* Parsing is correctly rounded: the decimal mantissa and the unit's scale are combined as exact
  fractions and converted to float once. Hence ``"1 GB"`` is exactly ``1e9``, ``"100 Gbps"`` is
  exactly ``12.5e9`` and ``"500 ns"`` is exactly the float ``5e-7``.
* ``format_*(x)`` with ``digits=None`` prints the shortest mantissa that parses back to exactly
  ``x``, so ``parse_X(format_X(x)) == x`` for every finite float. With ``digits=k`` the mantissa is
  rounded to ``k`` significant digits for display.
"""

from __future__ import annotations

import decimal
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated

from pydantic import BeforeValidator

from clustersim.errors import InputError

__all__ = [
    "KNOWN_UNITS",
    "Bytes",
    "FlopRate",
    "Flops",
    "Rate",
    "Seconds",
    "format_bytes",
    "format_flop_rate",
    "format_flops",
    "format_quantity",
    "format_rate",
    "format_time",
    "parse_bytes",
    "parse_flop_rate",
    "parse_flops",
    "parse_quantity",
    "parse_rate",
    "parse_time",
]


# --------------------------------------------------------------------------------------------
# Unit tables. Every scale is an exact Fraction so that parsing rounds only once.
# --------------------------------------------------------------------------------------------

_BIT = Fraction(1, 8)

_DECIMAL_BYTE_UNITS: tuple[tuple[str, Fraction], ...] = (
    ("B", Fraction(1)),
    ("kB", Fraction(10**3)),
    ("KB", Fraction(10**3)),
    ("MB", Fraction(10**6)),
    ("GB", Fraction(10**9)),
    ("TB", Fraction(10**12)),
    ("PB", Fraction(10**15)),
)
_BINARY_BYTE_UNITS: tuple[tuple[str, Fraction], ...] = (
    ("KiB", Fraction(2**10)),
    ("MiB", Fraction(2**20)),
    ("GiB", Fraction(2**30)),
    ("TiB", Fraction(2**40)),
    ("PiB", Fraction(2**50)),
)
# Bits, spelled out ("Mbit") and abbreviated ("Mb"); lower-case b is always a bit.
_BIT_UNITS: tuple[tuple[str, Fraction], ...] = (
    ("bit", _BIT),
    ("kbit", 10**3 * _BIT),
    ("Mbit", 10**6 * _BIT),
    ("Gbit", 10**9 * _BIT),
    ("Tbit", 10**12 * _BIT),
    ("b", _BIT),
    ("kb", 10**3 * _BIT),
    ("Kb", 10**3 * _BIT),
    ("Mb", 10**6 * _BIT),
    ("Gb", 10**9 * _BIT),
    ("Tb", 10**12 * _BIT),
)
_SIZE_UNITS: tuple[tuple[str, Fraction], ...] = (
    _DECIMAL_BYTE_UNITS + _BINARY_BYTE_UNITS + _BIT_UNITS
)

_RATE_UNITS: tuple[tuple[str, Fraction], ...] = (
    *((f"{name}/s", scale) for name, scale in _SIZE_UNITS),
    ("bps", _BIT),
    ("kbps", 10**3 * _BIT),
    ("Kbps", 10**3 * _BIT),
    ("Mbps", 10**6 * _BIT),
    ("Gbps", 10**9 * _BIT),
    ("Tbps", 10**12 * _BIT),
)

_TIME_UNITS: tuple[tuple[str, Fraction], ...] = (
    ("s", Fraction(1)),
    ("ms", Fraction(1, 10**3)),
    ("us", Fraction(1, 10**6)),
    ("\u00b5s", Fraction(1, 10**6)),  # MICRO SIGN
    ("\u03bcs", Fraction(1, 10**6)),  # GREEK SMALL LETTER MU
    ("ns", Fraction(1, 10**9)),
    ("ps", Fraction(1, 10**12)),
    ("min", Fraction(60)),
    ("h", Fraction(3600)),
)

_SI_PREFIXES: tuple[tuple[str, int], ...] = (
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
)
_FLOP_RATE_UNITS: tuple[tuple[str, Fraction], ...] = tuple(
    (f"{prefix}FLOPS", Fraction(10**power)) for prefix, power in _SI_PREFIXES
) + tuple((f"{prefix}FLOP/s", Fraction(10**power)) for prefix, power in _SI_PREFIXES)
_FLOP_UNITS: tuple[tuple[str, Fraction], ...] = tuple(
    (f"{prefix}FLOP", Fraction(10**power)) for prefix, power in _SI_PREFIXES
)


@dataclass(frozen=True)
class _Kind:
    """Everything needed to parse and format one kind of quantity."""

    name: str  # key in KNOWN_UNITS / parse_quantity
    noun: str  # used in messages: "'x' is not a <noun>"
    example: str  # a valid example shown in messages
    units: dict[str, Fraction]
    # Ascending output units (name, scale). ``binary`` is an alternative ladder used for values
    # that are exact multiples of its first unit and read shorter in it (sizes and rates only).
    decimal_ladder: tuple[tuple[str, Fraction], ...]
    binary_ladder: tuple[tuple[str, Fraction], ...] = ()


_BYTES = _Kind(
    name="bytes",
    noun="size",
    example="64 MiB",
    units=dict(_SIZE_UNITS),
    decimal_ladder=_DECIMAL_BYTE_UNITS[:2] + _DECIMAL_BYTE_UNITS[3:],  # B, kB, MB, ... (no KB)
    binary_ladder=_BINARY_BYTE_UNITS,
)
_RATE = _Kind(
    name="rate",
    noun="rate",
    example="50 GB/s",
    units=dict(_RATE_UNITS),
    decimal_ladder=tuple((f"{n}/s", s) for n, s in _BYTES.decimal_ladder),
    binary_ladder=tuple((f"{n}/s", s) for n, s in _BINARY_BYTE_UNITS),
)
_TIME = _Kind(
    name="time",
    noun="time",
    example="500 ns",
    units=dict(_TIME_UNITS),
    decimal_ladder=(
        ("ns", Fraction(1, 10**9)),
        ("us", Fraction(1, 10**6)),
        ("ms", Fraction(1, 10**3)),
        ("s", Fraction(1)),
    ),
)
_FLOP_RATE = _Kind(
    name="flop_rate",
    noun="FLOP rate",
    example="312 TFLOPS",
    units=dict(_FLOP_RATE_UNITS),
    decimal_ladder=_FLOP_RATE_UNITS[: len(_SI_PREFIXES)],
)
_FLOPS = _Kind(
    name="flops",
    noun="FLOP count",
    example="1.5 TFLOP",
    units=dict(_FLOP_UNITS),
    decimal_ladder=_FLOP_UNITS,
)

_KINDS: dict[str, _Kind] = {k.name: k for k in (_BYTES, _RATE, _TIME, _FLOP_RATE, _FLOPS)}

KNOWN_UNITS: dict[str, tuple[str, ...]] = {name: tuple(k.units) for name, k in _KINDS.items()}
"""Accepted unit spellings per quantity kind, in a stable order suitable for listings."""


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_QUANTITY_RE = re.compile(
    r"""
    \s*
    (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    \s*
    (?P<unit>\S*)
    \s*
    """,
    re.VERBOSE,
)
_NONFINITE_RE = re.compile(r"\s*[+-]?(?:nan|inf(?:inity)?)(?![a-z]).*", re.IGNORECASE | re.DOTALL)


def _to_float(exact: Fraction, negative: bool, kind: _Kind, shown: str) -> float:
    """Round an exact value to the nearest float once; keep the sign of a negative zero."""
    try:
        result = float(exact)
    except OverflowError:
        raise InputError(
            f"{shown} is not a {kind.noun}: the value is too large to represent"
        ) from None
    if result == 0.0 and negative:
        return -0.0
    return result


def _parse(kind: _Kind, value: object) -> float:
    """Parse ``value`` as a ``kind`` quantity into an SI float (see module docstring)."""
    shown = repr(value)
    if isinstance(value, str):
        match = _QUANTITY_RE.fullmatch(value)
        if match is None:
            if _NONFINITE_RE.fullmatch(value):
                raise InputError(f"{shown} is not a {kind.noun}: NaN and infinity are not allowed")
            raise InputError(
                f"{shown} is not a {kind.noun}: expected a number with an optional unit "
                f"such as {kind.example!r}"
            )
        number, unit = match.group("number"), match.group("unit")
        if unit == "":
            scale = Fraction(1)
        else:
            try:
                scale = kind.units[unit]
            except KeyError:
                raise InputError(
                    f"{shown} is not a {kind.noun}: unknown unit {unit!r}; known units: "
                    f"{', '.join(kind.units)} (units are case-sensitive; a bare number is SI)"
                ) from None
        return _to_float(Fraction(number) * scale, number.startswith("-"), kind, shown)

    # bool is an int subclass but "True" is never a quantity.
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        type_name = type(value).__qualname__
        module = type(value).__module__
        if module not in ("builtins", None):
            type_name = f"{module}.{type_name}"
        raise InputError(
            f"{shown} is not a {kind.noun}: expected a number or a string such as "
            f"{kind.example!r}, got {type_name}"
        )
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise InputError(f"{shown} is not a {kind.noun}: NaN and infinity are not allowed")
        return _to_float(Fraction(value), value.is_signed(), kind, shown)
    if isinstance(value, numbers.Integral):
        return _to_float(Fraction(int(value)), False, kind, shown)
    if isinstance(value, Fraction):
        return _to_float(value, False, kind, shown)
    result = float(value)
    if not math.isfinite(result):
        raise InputError(f"{shown} is not a {kind.noun}: NaN and infinity are not allowed")
    return result


def parse_bytes(value: object) -> float:
    """Parse a size such as ``"64 MiB"``, ``"1.5 GB"``, ``"8 bit"`` or ``4096`` into bytes.

    Decimal units (kB/KB, MB, GB, TB, PB) are powers of 1000, binary ones (KiB ... PiB) powers of
    1024, and bit units (bit, kbit, Mbit, Gbit, Tbit and b, kb, Kb, Mb, Gb, Tb) divide by 8.
    Raises ``InputError`` for unknown units, NaN/infinity, booleans and non-numbers.
    """
    return _parse(_BYTES, value)


def parse_rate(value: object) -> float:
    """Parse a bandwidth such as ``"50 GiB/s"``, ``"100 Gbps"`` or ``"400 Gb/s"`` into bytes/s.

    Accepts every size unit followed by ``/s`` and the bit-rate spellings bps ... Tbps.
    ``"100 Gbps"`` is exactly ``12.5e9``.
    """
    return _parse(_RATE, value)


def parse_time(value: object) -> float:
    """Parse a duration such as ``"500 ns"``, ``"2.5 us"``, ``"3 min"`` or ``0.1`` into seconds.

    Units: ps, ns, us (also ``µs``/``μs``), ms, s, min, h.
    """
    return _parse(_TIME, value)


def parse_flop_rate(value: object) -> float:
    """Parse a compute rate such as ``"312 TFLOPS"`` or ``"1 PFLOP/s"`` into FLOP/s."""
    return _parse(_FLOP_RATE, value)


def parse_flops(value: object) -> float:
    """Parse a FLOP count such as ``"6 PFLOP"`` or ``1e15`` into FLOP."""
    return _parse(_FLOPS, value)


def _kind(kind: str) -> _Kind:
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise InputError(
            f"{kind!r} is not a quantity kind; known kinds: {', '.join(_KINDS)}"
        ) from None


def parse_quantity(kind: str, value: object) -> float:
    """Parse ``value`` as the quantity ``kind`` (one of the keys of ``KNOWN_UNITS``).

    Useful when the kind is data, e.g. a generic CLI ``--set key=value`` override.
    """
    return _parse(_kind(kind), value)


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------

# Enough for the shortest round-tripping mantissa of any double (17 digits suffice for normal
# numbers once the unit scale is applied exactly; the slack costs nothing).
_MAX_DIGITS = 25


def _round_sig(
    q: Fraction, digits: int, rounding: str = decimal.ROUND_HALF_EVEN
) -> decimal.Decimal:
    """``q`` correctly rounded to ``digits`` significant decimal digits."""
    context = decimal.Context(prec=digits, rounding=rounding, Emax=10**9, Emin=-(10**9))
    return context.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))


def _mantissa_str(d: decimal.Decimal) -> str:
    """Render ``d`` without trailing zeros: positional for moderate exponents, else ``1.5e-300``."""
    sign, digit_tuple, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    if not digits:
        return "-0" if sign else "0"
    exponent += len(digit_tuple) - len(digits)
    adjusted = exponent + len(digits) - 1  # power of ten of the leading digit
    prefix = "-" if sign else ""
    if -5 <= adjusted < 16:
        if exponent >= 0:
            body = digits + "0" * exponent
        elif adjusted >= 0:
            body = f"{digits[: adjusted + 1]}.{digits[adjusted + 1 :]}"
        else:
            body = "0." + "0" * (-adjusted - 1) + digits
    else:
        body = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "") + f"e{adjusted:+03d}"
    return prefix + body


def _shortest(x: float, scale: Fraction) -> str:
    """Shortest mantissa string ``m`` such that parsing ``m`` times ``scale`` gives back ``x``."""
    q = Fraction(x) / scale
    for digits in range(1, _MAX_DIGITS + 1):
        text = _mantissa_str(_round_sig(q, digits))
        try:
            if float(Fraction(text) * scale) == x:
                return text
        except OverflowError:
            continue
    raise AssertionError(f"no round-tripping mantissa for {x!r} / {scale}")  # pragma: no cover


def _rounded(x: float, scale: Fraction, digits: int) -> tuple[str, Fraction]:
    """Mantissa of ``x / scale`` rounded to ``digits`` significant digits, and its exact value.

    Rounds toward zero instead if rounding to nearest would overflow a float when parsed back
    (only possible within a hair of the largest double).
    """
    q = Fraction(x) / scale
    d = _round_sig(q, digits)
    try:
        float(Fraction(d) * scale)
    except OverflowError:
        d = _round_sig(q, digits, decimal.ROUND_DOWN)
    return _mantissa_str(d), Fraction(d)


def _natural(ladder: tuple[tuple[str, Fraction], ...], magnitude: Fraction) -> int:
    """Index of the largest unit not exceeding ``magnitude`` (the first unit if none).

    Compares against the float each unit parses to, so that ``1e-6`` (a hair below 10**-6)
    still counts as one microsecond.
    """
    index = 0
    for i, (_, scale) in enumerate(ladder):
        if magnitude >= Fraction(float(scale)):
            index = i
    return index


def _check_format_args(kind: _Kind, x: object, digits: object) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise InputError(f"cannot format {x!r} as a {kind.noun}: expected a real number")
    value = float(x)
    if not math.isfinite(value):
        raise InputError(f"cannot format {x!r} as a {kind.noun}: it is not finite")
    if digits is not None and (
        isinstance(digits, bool) or not isinstance(digits, int) or digits < 1
    ):
        raise InputError(f"digits must be a positive integer or None, got {digits!r}")
    return value


def _format(kind: _Kind, x: object, digits: int | None) -> str:
    value = _check_format_args(kind, x, digits)
    magnitude = abs(Fraction(value))
    ladder = kind.decimal_ladder
    index = _natural(ladder, magnitude)

    if kind.binary_ladder and value != 0 and magnitude % kind.binary_ladder[0][1] == 0:
        # An exact multiple of 1 KiB: prefer binary units unless decimal reads shorter (so that
        # 64 MiB stays "64 MiB" but 1e12 stays "1 TB" rather than "931.3225746154785 GiB").
        b_index = _natural(kind.binary_ladder, magnitude)
        b_text = _shortest(value, kind.binary_ladder[b_index][1])
        d_text = _shortest(value, ladder[index][1])
        if _significant_digits(b_text) <= _significant_digits(d_text):
            ladder, index = kind.binary_ladder, b_index

    if value == 0:
        # Keep the sign of -0.0 so that even it round-trips bit for bit.
        return f"{'-0' if math.copysign(1.0, value) < 0 else '0'} {ladder[0][0]}"
    if digits is None:
        return f"{_shortest(value, ladder[index][1])} {ladder[index][0]}"

    text, exact = _rounded(value, ladder[index][1], digits)
    # Rounding may carry into the next unit (999.96 ms -> "1000 ms"); move up if so.
    while index + 1 < len(ladder) and abs(exact) * ladder[index][1] >= ladder[index + 1][1]:
        index += 1
        text, exact = _rounded(value, ladder[index][1], digits)
    return f"{text} {ladder[index][0]}"


def _significant_digits(text: str) -> int:
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").strip("0")
    return len(mantissa)


def format_bytes(x: float, digits: int | None = None) -> str:
    """Format a size in bytes for people, e.g. ``"64 MiB"`` or ``"1.5 GB"``.

    Binary units are used for nonzero exact multiples of 1 KiB unless the decimal form is shorter;
    otherwise decimal units (B, kB, MB, GB, TB, PB). ``digits=None`` gives the shortest text that
    ``parse_bytes`` turns back into exactly ``x``; ``digits=k`` rounds to ``k`` significant digits.
    """
    return _format(_BYTES, x, digits)


def format_rate(x: float, digits: int | None = None) -> str:
    """Format a bandwidth in bytes/s, e.g. ``"12.5 GB/s"`` or ``"50 GiB/s"`` (see format_bytes)."""
    return _format(_RATE, x, digits)


def format_time(x: float, digits: int | None = None) -> str:
    """Format seconds as ns, us, ms or s, picking the unit that gives a mantissa in [1, 1000).

    Values below 1 ns stay in ns and values of 1000 s or more stay in s. ``digits`` as in
    :func:`format_bytes`, e.g. ``format_time(0.00219, 3) == "2.19 ms"``.
    """
    return _format(_TIME, x, digits)


def format_flop_rate(x: float, digits: int | None = None) -> str:
    """Format FLOP/s as FLOPS, kFLOPS ... EFLOPS, e.g. ``"312 TFLOPS"``."""
    return _format(_FLOP_RATE, x, digits)


def format_flops(x: float, digits: int | None = None) -> str:
    """Format a FLOP count as FLOP, kFLOP ... EFLOP, e.g. ``"6 PFLOP"``."""
    return _format(_FLOPS, x, digits)


def format_quantity(kind: str, x: float, digits: int | None = None) -> str:
    """Format ``x`` as the quantity ``kind`` (one of the keys of ``KNOWN_UNITS``)."""
    return _format(_kind(kind), x, digits)


# --------------------------------------------------------------------------------------------
# Pydantic types: a field typed ``Rate`` accepts "50 GiB/s" or a number and stores SI float.
# --------------------------------------------------------------------------------------------

_FieldParser = Callable[[object], float]


def _validator(parse: _FieldParser) -> BeforeValidator:
    return BeforeValidator(parse, json_schema_input_type=float | str)


Bytes = Annotated[float, _validator(parse_bytes)]
"""A size in bytes; accepts ``"64 MiB"``, ``"1 GB"``, ``4096`` ..."""
Rate = Annotated[float, _validator(parse_rate)]
"""A bandwidth in bytes/s; accepts ``"50 GiB/s"``, ``"100 Gbps"``, ``1e9`` ..."""
Seconds = Annotated[float, _validator(parse_time)]
"""A duration in seconds; accepts ``"500 ns"``, ``"2 ms"``, ``0.5`` ..."""
FlopRate = Annotated[float, _validator(parse_flop_rate)]
"""A compute rate in FLOP/s; accepts ``"312 TFLOPS"``, ``"1 PFLOP/s"`` ..."""
Flops = Annotated[float, _validator(parse_flops)]
"""A FLOP count; accepts ``"6 PFLOP"``, ``1e15`` ..."""
