"""A second process for work that splits in two, so a scan uses both cores of a small machine."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def worker_pool() -> ProcessPoolExecutor:
    """One worker, forked where the platform can (it starts at once and inherits the imports)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=1, mp_context=context)
