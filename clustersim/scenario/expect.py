"""Expectations in a scenario file: what a formula or a paper says the run must show.

An optional ``expect:`` block states, per metric, a bound the run must meet, and which checks
must pass (or, for a negative control, fail)::

    expect:
      let: {N: metrics.ranks, S: workload.size}     # names for the expressions below
      bytes_total: {equals: 2*(N-1)*S}               # the notes' 2(N-1)G, exactly
      time_s: {analytic: true, rtol: 1e-9}           # the simulated time is the formula's
      bubble_fraction: {min: 0.40, max: 0.45}        # numbers or unit strings ("2 ms")
      checks: {allreduce_equals_sum: pass}

A bound is one of ``analytic: true`` (the run's own analytic value of that metric),
``equals: VALUE`` (within ``rtol`` (default 1e-9) and ``atol`` (default 0)), or ``min``/``max``
(inclusive). A value is a number, a quantity with its unit (through :mod:`clustersim.units`), or
an arithmetic expression over numbers, the ``let`` names, ``workload.<field>``,
``metrics.<name>`` and ``analytic.<name>`` (``+ - * / // ** %``, parentheses, and ``min``,
``max``, ``abs``, ``sqrt``, ``log2``, ``ceil``, ``floor``). A list-valued metric must meet the
bound in every element. The block is checked when the scenario is loaded (exit 2 for a
malformed one); each expectation is reported with the run, and a run that misses one exits 1.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clustersim.errors import InputError
from clustersim.kinds.validation import describe_errors
from clustersim.units import parse_quantity

__all__ = ["Expectations", "evaluate", "parse_expectations"]

_QUANTITY_KINDS = ("time", "bytes", "rate", "flops", "flop_rate")
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "log2": math.log2,
    "ceil": math.ceil,
    "floor": math.floor,
}
Value = float | int | str


class _Unavailable(InputError):
    """An expectation names something the run does not have (an input error as written)."""


class _Undefined(ArithmeticError):
    """An expression is undefined for this run's values (say 1 / (1 - alpha) at alpha = 1)."""


class Bound(BaseModel):
    """One metric's expectation."""

    # built when an expect: block is first parsed, not at import (most validations have none)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)

    analytic: bool = False
    equals: Value | None = None
    min: Value | None = None
    max: Value | None = None
    rtol: float = Field(1e-9, ge=0)
    atol: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Bound:
        kinds = [
            self.analytic,
            self.equals is not None,
            self.min is not None or self.max is not None,
        ]
        if sum(kinds) != 1:
            raise InputError(
                "expected exactly one of analytic: true, equals: VALUE, or min/max bounds"
            )
        return self


class Expectations(BaseModel):
    """A scenario's ``expect:`` block, parsed."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    let: dict[str, Value] = Field(default_factory=dict)
    checks: dict[str, Literal["pass", "fail"]] = Field(default_factory=dict)
    metrics: dict[str, Bound] = Field(default_factory=dict)


def parse_expectations(raw: Any, source: str) -> Expectations | None:
    """The ``expect:`` block of a scenario (None when absent); errors name ``expect.<key>``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InputError(f"{source}: expect: expected a mapping of metric: bound, got {raw!r}")
    data = {
        "let": raw.get("let", {}),
        "checks": raw.get("checks", {}),
        "metrics": {k: v for k, v in raw.items() if k not in ("let", "checks")},
    }
    try:
        parsed = Expectations.model_validate(data, strict=False)
    except ValidationError as exc:
        lines = describe_errors(exc.errors(include_url=False), Expectations, ())
        fixed = [line.removeprefix("metrics.") for line in lines]
        raise InputError(f"{source}: " + "; also ".join(f"expect.{x}" for x in fixed)) from None
    for name, value in parsed.let.items():
        if not name.isidentifier():
            raise InputError(f"{source}: expect.let.{name}: not a name an expression can use")
        _parse_expression(value, f"{source}: expect.let.{name}")
    for metric, bound in parsed.metrics.items():
        for field in ("equals", "min", "max"):
            value = getattr(bound, field)
            if value is not None:
                _parse_expression(value, f"{source}: expect.{metric}.{field}")
    return parsed


def _parse_expression(value: Value, where: str) -> ast.expr | float:
    """A number, a quantity string, or the AST of an allowed expression."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    for kind in _QUANTITY_KINDS:
        try:
            return parse_quantity(kind, text)
        except (InputError, ValueError):
            continue
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise InputError(
            f"{where}: {text!r} is not a number, a quantity or an expression"
        ) from None
    for node in ast.walk(tree):
        allowed = (
            ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Constant, ast.Name, ast.Attribute,
            ast.Call, ast.Load, *_BINARY,
        )  # fmt: skip
        if not isinstance(node, allowed):
            raise InputError(f"{where}: {text!r}: {type(node).__name__} is not allowed here")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        ):
            raise InputError(
                f"{where}: {text!r}: only the functions {', '.join(_FUNCTIONS)} may be called"
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise InputError(f"{where}: {text!r}: {node.value!r} is not a number")
    return tree


def _evaluate(value: Value, names: Callable[[str], float], where: str) -> float:
    tree = _parse_expression(value, where)
    if isinstance(tree, float):
        return tree

    def walk(node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            inner = walk(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            return float(_BINARY[type(node.op)](walk(node.left), walk(node.right)))
        if isinstance(node, ast.Call):
            return float(_FUNCTIONS[node.func.id](*(walk(a) for a in node.args)))  # type: ignore[attr-defined]
        return names(ast.unparse(node))

    try:
        return walk(tree)
    except InputError:
        raise
    except (ArithmeticError, ValueError) as exc:
        raise _Undefined(f"{value!r} is undefined for this run ({exc})") from None


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def evaluate(
    expectations: Expectations,
    metrics: Mapping[str, Any],
    analytic: Mapping[str, Any],
    checks: Mapping[str, Mapping[str, Any]],
    workload: BaseModel,
    source: str,
    *,
    skip_missing: bool = False,
) -> dict[str, dict[str, Any]]:
    """Each expectation's record: ``met``, the value, the bound, the relative error.

    A metric or check the run did not report is an InputError listing what it did report, or,
    with ``skip_missing`` (the scenario is not a file run as written), a record ``{"met": True,
    "skipped": why}``: the expectation was about the file as written. An expression that is
    undefined for the run's values (a division by zero) is a missed expectation with its error.
    """
    resolved: dict[str, float] = {}

    def name_value(name: str) -> float:
        if name in resolved:
            return resolved[name]
        if name in expectations.let:
            resolved[name] = math.nan  # a let that refers to itself evaluates to NaN
            resolved[name] = _evaluate(expectations.let[name], name_value, f"{source}: expect.let")
            return resolved[name]
        section, _, field = name.partition(".")
        tables = {"metrics": metrics, "analytic": analytic}
        if section in tables and _scalar(tables[section].get(field)):
            return float(tables[section][field])
        if section == "workload" and _scalar(getattr(workload, field, None)):
            return float(getattr(workload, field))
        raise _Unavailable(
            f"{source}: expect: {name!r} is not a number of this run; expressions may use "
            f"let names ({', '.join(expectations.let) or 'none'}), workload.<field>, "
            "metrics.<name> and analytic.<name>"
        )

    out: dict[str, dict[str, Any]] = {}
    for metric, bound in expectations.metrics.items():
        where = f"{source}: expect.{metric}"
        value = metrics.get(metric)
        values = value if isinstance(value, list) else [value]
        if metric not in metrics or not all(_scalar(v) for v in values):
            why = (
                f"the run reports no metric {metric!r}"
                if metric not in metrics
                else f"metric {metric!r} is not a number here (got {value!r})"
            )
            if skip_missing:
                out[metric] = {"met": True, "skipped": why}
                continue
            shown = ", ".join(
                k for k in metrics if _scalar(metrics[k]) or isinstance(metrics[k], list)
            )
            raise InputError(f"{where}: {why}; it reports {shown}")
        try:
            out[metric] = _judge(
                metric, bound, [float(v) for v in values], analytic, name_value, where
            )
        except _Unavailable as exc:
            if not skip_missing:
                raise InputError(str(exc)) from None
            out[metric] = {"met": True, "skipped": str(exc).split(": ", 2)[-1]}
        except _Undefined as exc:
            out[metric] = {"met": False, "value": values[0], "error": str(exc)}
    for name, wanted in expectations.checks.items():
        if name not in checks and skip_missing:
            out[f"checks.{name}"] = {"met": True, "skipped": "the changed run has no such check"}
            continue
        if name not in checks:
            raise InputError(
                f"{source}: expect.checks.{name}: the run has no check {name!r}; its checks are "
                f"{', '.join(checks) or 'none (is verify on?)'}"
            )
        passed = bool(checks[name].get("passed"))
        out[f"checks.{name}"] = {
            "met": passed == (wanted == "pass"),
            "expected": wanted,
            "value": "pass" if passed else "fail",
        }
    return out


def _judge(
    metric: str,
    bound: Bound,
    values: list[float],
    analytic: Mapping[str, Any],
    names: Callable[[str], float],
    where: str,
) -> dict[str, Any]:
    record: dict[str, Any] = {"value": values[0] if len(values) == 1 else values}
    if bound.analytic or bound.equals is not None:
        if bound.analytic:
            target = analytic.get(metric)
            if not _scalar(target):
                raise _Unavailable(f"{where}: the run has no analytic value of {metric!r}")
            target = float(target)
            record["bound"] = "analytic"
        else:
            target = _evaluate(bound.equals, names, f"{where}.equals")  # type: ignore[arg-type]
            record["bound"] = "equals"
        record["target"] = target
        errors = [abs(v - target) for v in values]
        allowed = bound.atol + bound.rtol * abs(target)
        worst = max(errors)
        record["rel_err"] = worst / abs(target) if target else worst
        record["tolerance"] = {"rtol": bound.rtol, "atol": bound.atol}
        record["met"] = all(math.isfinite(v) for v in values) and worst <= allowed
        return record
    low = _evaluate(bound.min, names, f"{where}.min") if bound.min is not None else -math.inf
    high = _evaluate(bound.max, names, f"{where}.max") if bound.max is not None else math.inf
    record["bound"] = "range"
    record["min"], record["max"] = low, high
    record["met"] = all(math.isfinite(v) and low <= v <= high for v in values)
    return record
