"""The results folder: tables gathered from the per-run parts, whatever their columns."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from experiments.runner import run_sweep
from experiments.spec import Spec, load_spec
from experiments.store import TABLES, ResultsFolder, read_table
from tests.helpers.sweeps import tiny_spec

RAISING = "tests.helpers.failing:RaisingStrategy"


def _folder(path: Path) -> Path:
    """An unfinished sweep's folder, written by hand: three runs, a failed one among them."""
    for table in TABLES:
        (path / "parts" / table).mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"name": "hand", "status": "running"}))
    runs = [
        # an outcome that is null (the strategy was absent) has no type in its own part
        {"run_id": "a", "point": 0, "replicate": 0, "pair": "base", "status": "ok", "gini": None},
        {"run_id": "b", "point": 0, "replicate": 1, "pair": "base", "status": "ok", "gini": 0.25},
        {"run_id": "c", "point": 1, "replicate": 0, "pair": "base", "status": "failed"},
    ]
    for row in runs:
        name = f"{row['run_id']}.{row['status']}.parquet"
        pl.DataFrame([row]).write_parquet(path / "parts" / "runs" / name)
    for run_id in ("a", "b"):
        steps = pl.DataFrame({"run_id": run_id, "step": [1, 2], "deals": [3.0, 4.0]})
        steps.write_parquet(path / "parts" / "steps" / f"{run_id}.parquet")
    return path


def test_runs_that_differ_in_columns_are_read_as_one_table(tmp_path):
    runs = read_table(_folder(tmp_path), "runs")
    expected = pl.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "point": [0, 0, 1],
            "replicate": [0, 1, 0],
            "pair": ["base"] * 3,
            "status": ["ok", "ok", "failed"],
            "gini": [None, 0.25, None],
        }
    )
    assert_frame_equal(runs, expected)


def test_a_table_is_assembled_in_the_order_given(tmp_path):
    folder = ResultsFolder(_folder(tmp_path))
    rows = folder.assemble(["b", "c", "a"])
    assert rows == {"runs": 3, "steps": 4, "strategies": 0, "agents": 0}
    steps = pl.read_parquet(tmp_path / "steps.parquet")
    assert steps["run_id"].to_list() == ["b", "b", "a", "a"]
    assert pl.read_parquet(tmp_path / "runs.parquet")["run_id"].to_list() == ["b", "c", "a"]


def test_parts_that_share_columns_are_streamed_into_the_table_in_order(tmp_path):
    """A table streamed from its parts holds every part's rows, in the order given, types kept."""
    folder = ResultsFolder(_folder(tmp_path))
    order = ["b", "a"]
    folder.assemble(order)
    parts = [pl.read_parquet(tmp_path / "parts" / "steps" / f"{r}.parquet") for r in order]
    assert_frame_equal(pl.read_parquet(tmp_path / "steps.parquet"), pl.concat(parts))
    assert not list(tmp_path.glob("*.tmp"))


def test_parts_that_differ_in_columns_are_united_when_assembled(tmp_path):
    """A part with a column the others lack cannot be streamed: the table unites the columns."""
    folder = ResultsFolder(_folder(tmp_path))
    extra = pl.DataFrame({"run_id": "a", "step": [1, 2], "deals": [3.0, 4.0], "more": [1, 2]})
    extra.write_parquet(tmp_path / "parts" / "steps" / "a.parquet")
    rows = folder.assemble(["b", "a"])
    steps = pl.read_parquet(tmp_path / "steps.parquet")
    assert rows["steps"] == 4
    assert steps["more"].to_list() == [None, None, 1, 2]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_damaged_part_is_left_out_of_the_assembled_table(tmp_path):
    """The stream fails on the damaged part; the table is then made from the parts that read."""
    folder = ResultsFolder(_folder(tmp_path))
    (tmp_path / "parts" / "steps" / "a.parquet").write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    rows = folder.assemble(["a", "b"])
    assert rows["steps"] == 2
    assert pl.read_parquet(tmp_path / "steps.parquet")["run_id"].to_list() == ["b", "b"]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_part_damaged_inside_is_left_out_and_the_others_are_read(tmp_path):
    folder = ResultsFolder(_folder(tmp_path))
    damaged = tmp_path / "parts" / "steps" / "a.parquet"
    # whole at both ends (so it passes the cheap check), garbage in between
    damaged.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    steps = folder.read("steps")
    assert steps["run_id"].to_list() == ["b", "b"]


def test_the_tables_a_sweep_assembles_are_those_its_parts_give(tmp_path):
    """A sweep assembles `runs` from the rows it recorded, not from their parts: the same rows."""
    raw = tiny_spec(
        replicates=1,
        sweep={"parameters": {"deal.continuation": [0.0, 0.9]}},
        pairs=[{"name": "raising", "replace": {"strategic": RAISING}}],
    )
    spec = load_spec(raw)
    out = tmp_path / "r"
    summary = run_sweep(spec, out, workers=0, progress=False)
    assert summary.ok == 2 and summary.failed == 2  # runs that differ in columns
    _assert_parts_give_the_tables(out, spec)
    # the failures recorded again: two rows from memory, two from the parts of the first session
    run_sweep(spec, out, workers=0, progress=False, retry_failed=True)
    _assert_parts_give_the_tables(out, spec)


def _assert_parts_give_the_tables(out: Path, spec: Spec) -> None:
    assembled = {t: pl.read_parquet(out / f"{t}.parquet") for t in TABLES}
    ResultsFolder(out).assemble(r.run_id for r in spec.runs())  # a new object: parts only
    for table in TABLES:
        assert_frame_equal(pl.read_parquet(out / f"{table}.parquet"), assembled[table])
