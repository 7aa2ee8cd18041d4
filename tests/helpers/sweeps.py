"""Tiny experiment specs and table comparisons for the experiments tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from experiments.spec import dumps_toml
from experiments.store import TABLES

REPO = Path(__file__).resolve().parents[2]
TIMING = ("wall_time", "model_time", "traceback")  # differ between identical runs


def tiny_spec(**over: Any) -> dict[str, Any]:
    """A sweep of 2 x 2 points, 2 replicates, a holdout pair: 16 runs of 24 negotiators, 8 steps."""
    spec: dict[str, Any] = {
        "name": "tiny",
        "replicates": 2,
        "steps": 8,
        "seed": 7,
        "base": {
            "population": {
                "n": 24,
                "mix": {"strategic": 0.4, "reciprocal": 0.3, "exploitative": 0.3},
            },
            "network": {"kind": "barabasi_albert", "m": 2},
        },
        "sweep": {
            "design": "grid",
            "parameters": {
                "deal.continuation": [0.0, 0.9],
                "population.mix.exploitative": [0.0, 0.5],
            },
        },
        "pairs": [{"name": "holdout", "replace": {"strategic": "holdout"}}],
    }
    for key, value in over.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    """Write a spec as TOML and return its path."""
    path.write_text(dumps_toml(spec))
    return path


def tables(out: Path) -> dict[str, pl.DataFrame]:
    """The four assembled tables of a results folder, timing columns dropped."""
    frames = {}
    for table in TABLES:
        frame = pl.read_parquet(out / f"{table}.parquet")
        frames[table] = frame.drop([c for c in TIMING if c in frame.columns])
    return frames


def assert_same_tables(a: Path, b: Path) -> None:
    """The two results folders hold identical tables (timings aside)."""
    ta, tb = tables(a), tables(b)
    for name in TABLES:
        assert_frame_equal(ta[name], tb[name], check_exact=True), name


def cli(*args: str, **kwargs: Any) -> subprocess.Popen:
    """Start `python -m experiments.cli ARGS` in a new session (so its whole group can be killed)."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )
