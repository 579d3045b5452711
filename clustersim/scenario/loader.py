"""Loading a scenario: YAML -> overrides -> validated models, with errors a person can act on.

Every failure becomes an :class:`InputError` whose message is one paragraph naming the file,
the dotted field path, the value given and what was expected, e.g.::

    scenarios/ring.yaml: workload.size: '64 MiX' is not a size: unknown unit 'MiX'; known
    units: B, kB, ...
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from clustersim.errors import InputError
from clustersim.kinds.contract import WorkloadKind
from clustersim.kinds.validation import describe_errors
from clustersim.scenario.expect import Expectations, parse_expectations
from clustersim.scenario.registry import get_kind, kind_names
from clustersim.scenario.safe_yaml import MAX_FILE_BYTES, check_finite, load_yaml
from clustersim.scenario.schema import TOPOLOGY_MODELS, ScenarioModel

__all__ = ["Scenario", "apply_overrides", "field_error", "load_scenario", "parse_override"]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the top-level model, the topology and workload params, the source."""

    model: ScenarioModel
    topology: BaseModel
    workload: BaseModel
    kind: WorkloadKind
    source: str
    raw: dict[str, Any]
    expectations: Expectations | None = None
    as_written: bool = False
    """True for a file loaded without overrides. An expectation about a metric or a check a
    changed run does not have (``verify: false`` drops the checks) is skipped, not an error."""

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.model.name

    @property
    def seed(self) -> int:
        """The scenario's seed."""
        return self.model.seed


def field_error(source: str, path: str, message: str) -> InputError:
    """An InputError for ``path`` in ``source``: ``"<source>: <path>: <message>"``."""
    if path and (message.startswith(f"{path}:") or message.startswith(f"{path}.")):
        path = ""  # the message already says where
    where = f"{source}: {path}: " if path else f"{source}: "
    return InputError(where + message)


def parse_override(text: str) -> tuple[str, Any]:
    """``"workload.size=1GiB"`` -> ``("workload.size", "1GiB")``; the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InputError(
            f"--set expects KEY=VALUE with a dotted KEY such as workload.size=1GiB, got {text!r}"
        )
    parts = key.strip().split(".")
    if any(not part.strip() for part in parts):
        raise InputError(
            f"--set {text!r}: the key {key.strip()!r} has an empty part; expected dotted names "
            "such as workload.size"
        )
    try:
        parsed = load_yaml(value) if value.strip() else ""
    except InputError as exc:
        raise InputError(
            f"--set {text!r}: the value is not valid YAML ({exc}); quote it to pass a string, "
            f"e.g. --set '{key.strip()}=\"{value}\"'"
        ) from None
    return key.strip(), parsed


def apply_overrides(
    raw: dict[str, Any], overrides: Iterable[str | tuple[str, Any]]
) -> dict[str, Any]:
    """Return a copy of ``raw`` with each dotted-path override set (lists take integer keys)."""
    data = copy.deepcopy(raw)
    for item in overrides:
        key, value = parse_override(item) if isinstance(item, str) else item
        parts = key.split(".")
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise InputError(
                        f"--set {key}: {'.'.join(parts[:i])} is a list of "
                        f"{len(node)} items; {part!r} is not an index into it"
                    )
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    child = node.setdefault(part, {})
                    if isinstance(child, str) and _names_a_preset(parts[: i + 1]):
                        child = node[part] = {"preset": child}  # `device: H100` as a mapping
                    node = child
            else:
                raise InputError(f"--set {key}: {'.'.join(parts[:i])} is a value, not a mapping")
    return data


def _names_a_preset(path: list[str]) -> bool:
    """Whether ``path`` is a device or link field that may be a bare preset name
    (``cluster.device``, ``cluster.devices.<node>``, ``cluster.link``, ``cluster.topology.*_link``),
    so that ``--set cluster.device.launch_overhead=0`` can refine ``device: H100``."""
    if path[:1] != ["cluster"]:
        return False
    rest = path[1:]
    return (
        rest in (["device"], ["link"])
        or (len(rest) == 2 and rest[0] == "devices")
        or (len(rest) == 2 and rest[0] == "topology" and rest[1].endswith("link"))
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    source = str(path)
    if not path.exists():
        raise InputError(f"{source}: no such file")
    if path.is_dir():
        raise InputError(f"{source}: is a directory; expected a scenario YAML file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{source}: the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} a "
                "scenario may have; expected a scenario YAML file"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot be read: {exc}") from None
    try:
        data = load_yaml(text)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    if data is None:
        raise InputError(
            f"{source}: the file is empty; expected a scenario mapping with name, "
            "cluster and workload"
        )
    if not isinstance(data, dict):
        raise InputError(
            f"{source}: the file holds a {type(data).__name__}, not a mapping; "
            "expected keys name, cluster and workload at the top level"
        )
    return data


def _validate(model: type[BaseModel], data: Any, source: str, prefix: tuple[str, ...]) -> Any:
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        parts = describe_errors(exc.errors(include_url=False), model, prefix)
        more = f" (and {len(parts) - 3} more problems)" if len(parts) > 3 else ""
        parts = parts[:3]
        raise InputError(f"{source}: " + "; also ".join(parts) + more) from None


def _tagged(
    data: Any,
    names: list[str],
    model_of: Callable[[str], type[BaseModel]],
    source: str,
    path: str,
    noun: str,
) -> tuple[str, BaseModel]:
    """Validate a mapping whose ``kind`` key picks its model among ``names``."""
    if not isinstance(data, dict):
        raise field_error(source, path, f"expected a mapping with a 'kind' key, got {data!r}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in names:
        close = difflib.get_close_matches(str(kind), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        what = "missing" if kind is None else f"unknown {noun} {kind!r}{hint}"
        raise field_error(source, f"{path}.kind", f"{what}; known: {', '.join(names)}")
    return kind, _validate(model_of(kind), data, source, tuple(path.split(".")))


def _params_of(name: str) -> type[BaseModel]:
    kind = get_kind(name)
    assert kind is not None
    return kind.params


def load_scenario(
    scenario: str | Path | Mapping[str, Any],
    overrides: Iterable[str | tuple[str, Any]] = (),
    *,
    source: str | None = None,
) -> Scenario:
    """Read and validate a scenario from a YAML path or a mapping, after applying overrides."""
    if isinstance(scenario, Mapping):
        raw = dict(scenario)
        source = source or f"<scenario {raw.get('name', 'dict')}>"
    else:
        path = Path(scenario)
        source = source or str(scenario)
        raw = _read_yaml(path)
    overrides = list(overrides)
    try:
        raw = apply_overrides(raw, overrides)
        check_finite(raw)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    model = _validate(ScenarioModel, raw, source, ())
    _, topology = _tagged(
        model.cluster.topology,
        list(TOPOLOGY_MODELS),
        TOPOLOGY_MODELS.__getitem__,
        source,
        "cluster.topology",
        "topology kind",
    )
    kind_name, workload = _tagged(
        model.workload, kind_names(), _params_of, source, "workload", "workload kind"
    )
    kind = get_kind(kind_name)
    assert kind is not None
    return Scenario(
        model=model,
        topology=topology,
        workload=workload,
        kind=kind,
        source=source,
        raw=raw,
        expectations=parse_expectations(model.expect, source),
        as_written=not isinstance(scenario, Mapping) and not overrides,
    )
