"""Sweeps: identical tables whatever the backend, resume after a kill, failures recorded."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import polars as pl
import pytest

from environments.config import ConfigError
from experiments.runner import run_sweep
from experiments.spec import load_spec
from experiments.store import TABLES, read_table
from experiments.workers import LocalPool
from tests.helpers.sweeps import assert_same_tables, cli, tiny_spec, write_spec


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The tiny sweep, run uninterrupted in this process."""
    out = tmp_path_factory.mktemp("ref") / "results"
    summary = run_sweep(load_spec(tiny_spec()), out, workers=0, progress=False)
    assert summary.ok == summary.planned == 16 and summary.exit_code == 0
    return out


def test_the_tables_hold_every_run_once_keyed_by_run_id(reference):
    spec = load_spec(tiny_spec())
    runs = pl.read_parquet(reference / "runs.parquet")
    assert runs["run_id"].to_list() == [r.run_id for r in spec.runs()]
    assert runs.columns[:7] == [
        "run_id",
        "point",
        "replicate",
        "pair",
        "seed",
        "deal.continuation",
        "population.mix.exploitative",
    ]
    assert set(runs["status"]) == {"ok"} and set(runs["pair"]) == {"base", "holdout"}
    assert {"deals", "cooperation_rate", "payoff_per_deal", "wall_time", "config"} <= set(
        runs.columns
    )
    steps = pl.read_parquet(reference / "steps.parquet")
    assert steps.columns[:2] == ["run_id", "step"] and steps.height == 16 * 8
    agents = pl.read_parquet(reference / "agents.parquet")
    assert agents.height == 16 * 24 and agents.columns[0] == "run_id"
    strategies = pl.read_parquet(reference / "strategies.parquet")
    assert strategies.columns[:3] == ["run_id", "step", "strategy"]
    # a pair shares its base run's network and placement: same degrees, the strategic seats held out
    one = agents.filter(pl.col("run_id").is_in(runs["run_id"][:2].to_list()))
    base, pair = one.partition_by("run_id", maintain_order=True)
    assert base["degree"].to_list() == pair["degree"].to_list()
    assert (
        base["strategy"].replace({"strategic": "holdout"}).to_list() == pair["strategy"].to_list()
    )
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["ok"] == 16
    assert {"version", "git_commit", "python", "platform", "started", "ended"} <= set(manifest)
    assert (reference / "spec.toml").is_file()
    for table in TABLES:
        assert pl.scan_parquet(reference / f"{table}.parquet").collect().height > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_local_processes_give_identical_tables(reference, tmp_path, workers):
    summary = run_sweep(
        load_spec(tiny_spec()), tmp_path / "r", workers=workers, progress=False, batch_runs=3
    )
    assert summary.exit_code == 0
    assert_same_tables(reference, tmp_path / "r")


def test_workers_started_beforehand_are_used_or_let_go(reference, tmp_path):
    """`concession sweep` starts its workers before it reads the results folder."""
    spec = load_spec(tiny_spec())
    # the workers the sweep needs
    summary = run_sweep(spec, tmp_path / "r", workers=2, progress=False, pool=LocalPool(2))
    assert summary.exit_code == 0 and summary.backend == "2 local processes"
    assert_same_tables(reference, tmp_path / "r")
    assert multiprocessing.active_children() == []
    # not the workers the sweep needs: replaced
    summary = run_sweep(spec, tmp_path / "r1", workers=1, progress=False, pool=LocalPool(2))
    assert summary.exit_code == 0 and summary.backend == "1 local processes"
    assert_same_tables(reference, tmp_path / "r1")
    assert multiprocessing.active_children() == []
    # nothing to run: stopped, so that the command ends without waiting for them
    summary = run_sweep(spec, tmp_path / "r", workers=2, progress=False, pool=LocalPool(2))
    assert summary.ran == 0 and summary.exit_code == 0
    assert multiprocessing.active_children() == []


def test_a_dask_cluster_gives_identical_tables(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        summary = run_sweep(
            load_spec(tiny_spec()),
            tmp_path / "r",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert summary.exit_code == 0 and summary.backend.startswith("dask")
    assert_same_tables(reference, tmp_path / "r")


def test_running_again_skips_finished_runs_and_changes_nothing(reference, tmp_path):
    out = tmp_path / "r"
    spec = load_spec(tiny_spec())
    run_sweep(spec, out, workers=0, progress=False)
    before = (out / "runs.parquet").read_bytes()
    again = run_sweep(spec, out, workers=0, progress=False)
    assert again.skipped == 16 and again.ran == 0 and again.exit_code == 0
    assert (out / "runs.parquet").read_bytes() == before
    # the spec as run, given back, is the same spec
    from_folder = load_spec(out / "spec.toml")
    assert run_sweep(from_folder, out, workers=0, progress=False).ran == 0
    assert_same_tables(reference, out)


def test_a_different_spec_on_an_existing_folder_is_refused(reference, tmp_path):
    out = tmp_path / "r"
    run_sweep(load_spec(tiny_spec()), out, workers=0, progress=False)
    with pytest.raises(ConfigError, match="holds results of a different spec"):
        run_sweep(load_spec(tiny_spec(seed=8)), out, workers=0, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds no sweep results"):
        run_sweep(load_spec(tiny_spec()), tmp_path / "other", workers=0, progress=False)


def test_a_sweep_killed_midway_resumes_to_the_tables_of_an_uninterrupted_one(reference, tmp_path):
    spec_path = write_spec(tmp_path / "tiny.toml", tiny_spec())
    out = tmp_path / "r"
    proc = cli(
        "sweep",
        str(spec_path),
        "--out",
        str(out),
        "--workers",
        "1",
        "--batch-runs",
        "1",
        "--no-progress",
    )
    parts = out / "parts" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # its worker exits by itself; make sure anyway
        os.killpg(proc.pid, signal.SIGKILL)
    done = len(list(parts.glob("*.parquet")))
    assert 4 <= done < 16
    assert not (out / "runs.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert read_table(out, "runs").height == done  # readable while unfinished
    # a write cut short leaves a .tmp file, which is never read as a result
    (parts / "0000000000000000.ok.parquet.tmp").write_bytes(b"half a file")

    summary = run_sweep(load_spec(spec_path), out, workers=2, progress=False)
    assert summary.skipped == done and summary.ran == 16 - done and summary.exit_code == 0
    assert_same_tables(reference, out)


def test_a_worker_that_dies_fails_only_its_own_run(tmp_path):
    from tests.helpers.failing import dying_run

    raw = tiny_spec(
        replicates=1,
        sweep={"parameters": {"deal.continuation": [0.0, 0.5, 0.9]}},
        pairs=[{"name": "crash", "replace": {"strategic": "holdout"}}],
    )
    raw["sweep"]["parameters"]["deal.continuation"] = [0.5]
    summary = run_sweep(load_spec(raw), tmp_path / "r", workers=1, progress=False, run_fn=dying_run)
    assert summary.exit_code == 1 and summary.ok == 1 and summary.failed == 1
    runs = read_table(tmp_path / "r", "runs")
    failed = runs.filter(pl.col("status") == "failed")
    assert failed["pair"].to_list() == ["crash"]
    assert "worker running this run died" in failed["error"][0]


def test_a_folder_another_sweep_is_writing_to_is_refused(tmp_path):
    from experiments.store import ResultsFolder

    out = tmp_path / "r"
    spec = load_spec(tiny_spec(replicates=1))
    run_sweep(spec, out, workers=0, progress=False)
    holder = ResultsFolder(out)
    holder.lock()
    try:
        with pytest.raises(ConfigError, match="another sweep is writing"):
            run_sweep(spec, out, workers=0, progress=False, retry_failed=True)
    finally:
        holder.unlock()
    assert run_sweep(spec, out, workers=0, progress=False).exit_code == 0
