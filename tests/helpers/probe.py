"""What a worker process sees, for tests/experiments/test_workers.py (importable by spawned workers)."""

from __future__ import annotations

import os


def threads() -> tuple[int, str | None, int]:
    """This process's id, its `POLARS_MAX_THREADS`, and the threads polars uses."""
    import polars as pl

    return os.getpid(), os.environ.get("POLARS_MAX_THREADS"), pl.thread_pool_size()
