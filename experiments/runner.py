"""Run a sweep's runs on a `concurrent.futures.Executor`, resumably.

`run_sweep(spec, out)` runs every planned run not yet recorded in the results
folder `out` (see `experiments.store`) and assembles its tables. Runs go to
the executor in batches that take a couple of seconds each (sized from
negotiators x steps and the speed measured so far), so the cost of shipping
work to a process stays small next to the work. Backends:

- local processes (default): `workers` spawned processes
  (`experiments.workers.LocalPool`), each replaced after
  `MAX_TASKS_PER_CHILD` batches so that memory cannot grow across runs;
  `workers = 0` runs in this process (debugging, profiling);
- a Dask distributed cluster (`scheduler = "tcp://host:8786"`, needs the
  `dask` extra): `Client(address).get_executor()`. The workers must be able
  to import this package (same version) and `out` is written by this process
  only, so the cluster needs no shared file system.

A run that raises is recorded as failed with its error; the sweep goes on. A
run whose worker dies is retried once, alone, and recorded as failed if it
dies again; runs interrupted with it are retried, runs that had not started
are requeued (see `_execute`), so one bad run cannot take others down with it.
Workers that keep dying before starting any run (they cannot start, or cannot
load `run_fn`) end the sweep: its remaining runs are recorded as failed.
Local processes are capped so that that many of the largest runs fit in the
memory available; on Dask each run must fit a worker's memory limit. Results
do not depend on the backend, the worker count or the batching: each run
depends only on its configuration and seed.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from environments.config import ConfigError
from experiments.spec import Run, Spec, canonical_json
from experiments.store import (
    STATUS_FAILED,
    STATUS_OK,
    ResultsFolder,
    RunResult,
    base_manifest,
    now,
)
from experiments.workers import LocalPool, default_workers

TARGET_BATCH_SECONDS = 2.0  # long enough to hide the cost of a task, short enough to balance load
INITIAL_COST_RATE = 2.0e5  # negotiator-steps per second assumed until runs have been timed

RunFn = Callable[[Run], RunResult]
RUNNING_DIR = ".running"  # start markers of the runs local workers are executing
# Pool deaths in a row, with no run started or finished in between, after which the workers are
# taken to be unable to run anything. Not 1: a worker can die between runs for other reasons
# (the out-of-memory killer picks an idle one).
DEATHS_WITHOUT_A_RUN = 3


# --------------------------------------------------------------------------- in the worker


def run_one(run: Run) -> RunResult:
    """Run one model from its resolved configuration and seed; collect its tables and outcomes."""
    from environments.config import load_config
    from environments.model import ConcessionModel

    start = time.perf_counter()
    model = ConcessionModel(load_config(run.config), rng=run.seed)
    try:
        model.run(run.config["steps"])
        tables = {
            "steps": model.steps_frame(),
            "strategies": model.strategy_frame(),
            "agents": model.agents_table(),
        }
        outcomes = model.outcomes()
    finally:
        model.release()
    return RunResult(run.run_id, STATUS_OK, time.perf_counter() - start, dict(outcomes), tables)


def run_batch(
    runs: list[Run], run_fn: RunFn = run_one, markers: str | None = None
) -> list[RunResult]:
    """Run a batch of runs one after another; a run that raises becomes a failed result.

    `markers`: a folder where the run being executed is marked (a file named
    by its run id, removed when it ends), so that if this process dies the
    sweep knows which run it was executing.
    """
    results = []
    for run in runs:
        start = time.perf_counter()
        marker = Path(markers, run.run_id) if markers is not None else None
        if marker is not None:
            with contextlib.suppress(OSError):  # a marker is a hint; it never fails a run
                marker.touch()
        try:
            result = run_fn(run)
        except Exception as exc:  # any error in a run is that run's failure, not the sweep's
            result = RunResult(
                run.run_id,
                STATUS_FAILED,
                time.perf_counter() - start,
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(),
            )
        if marker is not None:
            with contextlib.suppress(OSError):
                marker.unlink(missing_ok=True)
        results.append(result)
    return results


# --------------------------------------------------------------------------- backends


class InProcessExecutor(Executor):
    """Runs each submitted call at once in this process (`workers = 0`)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call `fn` now; the returned future is already done."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


class Backend:
    """Where batches run: local processes, this process, or a Dask cluster.

    `pool`: local processes already started (see `experiments.workers`), used
    if there are `workers` of them and closed otherwise.
    """

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        pool: LocalPool | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.workers = default_workers() if workers is None else workers
        if self.workers < 0:
            raise ConfigError(f"--workers {self.workers}: the number of worker processes is >= 0")
        self.client: Any = None
        if pool is not None and (scheduler or pool.workers != self.workers):
            pool.close(cancel=True)  # not the processes this sweep needs: free their cores
            pool = None
        self.pool: LocalPool | None = pool
        self.executor: Executor = self._start()

    def _start(self) -> Executor:
        if self.scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise ConfigError(
                    "--scheduler needs Dask distributed: pip install 'concession-lab[dask]'"
                ) from None
            try:
                self.client = Client(self.scheduler, timeout="30s")
            except OSError as exc:
                raise ConfigError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None
            return self.client.get_executor(pure=False)
        if self.workers == 0:
            return InProcessExecutor()
        if self.pool is None:
            self.pool = LocalPool(self.workers)
        return self.pool.executor

    @property
    def marks_starts(self) -> bool:
        """Whether workers can leave start markers in the results folder (local processes)."""
        return self.client is None and self.workers > 0

    def worker_memory(self) -> int | None:
        """Dask: the smallest memory limit per worker thread; None when no worker has a limit."""
        if self.client is None:
            return None
        limits = [
            w["memory_limit"] // max(1, w.get("nthreads", 1))
            for w in self.client.scheduler_info().get("workers", {}).values()
            if w.get("memory_limit")
        ]
        return min(limits) if limits else None

    @property
    def slots(self) -> int:
        """How many batches can run at once."""
        if self.client is not None:
            return max(1, sum(self.client.nthreads().values()))
        return max(1, self.workers)

    def describe(self) -> str:
        """A line for the manifest and the summary."""
        if self.client is not None:
            return f"dask {self.scheduler} ({self.slots} threads)"
        if self.workers == 0:
            return "this process"
        return f"{self.workers} local processes"

    def renew(self) -> None:
        """Replace a broken executor (a worker process died) with a fresh one."""
        if self.pool is not None:
            self.pool.renew()
            self.executor = self.pool.executor
        elif self.client is None:
            self.executor = self._start()

    def close(self, cancel: bool = False) -> None:
        """Shut the executor down (and disconnect from Dask); `cancel`: stop what is running."""
        if self.client is not None:
            self.client.close()  # cancels this client's futures
        elif self.pool is not None:
            self.pool.close(cancel=cancel)
        else:
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepSummary:
    """What a sweep did: runs planned, skipped as already done, run now, and failures."""

    out: Path
    planned: int
    skipped: int
    ran: int
    ok: int
    failed: int
    seconds: float
    backend: str
    failures: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every planned run succeeded, 1 otherwise."""
        return 0 if self.failed == 0 and self.ok == self.planned and not self.interrupted else 1


def run_row(run: Run, result: RunResult) -> dict[str, Any]:
    """The `runs` table row of a run: ids, seed, swept values, status, wall time, outcomes, config."""
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "point": run.point,
        "replicate": run.replicate,
        "pair": run.pair,
        "seed": run.seed,
    }
    row.update(run.params)
    row.update(status=result.status, error=result.error, wall_time=result.wall_time)
    for key, value in result.outcomes.items():
        if key == "wall_time":
            key = "model_time"  # seconds inside model.run; `wall_time` is the whole run with its tables
        elif key in row or key in ("config", "traceback"):
            key = f"outcome_{key}"
        row[key] = value.item() if isinstance(value, np.generic) else value
    row["config"] = canonical_json(run.config)
    row["traceback"] = result.traceback
    return row


class _Batcher:
    """Cuts the pending runs into batches of about `TARGET_BATCH_SECONDS` each."""

    def __init__(self, runs: Iterable[Run], slots: int, batch_runs: int | None) -> None:
        self.pending = deque(runs)
        self.remaining = sum(r.cost for r in self.pending)
        self.slots = slots
        self.batch_runs = batch_runs
        self.cost_done = 0.0
        self.seconds_done = 0.0

    def observe(self, run: Run, seconds: float) -> None:
        """Learn the speed (cost per second) from a finished run."""
        self.cost_done += run.cost
        self.seconds_done += max(seconds, 1e-6)

    def requeue(self, runs: list[Run]) -> None:
        """Put runs that never started back at the front of the queue, in their order."""
        for run in reversed(runs):
            self.pending.appendleft(run)
            self.remaining += run.cost

    def drain(self) -> list[Run]:
        """Take every pending run off the queue (the sweep gives them up)."""
        runs = list(self.pending)
        self.pending.clear()
        self.remaining = 0.0
        return runs

    def next(self) -> list[Run]:
        """The next batch (runs in canonical order, so a point's pairs usually travel together)."""
        rate = self.cost_done / self.seconds_done if self.seconds_done > 0.5 else INITIAL_COST_RATE
        # At most a third of a worker's share of what is left, so the last batches spread out.
        target = min(rate * TARGET_BATCH_SECONDS, self.remaining / (3 * self.slots))
        limit = self.batch_runs or 1_000_000
        batch = [self.pending.popleft()]
        cost = batch[0].cost
        while self.pending and len(batch) < limit:
            nxt = self.pending[0]
            if self.batch_runs is None and cost + nxt.cost > target:
                break
            batch.append(self.pending.popleft())
            cost += nxt.cost
        self.remaining -= cost
        return batch


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Runs per second since the sweep (re)started."""

        def render(self, task: Any) -> Text:
            elapsed = task.elapsed or 0.0
            rate = task.completed / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:.2f} runs/s")

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def run_sweep(
    spec: Spec,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    batch_runs: int | None = None,
    run_fn: RunFn | None = None,
    pool: LocalPool | None = None,
) -> SweepSummary:
    """Run every run of `spec` not yet recorded in `out`, then assemble its tables.

    `workers`: local processes (default: the cores available; 0: this
    process), lowered so that that many runs at once fit in the memory
    available. `scheduler`: a Dask scheduler address instead (each run must
    fit in a worker's memory limit). `retry_failed`: run again the runs
    recorded as failed. `batch_runs`: fix the runs per task instead of
    sizing batches by time. `run_fn`: the function that runs one `Run` (a
    top-level, importable function; default `run_one`). `pool`: local
    worker processes started beforehand, so that they import while this
    process prepares the sweep; used if the sweep needs that many, and closed
    in any case. A folder that holds another spec's results, or a run too
    big for the workers, is refused with a `ConfigError` before anything is
    written.
    """
    try:
        return _run_sweep(
            spec, out, workers, scheduler, retry_failed, progress, batch_runs, run_fn, pool
        )
    finally:
        if pool is not None:
            pool.close(cancel=True)  # unused (nothing to run, a refusal); if used, already closed


def _run_sweep(
    spec: Spec,
    out: str | Path,
    workers: int | None,
    scheduler: str | None,
    retry_failed: bool,
    progress: bool,
    batch_runs: int | None,
    run_fn: RunFn | None,
    pool: LocalPool | None,
) -> SweepSummary:
    run_fn = run_fn or run_one
    started = time.perf_counter()
    folder = ResultsFolder(out)
    identity = spec.identity()
    folder.check(identity)
    runs = spec.runs()
    by_id = {r.run_id: r for r in runs}

    def pending(done: dict[str, str]) -> list[Run]:
        return [
            r
            for r in runs
            if r.run_id not in done or (retry_failed and done[r.run_id] == STATUS_FAILED)
        ]

    notes: list[str] = []
    todo = pending(folder.done())  # read before the folder is created: a check needs no writes
    if todo and scheduler is None:
        workers = fit_workers(default_workers() if workers is None else workers, spec, notes)
    backend = _start_backend(workers, scheduler, spec, pool) if todo else None
    desc = backend.describe() if backend else "nothing to run"
    started_manifest = {
        "name": spec.name,
        "description": spec.description,
        "size": spec.size,
        "spec_hash": identity,
        **base_manifest(),
        "backend": desc,
        "planned": len(runs),
        "started": now(),
        "ended": None,
        "status": "running" if todo else folder.manifest().get("status", "running"),
    }
    try:
        folder.create(spec.to_toml(), started_manifest)
        if folder.manifest().get("status") != "complete":
            damaged = folder.repair()
            if damaged:
                notes.append(
                    f"{damaged} run(s) had damaged or incomplete files (a write cut short); "
                    "they run again"
                )
                todo = pending(folder.done())
                if todo and backend is None:
                    backend = _start_backend(workers, scheduler, spec, pool)
                    desc = backend.describe()
                    folder.update_manifest(status="running", backend=desc)
    except BaseException:  # e.g. another sweep holds the folder: let go of the workers
        if backend is not None:
            backend.close(cancel=True)
        folder.unlock()
        raise
    interrupted = False
    finished = False
    ran = 0
    rows = None
    try:
        if todo:
            folder.drop_tables()
            assert backend is not None
            try:
                ran = _execute(folder, backend, todo, by_id, progress, batch_runs, run_fn)
            except KeyboardInterrupt:
                interrupted = True
                backend.close(cancel=True)
                backend = None
                raise
            finally:
                if backend is not None:
                    backend.close()
        manifest = folder.manifest()
        tables_present = all((folder.path / f"{t}.parquet").is_file() for t in ("runs", "steps"))
        rows = manifest.get("rows")
        if todo or manifest.get("status") != "complete" or not tables_present:
            rows = folder.assemble(r.run_id for r in runs)
        finished = True
    finally:
        done = folder.done()
        counts = {
            "planned": len(runs),
            "ok": sum(1 for r in runs if done.get(r.run_id) == STATUS_OK),
            "failed": sum(1 for r in runs if done.get(r.run_id) == STATUS_FAILED),
        }
        counts["pending"] = counts["planned"] - counts["ok"] - counts["failed"]
        ended = now()
        fields: dict[str, Any] = {"ended": ended, "counts": counts}
        # Every invocation is kept: a resumed sweep may have run under several versions.
        session = {k: started_manifest[k] for k in ("started", "version", "git_commit", "backend")}
        session.update(ended=ended, ran=ran, retry_failed=retry_failed)
        if notes:
            session["notes"] = notes
        fields["sessions"] = [*folder.manifest().get("sessions", []), session]
        if finished:
            fields.update(status="complete", rows=rows)
        else:
            fields["status"] = "interrupted" if interrupted else "stopped by an error"
        folder.update_manifest(**fields)
        folder.unlock()
    failures = [
        {k: row.get(k) for k in ("run_id", "point", "replicate", "pair", "error")}
        for row in folder.iter_failed()
    ]
    return SweepSummary(
        out=folder.path,
        planned=len(runs),
        skipped=len(runs) - len(todo),
        ran=ran,
        ok=counts["ok"],
        failed=counts["failed"],
        seconds=time.perf_counter() - started,
        backend=desc,
        failures=failures,
        notes=notes,
    )


def fit_workers(workers: int, spec: Spec, notes: list[str], available: int | None = None) -> int:
    """The local worker count, lowered so that that many of the largest runs fit in memory at once.

    Each run was checked to fit alone when the spec was loaded; here the
    concern is several at once. A lowered count is explained in `notes`.
    """
    from environments.limits import available_memory, gib

    if workers <= 1 or spec.memory <= 0:
        return workers
    available = available_memory() if available is None else available
    if available is None:
        return workers
    # Each worker process holds at most one run; the command itself holds little.
    fit = max(1, available // spec.memory)
    if fit >= workers:
        return workers
    notes.append(
        f"--workers lowered from {workers} to {fit}: a run may need about {gib(spec.memory)} "
        f"and {gib(available)} is available"
    )
    return int(fit)


def _start_backend(
    workers: int | None, scheduler: str | None, spec: Spec, pool: LocalPool | None
) -> Backend:
    """Start the backend; on Dask, refuse runs larger than a worker's memory limit."""
    backend = Backend(workers, scheduler, pool)
    if backend.client is not None and spec.memory > 0:
        try:
            limit = backend.worker_memory()
            if limit is not None and spec.memory > limit:
                from environments.limits import gib

                raise ConfigError(
                    f"--scheduler {scheduler}: a run of this spec needs about {gib(spec.memory)}; "
                    f"the Dask workers have {gib(limit)} each (their memory limit per thread)"
                )
        except BaseException:
            backend.close(cancel=True)
            raise
    return backend


def _execute(
    folder: ResultsFolder,
    backend: Backend,
    todo: list[Run],
    by_id: dict[str, Run],
    progress: bool,
    batch_runs: int | None,
    run_fn: RunFn,
) -> int:
    """Submit batches, keep the executor busy, record each result as it comes back.

    A worker that dies takes its batch with it (and, for local processes, the
    whole pool: every batch in flight fails). Which runs were executing is
    known from the start markers the workers leave in `DIR/.running` (on
    Dask, every run of a failed batch counts). Those runs are retried once,
    each alone on the executor, so a run that kills its worker again is
    identified for sure and recorded as failed; runs that had not started go
    back in the queue. A run that raises is not retried: with the same
    configuration and seed it would raise again.

    If the pool dies `DEATHS_WITHOUT_A_RUN` times in a row with no run
    executing and no result coming back in between, the workers die before
    starting any run (they cannot start, or cannot load `run_fn`): requeuing
    would renew the pool forever, so every run not yet recorded is recorded
    as failed, with the error saying so, and the sweep ends.
    """
    batcher = _Batcher(todo, backend.slots, batch_runs)
    suspects: deque[Run] = deque()
    deaths: dict[str, int] = {}
    in_flight: dict[Future, list[Run]] = {}
    window = 2 * backend.slots  # one batch running and one queued per slot
    markers = folder.path / RUNNING_DIR if backend.marks_starts else None
    if markers is not None:
        shutil.rmtree(markers, ignore_errors=True)  # markers of a sweep that was killed
        markers.mkdir()
    recorded = 0
    deaths_without_a_run = 0
    recorded_at_last_death = 0
    with _progress(progress, len(todo)) as bar:
        task = bar.add_task("sweep", total=len(todo))

        def record(run: Run, result: RunResult) -> None:
            nonlocal recorded
            folder.record(run_row(run, result), result)
            batcher.observe(run, result.wall_time)
            recorded += 1
            bar.advance(task)

        def submit(batch: list[Run]) -> Future:
            marks = str(markers) if markers is not None else None
            try:
                future = backend.executor.submit(run_batch, batch, run_fn, marks)
            except BrokenProcessPool:  # broke since the last wait: a fresh pool takes it
                backend.renew()
                future = backend.executor.submit(run_batch, batch, run_fn, marks)
            in_flight[future] = batch
            return future

        def lost(batch: list[Run], exc: BaseException, alone: bool) -> bool:
            """A batch whose worker died: retry the runs that were executing, requeue the others.

            Returns whether any of its runs was executing.
            """
            requeue = []
            for run in batch:
                marker = markers / run.run_id if markers is not None else None
                executing = alone or marker is None or marker.exists()
                if marker is not None:
                    marker.unlink(missing_ok=True)
                if not executing:
                    requeue.append(run)
                    continue
                deaths[run.run_id] = deaths.get(run.run_id, 0) + 1
                if alone and deaths[run.run_id] >= 2:
                    record(run, _crashed(run, exc))  # died again, alone: it is the cause
                else:
                    suspects.append(run)
            batcher.requeue(requeue)
            return len(requeue) < len(batch)

        alone: Future | None = None  # a suspect running alone on the executor
        while batcher.pending or suspects or in_flight:
            if suspects and not in_flight:
                alone = submit([suspects.popleft()])
            while not suspects and batcher.pending and len(in_flight) < window:
                submit(batcher.next())
            finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            broken: BaseException | None = None
            started = False  # whether a lost batch had a run executing
            for future in finished:
                batch = in_flight.pop(future)
                try:
                    results = future.result()
                except Exception as exc:  # the batch as a whole failed: its worker died
                    if isinstance(exc, BrokenProcessPool):
                        broken = exc
                    started = lost(batch, exc, alone=future is alone) or started
                    continue
                for result in results:
                    record(by_id[result.run_id], result)
            if broken is not None:
                # Every batch still in flight on a broken pool fails too (unless it just finished).
                for future, batch in list(in_flight.items()):
                    if future.done() and not future.cancelled() and future.exception() is None:
                        for result in future.result():
                            record(by_id[result.run_id], result)
                    else:
                        future.cancel()
                        started = lost(batch, broken, alone=False) or started
                in_flight.clear()
                if started or recorded > recorded_at_last_death:
                    deaths_without_a_run = 0
                else:
                    deaths_without_a_run += 1
                recorded_at_last_death = recorded
                if deaths_without_a_run >= DEATHS_WITHOUT_A_RUN:
                    for run in [*suspects, *batcher.drain()]:
                        record(run, _crashed(run, broken, started=False))
                    suspects.clear()
                    break
                backend.renew()
    if markers is not None:
        shutil.rmtree(markers, ignore_errors=True)
    return recorded


def _crashed(run: Run, exc: BaseException, started: bool = True) -> RunResult:
    """The failed result of a run given up because worker processes died.

    `started`: its worker died running it, twice, the second time alone;
    otherwise the workers died `DEATHS_WITHOUT_A_RUN` times in a row before
    starting any run, so it never ran.
    """
    cause = f"{type(exc).__name__}: {exc}"
    if started:
        error = (
            f"the worker running this run died, twice, the second time running it alone "
            f"({cause}); out of memory, or a crash in compiled code? rerun with --retry-failed"
        )
    else:
        error = (
            f"never started: the worker processes died {DEATHS_WITHOUT_A_RUN} times in a row "
            f"before starting any run ({cause}); they cannot start, or cannot import the run "
            'function (a script that calls run_sweep without `if __name__ == "__main__":`?); '
            "fix that, then rerun with --retry-failed"
        )
    return RunResult(run.run_id, STATUS_FAILED, 0.0, error=error)
