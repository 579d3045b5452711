"""Run numpy's matrix products on one OpenBLAS thread for the duration of a replay.

A data-parallel replay multiplies small matrices (a batch of 32 by a 256-wide layer); threading
them buys nothing and, on a machine whose cores are busy, makes each product wait for a second
thread to be scheduled: 10-30x slower in our measurements. Results do not depend on the thread
count (OpenBLAS splits the output matrix between threads, not the summation), so this changes
only the wall time. Without OpenBLAS (or off Linux) :func:`single_threaded_blas` does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["single_threaded_blas"]


@functools.cache
def _openblas_threads() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """OpenBLAS's get/set thread-count functions, if numpy loaded OpenBLAS (Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(
                {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
            )
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", "64_"),
            ("openblas", ""),
        ):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                return get, put
    return None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Set OpenBLAS to one thread inside the ``with`` block, then restore the setting."""
    threads = _openblas_threads()
    if threads is None:
        yield
        return
    get, put = threads
    before = int(get())
    put(1)
    try:
        yield
    finally:
        put(before)
