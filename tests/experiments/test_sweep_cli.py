"""The `concession sweep` and `concession scenarios` commands, as a user meets them."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from experiments.cli import app
from experiments.spec import list_scenarios
from tests.helpers.sweeps import tiny_spec, write_spec

runner = CliRunner()
RAISING = "tests.helpers.failing:RaisingStrategy"


def sweep(*args: str):
    """Run `concession sweep ARGS` in this process."""
    return runner.invoke(app, ["sweep", *args, "--no-progress"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"replicas": 2}, "unknown key 'replicas'"),
        (
            {"sweep": {"parameters": {"deal.contination": [0.5]}}},
            "unknown parameter 'deal.contination'",
        ),
        ({"sweep": {"parameters": {}}}, "the sweep is empty"),
        ({"sweep": {"parameters": {"population.mix.exploitative": [1.2]}}}, "out of range"),
    ],
)
def test_a_bad_spec_exits_2_with_one_clear_line_and_writes_nothing(tmp_path, change, message):
    spec = write_spec(tmp_path / "bad.toml", tiny_spec(**change))
    out = tmp_path / "results"
    result = sweep(str(spec), "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_an_unknown_scenario_or_file_exits_2(tmp_path):
    result = sweep("backfire-mop", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "did you mean 'backfire-map'" in result.stderr
    result = sweep(str(tmp_path / "missing.toml"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert not (tmp_path / "r").exists()


def test_a_different_spec_on_an_existing_folder_exits_2_and_leaves_it_alone(tmp_path):
    raw = tiny_spec(replicates=1, sweep={"parameters": {"deal.continuation": [0.5]}})
    out = tmp_path / "r"
    assert (
        sweep(
            str(write_spec(tmp_path / "a.toml", raw)), "--out", str(out), "--workers", "0"
        ).exit_code
        == 0
    )
    before = sorted(p.name for p in (out / "parts" / "runs").iterdir())
    result = sweep(str(write_spec(tmp_path / "b.toml", {**raw, "seed": 99})), "--out", str(out))
    assert result.exit_code == 2 and "different spec" in result.stderr
    assert sorted(p.name for p in (out / "parts" / "runs").iterdir()) == before


def test_a_failing_run_is_recorded_the_others_finish_and_the_exit_code_says_so(tmp_path):
    raw = tiny_spec(
        replicates=1,
        sweep={"parameters": {"deal.continuation": [0.0, 0.9]}},
        pairs=[{"name": "raising", "replace": {"strategic": RAISING}}],
    )
    spec = write_spec(tmp_path / "failing.toml", raw)
    out = tmp_path / "r"
    result = sweep(str(spec), "--out", str(out), "--workers", "1")
    assert result.exit_code == 1, result.output
    assert "2 ok, 2 failed" in result.stdout and "--retry-failed" in result.stdout
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.height == 4
    assert runs.filter(pl.col("status") == "ok")["pair"].to_list() == ["base", "base"]
    failed = runs.filter(pl.col("status") == "failed")
    assert failed["pair"].to_list() == ["raising", "raising"]
    assert all("deliberate failure" in e for e in failed["error"])
    assert all("RaisingStrategy" in t for t in failed["traceback"])
    steps = pl.read_parquet(out / "steps.parquet")
    assert set(steps["run_id"]) == set(runs.filter(pl.col("status") == "ok")["run_id"])

    # again: nothing to run, the failures are still reported
    again = sweep(str(spec), "--out", str(out), "--workers", "0")
    assert again.exit_code == 1 and "0 run now" in again.stdout
    # --retry-failed runs them again (they fail again), never duplicating a row
    retry = sweep(str(spec), "--out", str(out), "--workers", "0", "--retry-failed")
    assert retry.exit_code == 1 and "2 run now" in retry.stdout
    after = pl.read_parquet(out / "runs.parquet")
    assert after["run_id"].to_list() == runs["run_id"].to_list()


def test_retry_failed_replaces_a_failure_with_its_success(tmp_path, monkeypatch):
    """A run that failed for a passing reason (here: a full disk) succeeds on retry."""
    raw = tiny_spec(replicates=1, sweep={"parameters": {"deal.continuation": [0.5]}})
    spec = write_spec(tmp_path / "s.toml", raw)
    out = tmp_path / "r"
    from experiments import runner as runner_module

    def broken(run):
        raise OSError("disk full")

    monkeypatch.setattr(runner_module, "run_one", broken)
    assert sweep(str(spec), "--out", str(out), "--workers", "0").exit_code == 1
    monkeypatch.undo()
    result = sweep(str(spec), "--out", str(out), "--workers", "0", "--retry-failed")
    assert result.exit_code == 0, result.output
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.height == 2 and set(runs["status"]) == {"ok"}
    assert len(list((out / "parts" / "runs").glob("*.failed.parquet"))) == 0


def test_scenarios_lists_every_builtin_on_one_line_each():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(list_scenarios()) == 7
    for name in (
        "backfire-map",
        "referral-spillover",
        "one-off-vs-repeated",
        "batna-weakness",
        "precedent-and-overgiving",
        "framing",
        "asymmetry",
    ):
        assert any(line.startswith(name + " ") for line in lines)
