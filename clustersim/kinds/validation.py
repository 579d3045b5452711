"""Parameter checks that many kinds share, and pydantic errors turned into one located message.

Field-level checks (:func:`positive`, :func:`positive_int`, :func:`known_name`) are plain
functions that a ``field_validator`` calls, so every kind words the same mistake the same way.
:func:`rank_list` is the cross-field check of a list of device names against the cluster, used
by the kinds' ``prepare`` steps. :func:`validate_nested` validates a mapping inside a field (a
``compute:`` or ``stragglers:`` block) and reports the inner path the way the scenario loader
reports the outer one.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from clustersim.errors import InputError
from clustersim.units import format_bytes

__all__ = [
    "MAX_BYTES",
    "describe_error",
    "describe_errors",
    "known_name",
    "model_at",
    "positive",
    "positive_int",
    "rank_list",
    "validate_nested",
]


MAX_BYTES = float(2**53)
"""The largest byte count a size field takes (8 PiB): up to 2^53 a float64 holds every whole
number of bytes exactly, so traffic totals stay exact; no workload here comes near it."""


def positive(
    value: float, what: str = "value", *, unit: str = "", maximum: float | None = None
) -> float:
    """``value`` if it is a positive, finite number (at most ``maximum``); else an InputError.

    A size in bytes (``unit="bytes"``) is bounded by :data:`MAX_BYTES` unless told otherwise.
    """
    if not (value > 0 and math.isfinite(value)):
        kind = f" number of {unit}" if unit else " number"
        raise InputError(f"{what} must be a positive, finite{kind}, got {value!r}")
    if maximum is None and unit == "bytes":
        maximum = MAX_BYTES
    if maximum is not None and value > maximum:
        limit = format_bytes(maximum) if unit == "bytes" else f"{maximum:.6g}"
        raise InputError(f"{what} must be at most {limit}, got {value!r}")
    return value


def positive_int(value: int, minimum: int = 1) -> int:
    """``value`` if it is an integer >= ``minimum``; else an InputError."""
    if value < minimum:
        noun = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"must be {noun}, got {value!r}")
    return value


def known_name(value: str, known: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``known``; else an InputError with a did-you-mean."""
    names = list(known)
    if value in names:
        return value
    close = difflib.get_close_matches(value, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(f"unknown {what} {value!r}{hint}; known: {', '.join(names)}")


def rank_list(
    names: Sequence[str],
    devices: Mapping[str, Any],
    field: str,
    *,
    noun: str = "rank",
    minimum: int = 1,
) -> list[str]:
    """Check a list of device names against the cluster's ``devices`` (in rank order).

    Every name must be a device, none may repeat, and there must be at least ``minimum``; the
    message names ``field`` (``workload.ranks``) and lists the first devices there are.
    """
    for name in names:
        if name not in devices:
            shown = ", ".join(list(devices)[:12])
            more = f" and {len(devices) - 12} more" if len(devices) > 12 else ""
            raise InputError(
                f"{field}: {name!r} is not a device of the cluster; devices are {shown}{more}"
            )
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if list(names).count(n) > 1})
        raise InputError(f"{field}: a {noun} is listed twice ({', '.join(twice)})")
    if len(names) < minimum:
        raise InputError(f"{field}: needs at least {minimum} {noun}s, got {len(names)}")
    return list(names)


# ------------------------------------------------------------------ pydantic error messages
def _unwrap(annotation: Any) -> list[Any]:
    """The types inside ``Annotated[...]``, ``X | None`` and ``Union[...]``, outermost first."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [t for arg in get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` inside ``model``."""
    current: Any = model
    skip_key = False  # the part after a dict-valued field is a key of the dict, not a field
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue  # an index or a key: the element type was taken at the field
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            field = next((f for f in current.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        current = None
        for candidate in _unwrap(field.annotation):
            if get_origin(candidate) in (list, dict):
                skip_key = get_origin(candidate) is dict
                candidate = _unwrap(get_args(candidate)[-1])[0]
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _keys_of(model: type[BaseModel] | None) -> list[str]:
    """The keys a scenario writes for ``model``'s fields (aliases where a field has one)."""
    if model is None:
        return []
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _is_union_member(part: Any) -> bool:
    """pydantic puts the tried member of a union into the location (``literal['a','b']``,
    ``list[int]``, ``function-after[...]``): not a field name a person wrote."""
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def describe_error(
    error: Mapping[str, Any], model: type[BaseModel], prefix: tuple[str, ...]
) -> str:
    """One pydantic error as ``dotted.path: what is wrong`` (unknown keys get a did-you-mean)."""
    loc = tuple(p for p in error["loc"] if not _is_union_member(p))
    path = ".".join(str(p) for p in (*prefix, *loc))
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        allowed = _keys_of(model_at(model, loc[:-1]))
        key = str(loc[-1])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        expected = f" expected one of: {', '.join(allowed)}" if allowed else ""
        return f"{path}: unknown key {key!r}{hint}{';' if expected else ''}{expected}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
        return f"{path}: {message}" if path else message
    if kind == "missing":
        return f"{path}: required but missing"
    if isinstance(given, bool) and kind in ("int_type", "float_type"):
        noun = "an integer" if kind == "int_type" else "a number"
        return f"{path}: expected {noun}, got the boolean {given!r}"
    return f"{path}: {message}; got {given!r}"


def describe_errors(
    errors: Iterable[Mapping[str, Any]], model: type[BaseModel], prefix: tuple[str, ...]
) -> list[str]:
    """Every error, one line each; the members of one union that failed become one line."""
    lines: list[str] = []
    by_path: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for error in errors:
        loc = tuple(p for p in error["loc"] if not _is_union_member(p))
        by_path.setdefault(loc, []).append(error)
    for loc, group in by_path.items():
        if len(group) == 1:
            lines.append(describe_error(group[0], model, prefix))
            continue
        path = ".".join(str(p) for p in (*prefix, *loc))
        expected = "; or ".join(
            str(e["msg"]).removeprefix("Input should be ").removeprefix("Value error, ")
            for e in group
        )
        lines.append(f"{path}: expected {expected}; got {group[0].get('input')!r}")
    return lines


def validate_nested(model: type[BaseModel], data: Any) -> BaseModel:
    """Validate a mapping nested inside a field validator, raising one InputError.

    The message names the inner path and the problem the way the loader does (unknown keys with
    the allowed ones and a did-you-mean); pydantic adds the outer field's path around it.
    """
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise InputError(describe_error(exc.errors(include_url=False)[0], model, ())) from None
