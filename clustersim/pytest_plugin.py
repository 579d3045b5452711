"""A pytest plugin: every scenario file with an ``expect:`` block is a set of tests.

Installed with clustersim (the ``pytest11`` entry point), it makes ``pytest scenarios/`` (or
any folder or file given to pytest) collect each YAML scenario that has an ``expect:`` block
(see :mod:`clustersim.scenario.expect`), run it once, and report one test per expectation::

    $ pytest scenarios/ring_allreduce.yaml -v
    scenarios/ring_allreduce.yaml::bytes_total PASSED
    scenarios/ring_allreduce.yaml::time_s PASSED
    scenarios/ring_allreduce.yaml::checks.allreduce_equals_sum PASSED

A missed expectation fails with the metric, its value, the bound, the relative error and the
command that reproduces it. Overrides keep runs small in a test suite, per file, in the pytest
configuration (``pyproject.toml``)::

    [tool.pytest.ini_options]
    clustersim_set = ["ring_allreduce.yaml: workload.size=4MiB"]

or on the command line: ``--clustersim-set "ring_*.yaml: workload.verify=false"``. Each line is
``GLOB: KEY=VALUE [KEY=VALUE ...]``; the glob matches the file name or its path.
"""

from __future__ import annotations

import re
import shlex
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ExpectationItem", "ScenarioFile"]

_TOP_LEVEL_EXPECT = re.compile(r"^expect\s*:", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "clustersim_set",
        type="linelist",
        help="clustersim scenario overrides per file: 'GLOB: KEY=VALUE [KEY=VALUE ...]'",
    )
    parser.addoption(
        "--clustersim-set",
        action="append",
        default=[],
        metavar="'GLOB: KEY=VALUE ...'",
        help="overrides for the clustersim scenario files matching GLOB",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    try:
        head = file_path.read_text(encoding="utf-8", errors="replace")[: 1 << 20]
    except OSError:
        return None
    if not _TOP_LEVEL_EXPECT.search(head):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def _overrides(config: pytest.Config, path: Path) -> list[str]:
    lines = [*config.getini("clustersim_set"), *config.getoption("clustersim_set")]
    found: list[str] = []
    for line in lines:
        pattern, sep, rest = line.partition(":")
        if not sep:
            raise pytest.UsageError(
                f"clustersim_set line {line!r}: expected 'GLOB: KEY=VALUE [KEY=VALUE ...]'"
            )
        if fnmatch(path.name, pattern.strip()) or fnmatch(str(path), pattern.strip()):
            found += shlex.split(rest)
    return found


class ScenarioFile(pytest.File):
    """A scenario file: one item per expectation, all judged on one run."""

    def collect(self) -> list[pytest.Item]:
        from clustersim.errors import InputError
        from clustersim.scenario.loader import load_scenario

        self.overrides = _overrides(self.config, self.path)
        self._result: Any = None
        try:
            scenario = load_scenario(self.path, self.overrides)
        except InputError as exc:
            return [BrokenScenario.from_parent(self, name="load", message=str(exc))]
        self.scenario = scenario
        expect = scenario.expectations
        names = [*expect.metrics, *(f"checks.{c}" for c in expect.checks)] if expect else []
        return [ExpectationItem.from_parent(self, name=name) for name in names]

    def command(self) -> str:
        sets = " ".join(f"--set {shlex.quote(o)}" for o in self.overrides)
        return f"clustersim run {shlex.quote(str(self.path))}" + (f" {sets}" if sets else "")

    def result(self) -> Any:
        """The scenario's run (its expectations judged one by one by the items), simulated
        once for all of them."""
        if self._result is None:
            import dataclasses

            from clustersim.scenario.runner import run_scenario

            self._result = run_scenario(dataclasses.replace(self.scenario, expectations=None))
        return self._result

    def judge(self, name: str) -> dict[str, Any]:
        """The record of expectation ``name`` on the run (an InputError if it names nothing)."""
        from clustersim.scenario.expect import evaluate

        expect = self.scenario.expectations
        if name.startswith("checks."):
            one = expect.model_copy(
                update={"metrics": {}, "checks": {name[7:]: expect.checks[name[7:]]}}
            )
        else:
            one = expect.model_copy(update={"metrics": {name: expect.metrics[name]}, "checks": {}})
        result = self.result()
        records = evaluate(
            one, result.metrics, result.analytic, result.checks, self.scenario.workload,
            str(self.path), skip_missing=not self.scenario.as_written,
        )  # fmt: skip
        return records[name]


class ExpectationMissed(Exception):
    """An expectation the run did not meet."""


class ExpectationItem(pytest.Item):
    """One expectation of a scenario file."""

    parent: ScenarioFile

    def runtest(self) -> None:
        from clustersim.report import expectation_text

        record = self.parent.judge(self.name)
        if "skipped" in record:
            pytest.skip(f"{self.name}: {record['skipped']} ({self.parent.command()})")
        if not record["met"]:
            raise ExpectationMissed(
                f"{self.name}: {expectation_text(self.name, record)}\n"
                f"reproduce with: {self.parent.command()}"
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from clustersim.errors import ClustersimError

        if isinstance(excinfo.value, (ExpectationMissed, ClustersimError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.name


class BrokenScenario(pytest.Item):
    """A scenario file that does not load: one failing item with the loader's message."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise ExpectationMissed(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return self.message

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"{self.path.name} does not load"
