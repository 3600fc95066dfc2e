"""A second process for work that splits in two, so a scan uses both cores of a small machine."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def forks() -> bool:
    """Whether the worker is forked: it then starts at once, inherits the imports, and shares
    whatever memory and pipes the parent made before it started."""
    return "fork" in multiprocessing.get_all_start_methods()


def worker_pool() -> ProcessPoolExecutor:
    """One worker, forked where the platform can."""
    context = multiprocessing.get_context("fork" if forks() else "spawn")
    return ProcessPoolExecutor(max_workers=1, mp_context=context)
