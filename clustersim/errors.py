"""Exceptions that map onto the CLI's exit codes.

``InputError`` (exit 2) is anything the user can fix in a scenario or a command line: a bad unit,
an unknown preset, an impossible topology. Its message is one paragraph meant for a person; the
scenario loader prefixes it with the file and the dotted field path. ``SimulationError`` (exit 3)
is a run that could not finish (deadlock, event limit) and names what was waiting.
"""

from __future__ import annotations

__all__ = ["ClustersimError", "InputError", "SimulationError"]


class ClustersimError(Exception):
    """Base class of every error clustersim raises on purpose."""


class InputError(ClustersimError, ValueError):
    """Bad user input: the message says what was given and what was expected.

    It subclasses ``ValueError`` so that pydantic validators can raise it and have it reported
    with the field's location.
    """


class SimulationError(ClustersimError):
    """The simulation itself failed: a deadlock or an exhausted event budget."""
