"""Where a run writes its files, checked before it simulates so that a bad path costs no run.

A run can write three files: the result JSON (``output.json`` in the scenario), a Chrome trace
(``--trace`` or ``output.trace``) and a timeline picture (``--timeline`` or
``output.timeline``); the command-line flags win over the scenario. Relative paths are taken
from the working directory, as every command-line tool does. Each path is checked up front: its
suffix must be a format clustersim writes, it must not be a folder, and its folder (created if
missing, as the writers do) must accept a new file, which is tried with a temporary file, since
permission bits say nothing about ``/proc`` or a read-only mount. An existing file is not
touched until the run has finished.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from clustersim.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "Outputs", "check_writable", "resolve_outputs"]

IMAGE_SUFFIXES = (".png", ".pdf", ".svg")
"""Timeline formats (matplotlib writes each without extra libraries)."""


@dataclass(frozen=True)
class Outputs:
    """The files a run writes (None: not asked for)."""

    json: Path | None = None
    trace: Path | None = None
    timeline: Path | None = None

    @property
    def traced(self) -> bool:
        """A trace or a timeline needs the spans recorded."""
        return self.trace is not None or self.timeline is not None


def _existing_ancestor(path: Path) -> Path:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_writable(path: Path, what: str, suffixes: tuple[str, ...]) -> Path:
    """``path`` if a file of one of ``suffixes`` can be written there; else an InputError."""
    if path.suffix.lower() not in suffixes:
        raise InputError(
            f"{what} {str(path)!r}: unknown format {path.suffix or '(no suffix)'!r}; expected a "
            f"file name ending in {', '.join(suffixes)}"
        )
    if path.is_dir():
        raise InputError(f"{what} {str(path)!r} is a folder; expected a file name")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise InputError(f"{what} {str(path)!r} exists and is not writable")
        return path
    folder = _existing_ancestor(path)
    if not folder.is_dir():
        raise InputError(f"{what} {str(path)!r}: {str(folder)!r} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".clustersim-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(
            f"{what} {str(path)!r}: cannot write in {str(folder)!r} ({reason})"
        ) from None
    return path


def resolve_outputs(
    scenario_output: object,
    *,
    trace: Path | None = None,
    timeline: Path | None = None,
    source: str = "",
) -> Outputs:
    """The checked output paths: command-line flags first, then the scenario's ``output``."""
    given = {
        "json": getattr(scenario_output, "json_path", None),
        "trace": trace or getattr(scenario_output, "trace", None),
        "timeline": timeline or getattr(scenario_output, "timeline", None),
    }
    where = {
        "json": "output.json",
        "trace": "--trace" if trace else "output.trace",
        "timeline": "--timeline" if timeline else "output.timeline",
    }
    formats = {"json": (".json",), "trace": (".json",), "timeline": IMAGE_SUFFIXES}
    checked: dict[str, Path | None] = {}
    for key, value in given.items():
        if value is None:
            checked[key] = None
            continue
        try:
            checked[key] = check_writable(Path(value), where[key], formats[key])
        except InputError as exc:
            raise InputError(f"{source}: {exc}" if source else str(exc)) from None
    return Outputs(**checked)
