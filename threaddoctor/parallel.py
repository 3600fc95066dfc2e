"""A second process for work that splits in two, so a scan uses both cores of a small machine."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

# multiprocessing and concurrent.futures are imported when a worker is wanted: only large files
# get one, and every scan imports this module.
if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def forks() -> bool:
    """Whether the worker is forked: it then starts at once, inherits the imports, and shares
    whatever memory and pipes the parent made before it started. Not on macOS, where system
    libraries are not safe to use in a forked child (Python spawns there by default)."""
    import multiprocessing

    return sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()


def worker_pool() -> ProcessPoolExecutor:
    """One worker, forked where the platform can."""
    return process_pool(1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` processes, forked where the platform can."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if forks() else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool's workers now, mid-task: a read that was abandoned does not need the rest."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # the same, before 3.14
        process.terminate()
