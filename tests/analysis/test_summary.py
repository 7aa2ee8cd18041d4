"""Summaries against hand-computed values, on tiny results folders written by hand.

The folder: a sweep of `deal.continuation` in {0, 0.9} with a holdout pair,
planned with 4 replicates of which 3 are recorded (an unfinished sweep), and
one failed twin. Written either as the assembled tables of a finished sweep
or as the per-run parts of one still running: the summaries must agree.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis import summary as S
from environments.config import ConfigError
from experiments.spec import dumps_toml
from tests.helpers.fresh import printed_in_fresh_process

T2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom
T1 = 12.706204736174705  # ... 1 degree of freedom

SPEC = {
    "name": "hand",
    "description": "a hand-made folder",
    "replicates": 4,
    "steps": 2,
    "seed": 1,
    "base": {"population": {"n": 10, "mix": {"strategic": 0.5, "reciprocal": 0.5}}},
    "sweep": {"design": "grid", "parameters": {"deal.continuation": [0.0, 0.9]}},
    "pairs": [{"name": "holdout", "replace": {"strategic": "holdout"}}],
}

# placed_payoff_per_deal_strategic of the base runs and the holdout twins, per point.
BASE = {0: [3.0, 4.0, 5.0], 1: [1.0, 1.5, 2.0]}
TWIN = {0: [2.0, 2.0, 2.0], 1: [2.0, 2.0, None]}  # point 1, replicate 2: the twin failed


def _runs() -> list[dict]:
    rows = []
    for point, w in ((0, 0.0), (1, 0.9)):
        for rep in range(3):
            for pair, values in (("base", BASE), ("holdout", TWIN)):
                value = values[point][rep]
                row = {
                    "run_id": f"p{point}r{rep}{pair[0]}",
                    "point": point,
                    "replicate": rep,
                    "pair": pair,
                    "seed": 100 + 10 * point + rep,
                    "deal.continuation": w,
                    "status": "ok" if value is not None else "failed",
                    "error": None if value is not None else "RuntimeError: deliberate",
                    "wall_time": 0.1,
                }
                if value is not None:
                    row.update(
                        deals=100.0,
                        payoff_per_deal=value,
                        placed_payoff_per_deal_strategic=value,
                        referrals=0.0,
                        share_strategic=0.5 if pair == "base" else 0.0,
                        share_reciprocal=0.5,
                    )
                rows.append(row)
    return rows


def _strategy_rows(run_id: str, first_payoff: float) -> list[dict]:
    """Two steps of `strategic` (numbers chosen for hand sums) and an absent strategy."""
    common = {"run_id": run_id, "strategy": "strategic", "negotiators": 5, "share": 0.5}
    step1 = {
        **common,
        "step": 1,
        "deals": 10,
        "closed": 8,
        "walked": 2,
        "walked_away": 1,
        "gives": 5,
        "reciprocated": 3,
        "reneged": 0,
        "cost_given": 4.0,
        "value_received": 10.0,
        "payoff": first_payoff,
        "payoff_per_deal": first_payoff / 10,
        "cooperation_rate": 0.5,  # 4 giving sides of 8 closed
        "walk_rate": 0.2,
        "wealth_mean": 5.0,
        "reputation": 0.6,
        "referral_deals": 0,
        "referral_payoff": 0.0,
    }
    step2 = {
        **step1,
        "step": 2,
        "closed": 10,
        "walked": 0,
        "walked_away": 0,
        "value_received": 14.0,
        "payoff": 10.0,
        "payoff_per_deal": 1.0,
        "cooperation_rate": 0.4,  # 4 of 10
        "walk_rate": 0.0,
        "wealth_mean": 8.0,
        "reputation": 0.7,
        "referral_deals": 5,
        "referral_payoff": 6.0,
    }
    absent = {
        **step1,
        "strategy": "exploitative",
        "negotiators": 0,
        "share": 0.0,
        "deals": 0,
        "closed": 0,
        "payoff": 0.0,
        "payoff_per_deal": None,
        "cooperation_rate": None,
        "reputation": None,
    }
    return [step1, step2, absent]


def _strategies() -> pl.DataFrame:
    rows = []
    for rep, first in enumerate((30.0, 40.0, 50.0)):
        rows += _strategy_rows(f"p0r{rep}b", first)
    return pl.DataFrame(rows)


def write_folder(path: Path, layout: str) -> Path:
    """The hand-made results folder, as assembled tables ('complete') or per-run parts."""
    path.mkdir(parents=True)
    (path / "spec.toml").write_text(dumps_toml(SPEC))
    runs = pl.DataFrame(_runs())
    strategies = _strategies()
    if layout == "complete":
        manifest = {"name": "hand", "status": "complete"}
        runs.write_parquet(path / "runs.parquet")
        strategies.write_parquet(path / "strategies.parquet")
    else:
        manifest = {"name": "hand", "status": "running"}
        for table in ("runs", "steps", "strategies", "agents"):
            (path / "parts" / table).mkdir(parents=True)
        for row in runs.iter_rows(named=True):
            part = pl.DataFrame([row]).select([c for c, v in row.items() if v is not None])
            part.write_parquet(path / "parts" / "runs" / f"{row['run_id']}.{row['status']}.parquet")
        for (run_id,), part in strategies.group_by("run_id"):
            part.write_parquet(path / "parts" / "strategies" / f"{run_id}.parquet")
        # A run that is still running: its tables are written, its runs row is not yet.
        strategies.head(3).with_columns(pl.lit("p1r9b").alias("run_id")).write_parquet(
            path / "parts" / "strategies" / "p1r9b.parquet"
        )
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture(params=["complete", "parts"])
def folder(request, tmp_path) -> Path:
    """The hand-made folder, once assembled and once as the parts of an unfinished sweep."""
    return write_folder(tmp_path / "results", request.param)


def _one(frame: pl.DataFrame, **where) -> dict:
    for key, value in where.items():
        frame = frame.filter(pl.col(key) == value)
    assert frame.height == 1, frame
    return frame.row(0, named=True)


# --------------------------------------------------------------------------- intervals


def test_t_interval_of_three_values():
    frame = pl.DataFrame({"g": ["a", "a", "a", "b"], "x": [1.0, 2.0, 3.0, 7.0]})
    out = S.mean_ci(frame, ["g"], ["x"])
    a = _one(out, g="a")
    assert a["mean"] == pytest.approx(2.0)
    assert a["sd"] == pytest.approx(1.0)
    assert a["lo"] == pytest.approx(2.0 - T2 / math.sqrt(3))
    assert a["hi"] == pytest.approx(2.0 + T2 / math.sqrt(3))
    b = _one(out, g="b")  # one replicate: a mean and no interval
    assert b["mean"] == 7.0 and b["lo"] is None and b["hi"] is None and b["n"] == 1


def test_nan_and_null_are_left_out():
    frame = pl.DataFrame({"g": [1, 1, 1, 1], "x": [1.0, float("nan"), None, 3.0]})
    row = _one(S.mean_ci(frame, ["g"], ["x"]), g=1)
    assert row["n"] == 2 and row["mean"] == pytest.approx(2.0)
    assert row["hi"] - row["mean"] == pytest.approx(T1 * math.sqrt(2) / math.sqrt(2))


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"g": [0] * 20, "x": rng.normal(5.0, 1.0, 20)})
    a = S.mean_ci(frame, ["g"], ["x"], method="bootstrap", seed=1)
    b = S.mean_ci(frame, ["g"], ["x"], method="bootstrap", seed=1)
    assert a.equals(b)
    row = a.row(0, named=True)
    assert row["lo"] < row["mean"] < row["hi"]
    t = S.mean_ci(frame, ["g"], ["x"]).row(0, named=True)
    assert row["hi"] - row["lo"] == pytest.approx(t["hi"] - t["lo"], rel=0.25)


# --------------------------------------------------------------------------- the folder


def test_counts_failed_and_missing_runs(folder):
    results = S.load_results(folder)
    counts = results.counts
    assert (counts.planned, counts.ok, counts.failed, counts.missing) == (16, 11, 1, 4)
    assert not results.complete
    failures = results.failures()
    assert failures["run_id"].to_list() == ["p1r2h"]
    assert failures["error"][0].startswith("RuntimeError")
    assert results.parameters == results.varying == ["deal.continuation"]
    assert [p.name for p in results.pairs] == ["holdout"]


def test_giving_advantage_by_hand(folder):
    results = S.load_results(folder)
    [adv] = S.advantages(results)
    assert (adv.pair, adv.strategy, adv.replacement) == ("holdout", "strategic", "holdout")
    assert adv.label == "strategic giving minus holding out"
    table = S.giving_advantage(results)
    p0 = _one(table, point=0)  # differences 1, 2, 3
    assert p0["mean"] == pytest.approx(2.0)
    assert p0["lo"] == pytest.approx(2.0 - T2 / math.sqrt(3))
    assert p0["hi"] == pytest.approx(2.0 + T2 / math.sqrt(3))
    assert (p0["base_mean"], p0["pair_mean"], p0["n"]) == (pytest.approx(4.0), 2.0, 3)
    p1 = _one(table, point=1)  # differences -1, -0.5; replicate 2 dropped (failed twin)
    assert p1["n"] == 2 and p1["dropped"] == 1
    assert p1["mean"] == pytest.approx(-0.75)
    half = T1 * math.sqrt(0.125) / math.sqrt(2)
    assert p1["lo"] == pytest.approx(-0.75 - half)
    assert p1["hi"] == pytest.approx(-0.75 + half)


def test_break_even_of_the_folder(folder):
    results = S.load_results(folder)
    be = S.break_even_points(results)
    row = _one(be, parameter="deal.continuation")
    # mean 2 at w = 0, -0.75 at w = 0.9: zero at 0.9 * 2 / 2.75
    assert row["break_even"] == pytest.approx(0.9 * 2 / 2.75)
    assert row["status"] == "stops paying"


def test_strategy_summary_by_hand(folder):
    results = S.load_results(folder)
    table = S.strategy_summary(results)
    assert set(table["strategy"].unique()) == {"strategic"}  # absent strategies are left out
    pay = _one(table, point=0, pair="base", strategy="strategic", metric="payoff_per_deal")
    # per run (first + 10) / 20 deals = 2, 2.5, 3
    assert pay["mean"] == pytest.approx(2.5) and pay["n"] == 3
    assert pay["hi"] - pay["mean"] == pytest.approx(T2 * 0.5 / math.sqrt(3))
    expected = {
        "cooperation": 8 / 18,  # (0.5 * 8 + 0.4 * 10) giving sides / 18 closed
        "reciprocation": 6 / 8,  # 3 + 3 returned / 8 giving sides
        "walk_rate": 2 / 20,
        "referral_share": 5 / 20,
        "referral_lift": 5 / 15,
        "return_on_concessions": (24 + 6) / 8,
        "reputation": 0.7,  # the last step's
        "share": 0.5,
        "wealth_mean": 8.0,
    }
    for metric, value in expected.items():
        row = _one(table, point=0, pair="base", strategy="strategic", metric=metric)
        assert row["mean"] == pytest.approx(value), metric
        assert row["lo"] == pytest.approx(value) and row["hi"] == pytest.approx(value), metric


def test_run_strategy_table_ignores_runs_still_running(folder):
    per_run = S.run_strategy_table(S.load_results(folder))
    assert sorted(per_run["run_id"].to_list()) == ["p0r0b", "p0r1b", "p0r2b"]


def test_run_strategy_table_does_not_depend_on_the_order_of_the_rows(tmp_path):
    """Sums and last-step values are the same when the strategies table lists steps backwards."""
    path = write_folder(tmp_path / "results", "complete")
    expected = S.run_strategy_table(S.load_results(path)).sort("run_id", "strategy")
    table = pl.read_parquet(path / "strategies.parquet")
    table.reverse().write_parquet(path / "strategies.parquet")
    per_run = S.run_strategy_table(S.load_results(path)).sort("run_id", "strategy")
    assert per_run.equals(expected)
    assert per_run["reputation"].to_list() == [0.7, 0.7, 0.7]  # the last step's, not the first


def test_parts_are_scanned_in_order_with_their_columns_united(tmp_path):
    """An unfinished sweep's parts: one scan when they share a schema, else file by file."""
    a = pl.DataFrame({"run_id": ["a", "a"], "step": [1, 2], "deals": [3.0, 4.0]})
    b = pl.DataFrame({"run_id": ["b"], "step": [1], "deals": [5.0]})
    for name, frame in (("a", a), ("b", b)):
        frame.write_parquet(tmp_path / f"{name}.parquet")
    files = [tmp_path / "b.parquet", tmp_path / "a.parquet"]
    assert S._scan_parts(files).collect().equals(pl.concat([b, a]))
    b.with_columns(more=pl.lit(1)).write_parquet(tmp_path / "b.parquet")
    united = S._scan_parts(files).collect()
    assert united["run_id"].to_list() == ["b", "a", "a"]
    assert united["more"].to_list() == [1, None, None]


def test_row_order_sums_add_up_each_group_slice_by_slice():
    frame = pl.DataFrame({"g": ["b", "a", "b", "a", "c"], "x": [1.0, 2.0, None, 4.0, 0.5]})
    sums = S._row_order_sums(frame.lazy(), ["g"], ["x"], rows=2)  # three slices
    assert sums.to_dict(as_series=False) == {"g": ["b", "a", "c"], "x": [1.0, 6.0, 0.5]}


def test_summaries_do_not_depend_on_how_many_threads_polars_uses():
    """mean_ci and the per-run sums, bit for bit with 1 and 8 polars threads (another machine)."""
    one, eight = (
        printed_in_fresh_process("threads_summary.py", {"POLARS_MAX_THREADS": threads})
        for threads in ("1", "8")
    )
    assert one == eight


def test_representative_points_and_labels(folder):
    results = S.load_results(folder)
    assert S.representative_points(results) == [0, 1]
    assert results.point_label(1) == "continuation w 0.9"
    assert S.parameter_label("population.mix.exploitative") == "exploitative share"
    assert S.parameter_label("behaviour.desperation_threshold") == "desperation threshold"


def test_not_a_results_folder(tmp_path):
    with pytest.raises(ConfigError, match="no such results folder"):
        S.load_results(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a results folder"):
        S.load_results(tmp_path / "empty")


# --------------------------------------------------------------------------- break-even


def test_break_even_interpolates_the_mean_and_its_limits():
    table = pl.DataFrame(
        {
            "x": [0.0, 1.0, 2.0],
            "mean": [1.0, 0.5, -0.5],
            "lo": [0.5, -0.5, -1.0],
            "hi": [1.5, 1.0, -0.5],
        }
    )
    row = S.break_even(table, "x").row(0, named=True)
    assert row["break_even"] == pytest.approx(1.5)
    assert row["ci_from"] == pytest.approx(0.5)  # lo: 0.5 -> -0.5 between 0 and 1
    assert row["ci_to"] == pytest.approx(1.0 + 1.0 / 1.5)  # hi: 1.0 -> -0.5 between 1 and 2
    assert row["status"] == "stops paying"


def test_break_even_per_group_and_without_a_crossing():
    table = pl.DataFrame(
        {
            "g": ["up", "up", "pos", "pos", "neg", "neg"],
            "x": [0.0, 2.0] * 3,
            "mean": [-1.0, 3.0, 1.0, 2.0, -1.0, -2.0],
            "lo": [None] * 6,
            "hi": [None] * 6,
        },
        schema_overrides={"lo": pl.Float64, "hi": pl.Float64},
    )
    out = S.break_even(table, "x", by=["g"])
    up = _one(out, g="up")
    assert up["break_even"] == pytest.approx(0.5) and up["status"] == "starts paying"
    assert up["ci_from"] is None and up["ci_to"] is None
    assert _one(out, g="pos")["status"] == "pays throughout"
    assert _one(out, g="neg")["status"] == "backfires throughout"


def test_break_even_at_an_exact_zero():
    table = pl.DataFrame({"x": [0.0, 1.0, 2.0], "mean": [1.0, 0.0, -1.0]})
    out = S.break_even(table, "x")
    assert out["break_even"].to_list() == [1.0]


def test_break_even_needs_two_values():
    table = pl.DataFrame({"g": [1, 2], "x": [0.0, 0.5], "mean": [1.0, -1.0]})
    out = S.break_even(table, "x", by=["g"])
    assert out["status"].to_list() == ["one value only", "one value only"]
