"""Faults: a worker process that dies mid-run is detected, its run retried once (alone), and
recorded as failed if it dies again; workers that die before starting any run end the sweep (its
runs recorded as failed) rather than being replaced forever; on a Dask cluster a worker killed
mid-sweep loses no run.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from experiments.runner import DEATHS_WITHOUT_A_RUN, run_sweep
from experiments.spec import load_spec
from experiments.store import read_table
from tests.helpers.sweeps import assert_same_tables, tiny_spec, write_spec
from tests.reliability.faulty import PYTHON, REPO

SURPLUSES = [1.5, 2.0, 2.5, 3.0, 3.5, 4.0]  # one point each; the runs at 2.5 crash


def faulty_spec(strategy: str, log: Path) -> dict[str, Any]:
    """Six runs (one per surplus), a seventh of the population playing `strategy`."""
    name = f"tests.reliability.faulty:{strategy}"
    return tiny_spec(
        replicates=1,
        steps=6,
        base={
            "population": {
                "n": 24,
                "mix": {"strategic": 0.4, "reciprocal": 0.3, name: 0.3},
            },
            "network": {"kind": "barabasi_albert", "m": 2},
            "strategies": {name: {"log": str(log), "surplus": 2.5}},
        },
        sweep={"parameters": {"deal.surplus": SURPLUSES}},
        pairs=None,
    )


def attempts(log: Path) -> collections.Counter:
    """How many times each crashing run was started (by its fingerprint)."""
    return collections.Counter(log.read_text().split()) if log.exists() else collections.Counter()


def test_a_run_whose_worker_dies_once_is_retried_and_succeeds(tmp_path):
    log = tmp_path / "attempts.log"
    spec = load_spec(faulty_spec("DiesOnce", log))
    summary = run_sweep(spec, tmp_path / "r", workers=2, batch_runs=2, progress=False)
    assert summary.exit_code == 0 and summary.ok == 6 and summary.failed == 0
    tries = attempts(log)
    assert list(tries.values()) == [2], tries  # one run; it died once, its retry finished
    # and the tables are those of a sweep in which nothing died (the markers now exist)
    again = run_sweep(spec, tmp_path / "again", workers=0, progress=False)
    assert again.exit_code == 0 and list(attempts(log).values()) == [3]
    assert_same_tables(tmp_path / "again", tmp_path / "r")
    assert not (tmp_path / "r" / ".running").exists()


def test_a_run_whose_worker_always_dies_is_recorded_failed_after_exactly_one_retry(tmp_path):
    log = tmp_path / "attempts.log"
    spec = load_spec(faulty_spec("AlwaysDies", log))
    summary = run_sweep(spec, tmp_path / "r", workers=2, batch_runs=2, progress=False)
    assert summary.exit_code == 1 and summary.ok == 5 and summary.failed == 1
    tries = attempts(log)
    assert list(tries.values()) == [2], tries  # started twice: the first time and one retry
    runs = read_table(tmp_path / "r", "runs")
    failed = runs.filter(pl.col("status") == "failed")
    assert failed["deal.surplus"].to_list() == [2.5]
    assert "died, twice" in failed["error"][0]
    # its batch-mates and the runs the crash interrupted were run again and are fine
    assert runs.filter(pl.col("status") == "ok")["deal.surplus"].sort().to_list() == [
        s for s in SURPLUSES if s != 2.5
    ]
    # running again does not rerun it; --retry-failed does, once more with one retry
    assert run_sweep(spec, tmp_path / "r", workers=2, progress=False).ran == 0
    retried = run_sweep(spec, tmp_path / "r", workers=2, progress=False, retry_failed=True)
    assert retried.ran == 1 and retried.failed == 1 and list(attempts(log).values()) == [4]


NEVER_STARTED = f"never started: the worker processes died {DEATHS_WITHOUT_A_RUN} times in a row"


def assert_never_started(out: Path, planned: int) -> None:
    """Every run of the sweep in `out` is recorded as failed: its workers died before starting it."""
    runs = read_table(out, "runs")
    assert runs.height == planned and runs["status"].to_list() == ["failed"] * planned
    for error in runs["error"]:
        assert error.startswith(NEVER_STARTED) and "BrokenProcessPool" in error, error
    assert not (out / ".running").exists()


# Bounded: before the fix, such a sweep replaced its pool forever.
@pytest.mark.timeout(120)
def test_workers_that_cannot_load_the_run_function_end_the_sweep_with_its_runs_failed(tmp_path):
    # Imported here, not at collection: its module ends any worker process that imports it.
    from tests.reliability.dies_in_worker import unloadable_run

    spec = load_spec(tiny_spec(replicates=1))
    out = tmp_path / "r"
    summary = run_sweep(spec, out, workers=2, batch_runs=2, progress=False, run_fn=unloadable_run)
    assert summary.exit_code == 1 and summary.ok == 0 and summary.failed == 8
    assert [f["error"][: len(NEVER_STARTED)] for f in summary.failures] == [NEVER_STARTED] * 8
    assert_never_started(out, 8)
    # Once the workers can load the run function, --retry-failed runs them all.
    retried = run_sweep(spec, out, workers=2, progress=False, retry_failed=True)
    assert retried.exit_code == 0 and retried.ran == 8 and retried.ok == 8


NO_MAIN_GUARD = """
import sys

from experiments.runner import run_sweep
from experiments.spec import load_spec

summary = run_sweep(load_spec(sys.argv[1]), sys.argv[2], workers=2, progress=False)
print(f"ok {summary.ok}, failed {summary.failed}")
"""


@pytest.mark.timeout(180)
def test_a_script_without_a_main_guard_ends_with_its_runs_failed(tmp_path):
    # Under spawn, each worker runs the script again as it starts, and so calls run_sweep, which
    # starts processes of its own: multiprocessing refuses, and the worker dies before any run.
    script = tmp_path / "sweep_script.py"
    script.write_text(NO_MAIN_GUARD)
    spec = write_spec(tmp_path / "spec.toml", tiny_spec(replicates=1))
    out = tmp_path / "r"
    result = subprocess.run(
        [str(PYTHON), str(script), str(spec), str(out)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,  # a sweep that never ends fails here instead
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok 0, failed 8", result.stdout + result.stderr
    assert "bootstrapping phase" in result.stderr  # the workers died as they started
    assert_never_started(out, 8)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A sweep long enough to kill a worker in the middle of, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("dask-ref") / "results"
    summary = run_sweep(load_spec(_dask_spec()), out, workers=0, progress=False)
    assert summary.exit_code == 0
    return out


def _dask_spec() -> dict[str, Any]:
    return tiny_spec(
        steps=25,
        base={
            "population": {
                "n": 150,
                "mix": {"strategic": 0.4, "reciprocal": 0.3, "exploitative": 0.3},
            },
            "network": {"kind": "barabasi_albert", "m": 2},
        },
    )


def test_a_dask_worker_killed_mid_sweep_loses_no_run(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "r"
    killed: list[int] = []
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_class=distributed.Nanny,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        assert len(pids) == 2

        def kill_when_busy() -> None:
            # After the first results arrive, while both workers hold tasks.
            parts = out / "parts" / "runs"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= 2:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(len(list(parts.glob("*.parquet"))))
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        summary = run_sweep(
            load_spec(_dask_spec()),
            out,
            scheduler=cluster.scheduler_address,
            progress=False,
            batch_runs=1,
        )
        killer.join(timeout=5)
    assert killed and killed[0] < 16, "the worker was not killed mid-sweep"
    assert summary.exit_code == 0 and summary.ok == 16 and summary.failed == 0
    assert_same_tables(reference, out)
