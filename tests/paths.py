"""Paths the tests share: the repository, its scenarios and notebooks."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
NOTEBOOKS = REPO / "notebooks"
PACKAGE = REPO / "clustersim"
