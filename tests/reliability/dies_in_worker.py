"""A run function that no worker process can load, for the reliability tests.

Its module ends any worker process that imports it (`os._exit`, as a crash
at start-up would), and a worker imports it to unpickle its first batch, so
every worker dies before starting any run: what happens to a sweep whose
`run_fn` cannot be imported in a fresh process, or whose workers cannot
start at all (a script that calls `run_sweep` without an
`if __name__ == "__main__":` guard, under the spawn start method). The
process that runs the sweep (not a worker) imports it as usual.
"""

from __future__ import annotations

import multiprocessing
import os

from experiments.runner import run_one
from experiments.spec import Run
from experiments.store import RunResult

if multiprocessing.parent_process() is not None:  # a worker process
    os._exit(19)


def unloadable_run(run: Run) -> RunResult:
    """Run `run` normally: the fault is in importing this module, not in running."""
    return run_one(run)
