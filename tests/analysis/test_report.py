"""The report of a results folder: built from tiny sweeps run through the real runner.

The main folder is the experiments tests' tiny sweep (2 x 2 grid, 2
replicates, a holdout pair; 24 negotiators, 8 steps) with referrals on, so
every figure has something to draw. It takes seconds.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from analysis import summary as S
from analysis.report import build_report
from experiments.cli import app
from experiments.runner import run_sweep
from experiments.spec import load_spec
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.sweeps import tiny_spec


def sweep(out: Path, **over) -> Path:
    """Run the tiny spec (with `over` applied) in this process; returns the results folder."""
    spec = tiny_spec(**over)
    spec["base"]["reputation"] = {"referral_prob": 0.3, "gossip_prob": 0.2}
    summary = run_sweep(load_spec(spec), out, workers=0, progress=False)
    assert summary.ran == summary.planned
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The tiny 2 x 2 sweep with a holdout pair and referrals."""
    return sweep(tmp_path_factory.mktemp("tiny") / "results")


@pytest.fixture(scope="module")
def tiny_report(tiny) -> Path:
    """Its report (with the network snapshot)."""
    return build_report(tiny)


def figure_names(folder: Path) -> set[str]:
    return {p.stem for p in (folder / "figures").glob("*.png")}


# --------------------------------------------------------------------------- the page and files


def test_report_holds_every_figure_and_nothing_external(tiny, tiny_report):
    assert tiny_report == tiny / "report.html"
    page = tiny_report.read_text()
    names = figure_names(tiny)
    # two swept parameters: the backfire map, not lines or bars; referrals happened
    assert names == {
        "backfire_map",
        "payoff_by_strategy",
        "time_series",
        "returns_break_even",
        "referrals",
        "network",
    }
    for name in names:
        assert (tiny / "figures" / f"{name}.png").stat().st_size > 10_000
        assert (tiny / "figures" / f"{name}.svg").read_text().lstrip().startswith("<?xml")
        assert f'<figure id="{name}"><img src="data:image/png;base64,' in page
    # self-contained: images inline, no scripts, nothing fetched
    assert "<script" not in page
    assert not re.search(r'src="(?!data:)', page)
    assert page.count("<figcaption>") == len(names)
    assert "In this sweep:" in page
    # the spec as run, the manifest and the tables
    assert "name = &quot;tiny&quot;" in page  # the spec, HTML-escaped
    assert json.loads((tiny / "manifest.json").read_text())["spec_hash"] in page
    assert "Giving advantage per point" in page and "Break-even points" in page
    assert "<th>runs planned</th><td>16</td>" in page
    for table in ("strategy_summary", "paired_differences", "giving_advantage", "break_even"):
        assert pl.read_csv(tiny / "tables" / f"{table}.csv").height > 0


def test_summary_agrees_with_the_runs_table(tiny):
    results = S.load_results(tiny)
    per_run = S.run_strategy_table(results).filter(pl.col("pair") == "base")
    runs = results.ok_runs
    for row in per_run.iter_rows(named=True):
        stored = runs.filter(pl.col("run_id") == row["run_id"])[
            f"payoff_per_deal_{row['strategy']}"
        ][0]
        assert row["payoff_per_deal"] == pytest.approx(stored)
    # the giving advantage is base minus twin, replicate by replicate
    adv = S.giving_advantage(results)
    base = runs.filter(pl.col("pair") == "base").sort("point", "replicate")
    twin = runs.filter(pl.col("pair") == "holdout").sort("point", "replicate")
    diff = base["placed_payoff_per_deal_strategic"] - twin["placed_payoff_per_deal_strategic"]
    by_point = (
        pl.DataFrame({"point": base["point"], "d": diff}).group_by("point").agg(pl.col("d").mean())
    )
    for row in by_point.iter_rows(named=True):
        assert adv.filter(pl.col("point") == row["point"])["mean"][0] == pytest.approx(row["d"])


def test_network_snapshot_replays_the_stored_run(tiny):
    results = S.load_results(tiny)
    run_id = results.ok_runs.filter(pl.col("pair") == "base")["run_id"][0]
    snap = S.rebuild_network(results, run_id)
    assert snap.reproduced is True
    assert len(snap.strategy) == 24
    assert int((snap.origin[snap.active] == 1).sum()) > 0  # referral contacts to draw
    with pytest.raises(ValueError, match="at most 10"):
        S.rebuild_network(results, run_id, max_n=10)


# --------------------------------------------------------------------------- the figures fit the sweep


def test_one_swept_parameter_draws_lines_and_failed_runs_are_reported(tmp_path):
    out = sweep(
        tmp_path / "one",
        sweep={"design": "grid", "parameters": {"deal.continuation": [0.0, 0.9]}},
        pairs=[
            {"name": "holdout", "replace": {"strategic": "holdout"}},
            {"name": "broken", "replace": {"strategic": "tests.helpers.failing:RaisingStrategy"}},
        ],
    )
    results = S.load_results(out)
    assert (results.counts.ok, results.counts.failed, results.counts.missing) == (8, 4, 0)
    page = build_report(out, snapshot=False).read_text()
    names = figure_names(out)
    assert "advantage_lines" in names and "backfire_map" not in names
    assert "4 runs failed" in page
    for run_id in results.failures()["run_id"]:
        assert run_id in page
    assert "RaisingStrategy was asked to decide" in page
    assert "network snapshot was not drawn" in page


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """A sweep of one point: 2 replicates and their holdout twins."""
    return sweep(
        tmp_path_factory.mktemp("single") / "results",
        sweep={"design": "grid", "parameters": {"deal.continuation": [0.9]}},
    )


def test_a_single_point_draws_bars(single):
    out = single
    build_report(out, snapshot=False)
    names = figure_names(out)
    assert "advantage_bars" in names
    assert not names & {"backfire_map", "advantage_lines"}


def test_an_unfinished_sweep_is_reported_as_far_as_it_got(tiny, tmp_path):
    out = tmp_path / "unfinished"
    shutil.copytree(tiny, out)
    for table in ("runs", "steps", "strategies", "agents"):
        (out / f"{table}.parquet").unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    gone = sorted((out / "parts" / "runs").glob("*.parquet"))[:3]
    for path in gone:
        path.unlink()
    results = S.load_results(out)
    assert (results.counts.planned, results.counts.ok, results.counts.missing) == (16, 13, 3)
    page = build_report(out, snapshot=False).read_text()
    assert "The sweep is unfinished:</strong> 3 of 16 planned runs are missing" in page
    assert "backfire_map" in figure_names(out)


# --------------------------------------------------------------------------- the command


def test_cli_report_prints_the_path_of_the_report(single):
    result = CliRunner().invoke(app, ["report", str(single), "--no-snapshot"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == str((single / "report.html").resolve())
    assert "4 runs, 0 failed" in lines[0]


def test_cli_report_refuses_a_folder_without_results(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a results folder" in result.output


# --------------------------------------------------------------------------- in a browser


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tiny_report, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(tiny_report.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
            )
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            heading = page.locator("h1").inner_text()
        finally:
            browser.close()
    assert errors == []
    assert len(images) == 6
    for alt, complete, width in images:
        assert complete and width > 0, alt
    assert heading == "tiny"
    assert shot.stat().st_size > 50_000
