"""Mutated scenarios never crash clustersim: only exit codes 0-3, never a traceback.

Every file in ``scenarios/`` is mutated by hypothesis (a key deleted, a value replaced by one of
another type, two values swapped, an extreme number, a value written through a YAML alias) and
given to ``validate``; a bounded share of them is also run, with a small event limit so that a
mutation that makes the run larger is refused rather than waited for. The default example count
keeps the suite fast; ``CLUSTERSIM_FUZZ_EXAMPLES=2000 pytest tests/scenario/test_fuzz.py`` runs
a longer campaign.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from clustersim.cli import app
from tests.paths import SCENARIOS

FILES = sorted(SCENARIOS.glob("*.yaml"))
EXAMPLES = int(os.environ.get("CLUSTERSIM_FUZZ_EXAMPLES", "40"))
runner = CliRunner()

EXTREMES = [0, -1, 1, 2**31, 2**64, 1e30, -1e30, 1e-30, 0.5, True, False, None, "", "x", [], {}]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in the scenario (mapping keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(node: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _delete(node: Any, path: tuple) -> None:
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


@st.composite
def mutated(draw) -> str:
    """YAML text of a mutated scenario file."""
    path_file = draw(st.sampled_from(FILES))
    data = yaml.safe_load(path_file.read_text())
    paths = _paths(data)
    for _ in range(draw(st.integers(1, 3))):
        if not paths:
            break
        where = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["delete", "replace", "swap", "extreme"]))
        if how == "delete":
            _delete(data, where)
        elif how == "swap":
            other = draw(st.sampled_from(paths))
            if where[: len(other)] == other or other[: len(where)] == where:
                continue  # one holds the other: swapping them would make a cycle
            with contextlib.suppress(KeyError, IndexError, TypeError):
                a, b = _get(data, where), _get(data, other)
                _set(data, where, b)
                _set(data, other, a)
        else:
            value = draw(st.sampled_from(EXTREMES)) if how == "extreme" else draw(
                st.one_of(st.integers(-5, 10**6), st.text(max_size=8), st.booleans(),
                          st.lists(st.integers(0, 4), max_size=3), st.floats(allow_nan=False))
            )  # fmt: skip
            with contextlib.suppress(KeyError, IndexError, TypeError):
                _set(data, where, value)
        paths = _paths(data)
    text = yaml.safe_dump(data, sort_keys=False)
    if draw(st.booleans()) and "name:" in text:  # write one value through an alias
        text = "anchor: &v 3\n" + text.replace("seed: ", "seed: *v #", 1)
    return text


def _assert_clean(result) -> None:
    assert result.exit_code in (0, 1, 2, 3), (result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output, result.output[-2000:]
    if result.exit_code == 2:
        assert result.stderr.startswith("clustersim: "), result.stderr


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=mutated(), also_run=st.integers(0, 9))
def test_mutated_scenarios_never_crash(tmp_path: Path, text: str, also_run: int) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path), "--max-events", "200000"])
    _assert_clean(result)
    if result.exit_code == 0 and also_run == 0:  # about one in ten valid ones is also run
        ran = runner.invoke(
            app, ["run", str(path), "--json", "--max-events", "200000", "--max-memory", "1GiB"]
        )
        _assert_clean(ran)
