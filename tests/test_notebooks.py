"""Every notebook in ``notebooks/`` executes headless without a cell error (DESIGN.md §7).

Each ``notebooks/*.ipynb`` is one test case, so a new notebook is picked up without touching this
file. Notebooks run with nbclient on a ``python3`` kernel, with the notebooks directory as the
working directory (as in Jupyter) and ``MPLBACKEND=Agg`` so that no display is needed.

The kernel must be *this* interpreter, the one that has clustersim installed. jupyter_client
resolves ``python3`` to ipykernel's built-in spec running ``sys.executable`` when no kernel.json
is installed, and rewrites a bare ``python`` in a kernel.json to ``sys.executable``. It would,
however, pick up a ``python3`` kernelspec that another environment installed for the user
(``python -m ipykernel install --user`` elsewhere) and start that interpreter instead. So the
spec is checked, and when it is missing or points elsewhere, the kernel is built from
ipykernel's spec for ``sys.executable``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 300
# Names jupyter_client replaces with sys.executable when launching a kernel.
_BARE_PYTHONS = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}


class _ThisInterpreterSpecs(KernelSpecManager):
    """Kernel specs where ``python3`` is always ipykernel running on ``sys.executable``."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == KERNEL_NAME:
            from ipykernel.kernelspec import RESOURCES, get_kernel_dict

            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
        return super().get_kernel_spec(kernel_name)


def _runs_this_interpreter(argv: list[str]) -> bool:
    if not argv:
        return False
    if argv[0] in _BARE_PYTHONS:
        return True
    try:
        return Path(argv[0]).resolve() == Path(sys.executable).resolve()
    except OSError:
        return False


def kernel_manager() -> AsyncKernelManager:
    """A manager for the ``python3`` kernel, guaranteed to run the current interpreter."""
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        spec = None
    if spec is not None and _runs_this_interpreter(spec.argv):
        return AsyncKernelManager(kernel_name=KERNEL_NAME)
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=_ThisInterpreterSpecs())


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


def test_kernel_is_this_interpreter() -> None:
    km = kernel_manager()
    argv = km.kernel_spec.argv
    assert _runs_this_interpreter(argv), argv


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits os.environ
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        km=kernel_manager(),
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell raised\n{exc}", pytrace=False)
    assert os.environ["MPLBACKEND"] == "Agg"
