"""Crashes: a sweep killed at random moments, again and again, resumes to the tables of an
uninterrupted run; half-written files are never read as results; a report on an unfinished
sweep says what is there and what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from pathlib import Path

import polars as pl
import pytest

from experiments.runner import run_sweep
from experiments.spec import load_spec
from experiments.store import TABLES, ResultsFolder, read_table
from tests.helpers.sweeps import assert_same_tables, tiny_spec, write_spec
from tests.reliability.faulty import cli, start_cli


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The tiny sweep (16 runs), uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("reference") / "results"
    summary = run_sweep(load_spec(tiny_spec()), out, workers=0, progress=False)
    assert summary.exit_code == 0
    return out


def _kill_group(proc) -> None:
    """SIGKILL the command and its workers, as a power cut or the OOM killer would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _leftovers(out: Path) -> list[str]:
    """Files a finished sweep must not leave behind."""
    return sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.name.endswith(".tmp") or p.name == ".running"
    )


def _recorded(out: Path) -> int:
    parts = out / "parts" / "runs"
    return len(list(parts.glob("*.parquet"))) if parts.is_dir() else 0


def test_a_sweep_killed_at_random_moments_again_and_again_ends_with_the_reference_tables(
    reference, tmp_path
):
    spec = write_spec(tmp_path / "tiny.toml", tiny_spec())
    out = tmp_path / "r"
    rng = random.Random(20240607)
    args = ("sweep", str(spec), "--out", str(out), "--workers", "2", "--batch-runs", "2")
    # The moments: while starting, after a random number of runs (plus a random delay, so
    # some land while a part is being written), and once every run is recorded (while the
    # tables are assembled and the manifest written).
    moments = [("time", rng.uniform(0.1, 1.5))]
    moments += [("runs", k) for k in sorted(rng.sample(range(1, 16), 4))]
    moments += [("runs", 16)]
    recorded = []
    for kind, at in moments:
        proc = start_cli(*args, "--no-progress")
        if kind == "time":
            time.sleep(at)
        else:
            deadline = time.monotonic() + 90
            while proc.poll() is None and _recorded(out) < at and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.1))
        _kill_group(proc)
        if out.exists():
            # Whatever the moment, what is recorded can be read, once per run.
            runs = read_table(out, "runs")
            assert runs["run_id"].n_unique() == runs.height
            recorded.append(runs.height)
    print("runs recorded after each kill:", recorded)
    assert recorded == sorted(recorded), "a kill lost a recorded run"
    assert any(0 < r < 16 for r in recorded), "no kill landed mid-sweep"
    result = cli(*args, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert_same_tables(reference, out)
    assert _leftovers(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["ok"] == 16


def test_a_folder_killed_before_its_manifest_is_taken_as_new(reference, tmp_path):
    """Killed between creating the folder and writing the manifest: only the sweep's own files."""
    out = tmp_path / "r"
    for table in TABLES:
        (out / "parts" / table).mkdir(parents=True)
    (out / ".lock").touch()
    (out / "spec.toml").write_text("# another spec's, cut short\nname = ")
    (out / "manifest.json.tmp").write_text("{")
    summary = run_sweep(load_spec(tiny_spec()), out, workers=0, progress=False)
    assert summary.exit_code == 0
    assert_same_tables(reference, out)
    assert load_spec(out / "spec.toml").identity() == load_spec(tiny_spec()).identity()
    assert _leftovers(out) == []


def _interrupted(tmp_path: Path, after: int) -> Path:
    """A real interrupted sweep: Ctrl-C (KeyboardInterrupt) after `after` runs were recorded."""
    from experiments.runner import run_one

    out = tmp_path / "interrupted"
    count = 0

    def stop_after(run):
        nonlocal count
        count += 1
        if count > after:
            raise KeyboardInterrupt
        return run_one(run)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            load_spec(tiny_spec()), out, workers=0, progress=False, batch_runs=1, run_fn=stop_after
        )
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    return out


def test_half_written_files_are_never_read_and_their_runs_run_again(reference, tmp_path):
    out = _interrupted(tmp_path, after=6)
    folder = ResultsFolder(out)
    done = folder.done()
    assert 4 <= len(done) <= 6  # Ctrl-C may cut the last finished run short
    ids = sorted(done)
    # What a crash can leave: a write cut short (.tmp), a part renamed before it was filled
    # (a power cut on some file systems), a run whose table part vanished.
    (out / "parts" / "runs" / f"{ids[0]}.ok.parquet.tmp").write_bytes(b"PAR1 half")
    (out / "parts" / "steps" / "ffffffffffffffff.parquet.tmp").write_bytes(b"")
    runs_part = out / "parts" / "runs" / f"{ids[1]}.ok.parquet"
    runs_part.write_bytes(runs_part.read_bytes()[:40])
    steps_part = out / "parts" / "steps" / f"{ids[2]}.parquet"
    steps_part.write_bytes(b"")
    (out / "parts" / "agents" / f"{ids[3]}.parquet").unlink()
    (out / "runs.parquet.tmp").write_bytes(b"PAR1")

    # Readers skip what is damaged rather than fail.
    runs = read_table(out, "runs")
    assert ids[1] not in runs["run_id"].to_list() and runs.height == len(done) - 1
    steps = read_table(out, "steps")
    assert ids[2] not in steps["run_id"].to_list()

    summary = run_sweep(load_spec(tiny_spec()), out, workers=0, progress=False)
    assert summary.exit_code == 0
    assert summary.ran == 16 - len(done) + 3  # the three damaged runs ran again
    assert any("damaged" in note for note in summary.notes)
    assert_same_tables(reference, out)
    assert _leftovers(out) == []


def test_report_on_an_unfinished_sweep_reports_what_is_there_and_what_is_missing(tmp_path):
    out = _interrupted(tmp_path, after=5)
    missing = 16 - len(ResultsFolder(out).done())
    assert missing >= 11
    result = cli("report", str(out), "--no-snapshot", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{missing} of 16 not run yet" in " ".join(result.stdout.split())
    page = (out / "report.html").read_text()
    assert "unfinished" in page and f"{missing} of 16" in page
    # the report wrote nothing the sweep takes for a result: it resumes the missing runs
    resumed = run_sweep(load_spec(tiny_spec()), out, workers=0, progress=False)
    assert resumed.exit_code == 0 and resumed.ran == missing


def test_a_single_run_killed_while_writing_never_looks_finished(tmp_path, monkeypatch):
    """`concession run --out`: run.json is removed first and written last."""
    config = tmp_path / "c.toml"
    config.write_text("seed = 1\nsteps = 3\n[population]\nn = 30\n[network]\nm = 2\n")
    out = tmp_path / "out"
    assert cli("run", str(config), "--out", str(out)).returncode == 0
    first = pl.read_parquet(out / "agents.parquet")
    # A second run into the same folder, cut short after its first table: no run.json.
    from experiments import single

    calls = {"n": 0}
    real = os.replace

    def cut(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process dies while writing its second table
        real(src, dst)

    monkeypatch.setattr(single.os, "replace", cut)
    with pytest.raises(KeyboardInterrupt):
        single.run_single(config, seed=2, out=out)
    monkeypatch.undo()
    assert not (out / "run.json").exists()
    assert pl.read_parquet(out / "agents.parquet").equals(first)  # untouched, but unvouched for
    assert cli("run", str(config), "--out", str(out)).returncode == 0
    assert (out / "run.json").exists() and not list(out.glob(".*.tmp"))


def test_sigterm_stops_a_sweep_like_ctrl_c_and_it_resumes(reference, tmp_path):
    """A scheduler's kill or a closed terminal: the sweep stops cleanly, says so, and resumes."""
    spec = write_spec(tmp_path / "tiny.toml", tiny_spec())
    out = tmp_path / "r"
    args = ("sweep", str(spec), "--out", str(out), "--workers", "1", "--batch-runs", "1")
    proc = start_cli(*args, "--no-progress")
    deadline = time.monotonic() + 90
    while proc.poll() is None and _recorded(out) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep ended before it could be stopped"
    os.kill(proc.pid, signal.SIGTERM)
    stderr = proc.communicate(timeout=60)[1]
    _kill_group(proc)  # nothing should be left, but never leave a worker behind
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0], stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    result = cli(*args, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert_same_tables(reference, out)
