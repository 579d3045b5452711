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
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from clustersim.errors import InputError

__all__ = [
    "describe_error",
    "known_name",
    "model_at",
    "positive",
    "positive_int",
    "rank_list",
    "validate_nested",
]


def positive(value: float, what: str = "value", *, unit: str = "") -> float:
    """``value`` if it is a positive, finite number; else an InputError naming ``what``."""
    if not (value > 0 and math.isfinite(value)):
        kind = f" number of {unit}" if unit else " number"
        raise InputError(f"{what} must be a positive, finite{kind}, got {value!r}")
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
def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` inside ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            if get_origin(current) in (list, dict):
                current = get_args(current)[-1]
            if isinstance(part, int):
                continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        for candidate in (current, *get_args(current)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
            if get_origin(candidate) in (list, dict):
                current = candidate
                break
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def describe_error(
    error: Mapping[str, Any], model: type[BaseModel], prefix: tuple[str, ...]
) -> str:
    """One pydantic error as ``dotted.path: what is wrong`` (unknown keys get a did-you-mean)."""
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in (*prefix, *loc))
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        key = str(loc[-1])
        allowed = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        expected = f" expected one of: {', '.join(allowed)}" if allowed else ""
        return f"{path}: unknown key {key!r}{hint}{';' if expected else ''}{expected}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return f"{path}: {message[len('Value error, ') :]}"
    if kind == "missing":
        return f"{path}: required but missing"
    return f"{path}: {message}; got {given!r}"


def validate_nested(model: type[BaseModel], data: Any) -> BaseModel:
    """Validate a mapping nested inside a field validator, raising one InputError.

    The message names the inner path and the problem the way the loader does (unknown keys with
    the allowed ones and a did-you-mean); pydantic adds the outer field's path around it.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_error(exc.errors(include_url=False)[0], model, ())) from None
