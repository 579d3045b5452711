"""Every notebook in ``notebooks/`` executes headless without a cell error.

docs/architecture.md §7.

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

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from traitlets import default  # noqa: E402

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


class _ThisInterpreterKernelManager(AsyncKernelManager):
    """An async kernel manager whose ``python3`` spec is pinned to ``sys.executable``."""

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self) -> KernelSpecManager:
        return _ThisInterpreterSpecs(data_dir=self.data_dir)


def _runs_this_interpreter(argv: list[str]) -> bool:
    if not argv:
        return False
    if argv[0] in _BARE_PYTHONS:
        return True
    try:
        return Path(argv[0]).resolve() == Path(sys.executable).resolve()
    except OSError:
        return False


def kernel_manager_class() -> type[AsyncKernelManager]:
    """The manager class for a ``python3`` kernel that runs the current interpreter.

    The stock manager when jupyter_client resolves ``python3`` to this interpreter; otherwise
    (no such kernel, or a kernelspec of another environment shadows it) the pinned one.
    """
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return _ThisInterpreterKernelManager
    if _runs_this_interpreter(spec.argv):
        return AsyncKernelManager
    return _ThisInterpreterKernelManager


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


def test_kernel_is_this_interpreter() -> None:
    km = kernel_manager_class()(kernel_name=KERNEL_NAME)
    assert _runs_this_interpreter(km.kernel_spec.argv), km.kernel_spec.argv
    assert _runs_this_interpreter(_ThisInterpreterKernelManager().kernel_spec.argv)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits os.environ
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_manager_class=kernel_manager_class(),
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell raised\n{exc}", pytrace=False)
