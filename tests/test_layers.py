"""The layers of docs/architecture.md §2 hold: every import points down, and none makes a cycle.

Bottom to top: errors/units -> core -> hardware, nn, datasets -> kinds (the workload-kind
contract) -> domains (collectives, training, inference, federated) -> result, scenario ->
report, plot, listing, cli. An import inside a function counts like one at the top of a
module: it is still a dependency, only a later one. Imports within one layer are allowed
(training uses the collectives), as long as they make no cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "clustersim"

LAYERS: list[set[str]] = [
    {"errors", "units"},
    {"core"},
    {"hardware", "nn", "datasets"},
    {"kinds"},
    {"collectives", "training", "inference", "federated"},
    {"result", "scenario"},
    {"report", "plot", "listing", "cli", "pytest_plugin", "__init__", "__main__"},
]
LEVEL = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The longest known module that ``name`` names or lies inside."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(module: str) -> list[tuple[int, str]]:
    """(line, imported clustersim module) for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "clustersim" or name.startswith("clustersim."):
                found.append((node.lineno, _resolve(name)))
    return found


def _top(module: str) -> str:
    """The layer unit of a module: its first name below ``clustersim`` (``__init__`` for it)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_top_level_unit_has_a_layer() -> None:
    unplaced = sorted({_top(m) for m in MODULES} - set(LEVEL))
    assert not unplaced, f"add these to LAYERS in tests/test_layers.py: {unplaced}"


def test_no_import_runs_up_the_layers() -> None:
    upward = []
    for module in MODULES:
        if module == "clustersim":
            continue  # the package's lazy public API may name any layer
        for line, target in _imports(module):
            if target == "clustersim":
                upward.append(f"{MODULES[module]}:{line} imports the package root {target}")
            elif LEVEL[_top(target)] > LEVEL[_top(module)]:
                upward.append(
                    f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: "
                    f"{module} ({_top(module)}) imports {target} ({_top(target)})"
                )
    assert not upward, "imports that run up the layers:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    graph = {m: {t for _, t in _imports(m) if t != m} for m in MODULES if m != "clustersim"}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in graph:
        if module not in index:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


KERNELS = sorted(m for m, p in MODULES.items() if p.name == "kernels.py")
FORBIDDEN = ("simpy", "yaml", "pydantic", "clustersim.scenario", "matplotlib", "networkx")


def test_every_kind_package_has_the_same_files() -> None:
    kinds = sorted(p.parent for p in PACKAGE.rglob("kind.py"))
    assert kinds, "no kind packages found"
    missing = [
        f"{k.relative_to(PACKAGE.parent)}/{name}"
        for k in kinds
        for name in ("params.py", "kernels.py", "process.py", "costs.py", "kind.py")
        if not (k / name).exists()
    ]
    assert not missing, f"kind packages miss: {missing}"


@pytest.mark.parametrize("module", KERNELS)
def test_kernel_module_loads_only_numpy_and_lower_layers(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"import {module} loads {done.stdout.strip()}"
