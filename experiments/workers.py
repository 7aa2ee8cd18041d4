"""The local worker processes of a sweep: started early, gone fast.

A worker is a fresh interpreter (`spawn`, which importing Mesa forces
anyway) that imports numpy, polars, Mesa and the model before its first run:
1.2-1.5 s on the project's machine, during which its core runs no run. So
`LocalPool` starts its processes at once and has each import the model
straight away, and `concession sweep` starts the pool before anything else,
so that the workers import while the command itself imports the runner,
reads the spec and prepares the results folder (measured on a small sweep:
the last worker's first run 0.3 s sooner on 1 worker, 0.45 s on 2). This
module imports nothing heavy, so that it can be imported first.

When a worker's interpreter shuts down it skips the module-by-module
teardown (see `_exit_without_teardown`), and a worker whose parent is gone
exits by itself (see `_watch_parent`).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

# Batches a worker process runs before it is replaced: often enough that memory
# cannot creep up across runs, rarely enough that re-importing Mesa and numpy
# (about 1 s a worker) stays a small share (20 cost 4% on a quick sweep).
MAX_TASKS_PER_CHILD = 100
SINGLE_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "POLARS_MAX_THREADS",
)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class LocalPool:
    """`workers` spawned processes that run a sweep's batches, started (and importing) at once.

    `executor` is the `ProcessPoolExecutor` to submit to. Each process is
    replaced after `MAX_TASKS_PER_CHILD` tasks, so that memory cannot grow
    across runs.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a pool has at least one worker, not {workers}")
        self.workers = workers
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # The parallelism is across runs: a worker that also spreads numpy or polars over every
        # core fights the others for them (measured: 2 workers were slower than 1). The workers
        # get one thread each (unless the user set these): in the environment they are spawned
        # with, and again in each one (`_start_worker`) for those that replace them later. This
        # process keeps its own setting: at the end it assembles the tables, when every core is
        # free (2 threads on 2 cores: 2.8 s -> 1.9 s at the end of a sweep of 980 runs).
        single = {var: "1" for var in SINGLE_THREAD_ENV if var not in os.environ}
        os.environ.update(single)
        try:
            executor = _Executor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=MAX_TASKS_PER_CHILD,
                initializer=_start_worker,
                initargs=(os.getpid(), single),
            )
            # The first task submitted starts every worker (see `_Executor`), each spawned with
            # `single` set; a warm-up task per worker has each import the model now, rather than
            # when the first batches come.
            for _ in range(self.workers):
                executor.submit(_warm_up)
        finally:
            for var in single:
                os.environ.pop(var, None)
        return executor

    def renew(self) -> None:
        """Replace a broken executor (a worker process died) with a fresh one."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._start()

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down once its tasks are done; `cancel`: stop its processes now.

        Closing again does nothing.
        """
        if cancel:
            # Otherwise the shutdown would wait for each worker to end its task (at least its
            # warm-up, for a pool started for a sweep that then had nothing to run). The executor
            # has no public way to stop its processes before Python 3.14.
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                process.terminate()
        self.executor.shutdown(wait=True, cancel_futures=cancel)


class _Executor(ProcessPoolExecutor):
    """A `ProcessPoolExecutor` that always replaces a worker that exited at its task limit.

    Python's own (3.11, and later versions before their fix for
    gh-115634) decides whether to start a process from a count of finished
    tasks that can outlive the worker that finished them: when a worker
    exits at `max_tasks_per_child` while batches are queued, it may start no
    replacement and the sweep waits for ever (seen here: a sweep of 980
    runs stopped one batch before its end). Here a process is started
    whenever there are fewer than `max_workers`, which is also what
    `LocalPool` wants when it starts: every worker at once.
    """

    def _adjust_process_count(self) -> None:
        processes = getattr(self, "_processes", None)
        spawn = getattr(self, "_spawn_process", None)
        if processes is None:  # shut down
            return
        if spawn is None:  # an executor unlike Python 3.11-3.14's: its own way
            super()._adjust_process_count()
            return
        while len(processes) < self._max_workers:
            spawn()


# --------------------------------------------------------------------------- in the worker


def _start_worker(parent: int, env: dict[str, str]) -> None:
    """Set up a worker process: one thread for numpy and polars, exits with its parent, and fast.

    `env` is set here too for workers spawned later, to replace others: it
    takes effect if numpy and polars are imported after this, as they are
    unless the script that started the sweep imports them at its top.
    """
    os.environ.update(env)
    _watch_parent(parent)
    atexit.register(_exit_without_teardown)


def _warm_up() -> None:
    """Import what a run needs, so that the first batch does not wait for it."""
    import environments.model  # noqa: F401
    import experiments.runner  # noqa: F401


def _watch_parent(parent: int) -> None:
    """Exit when the process that started this worker is gone (killed sweeps leave no orphans)."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def _exit_without_teardown() -> None:
    """End a worker process at once when its interpreter shuts down (registered with atexit).

    By then the worker has sent its last result and its queues are flushed
    (`multiprocessing` does that before the interpreter shuts down). What is
    skipped is the module-by-module teardown of Mesa, pandas, SciPy and
    numba: about 0.6 s (measured), which the sweep would wait for at its end,
    and whenever a worker is replaced. The pool does not read exit codes.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
