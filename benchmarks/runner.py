"""How many runs per second the sweep runner sustains, and what it costs beyond the model.

    .venv/bin/python benchmarks/runner.py [--workers 1 2] [--runs 60] [--n 100] [--steps 50]

For each worker count, runs a fresh sweep of `--runs` small runs into a
temporary folder and prints:

- runs/s: runs finished per second of the whole sweep (start-up included);
- model: seconds inside `model.run` (summed over runs), and the share of the
  workers' time (elapsed x workers) it fills;
- run: seconds of whole runs in the workers (model built, run, tables made);
- overhead: the rest of the workers' time: process start-up, shipping
  batches and results, writing Parquet parts, assembling the tables.

Prints figures; asserts nothing (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.runner import run_sweep  # noqa: E402
from experiments.spec import load_spec  # noqa: E402


def spec_for(runs: int, n: int, steps: int) -> dict:
    """A grid over continuation with enough replicates for `runs` runs."""
    points = [0.0, 0.5, 0.9, 0.99]
    return {
        "name": "runner-benchmark",
        "replicates": max(1, runs // len(points)),
        "steps": steps,
        "seed": 1,
        "base": {"population": {"n": n}},
        "sweep": {"design": "grid", "parameters": {"deal.continuation": points}},
    }


def measure(workers: int, runs: int, n: int, steps: int) -> dict[str, float]:
    """Run the benchmark sweep on `workers` processes (0: in this process) and time it."""
    spec = load_spec(spec_for(runs, n, steps))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_sweep(spec, Path(tmp) / "out", workers=workers, progress=False)
        elapsed = time.perf_counter() - start
        table = pl.read_parquet(Path(tmp) / "out" / "runs.parquet")
    if summary.failed:
        raise SystemExit(f"{summary.failed} runs failed: {summary.failures[:1]}")
    capacity = elapsed * max(1, workers)
    model = float(table["model_time"].sum())
    run = float(table["wall_time"].sum())
    return {
        "workers": workers,
        "runs": summary.planned,
        "elapsed": elapsed,
        "runs_per_s": summary.planned / elapsed,
        "model": model,
        "run": run,
        "model_share": model / capacity,
        "overhead_share": 1 - run / capacity,
    }


def main() -> None:
    """Parse arguments, measure each worker count, print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    print(f"{args.runs} runs of {args.n} negotiators x {args.steps} steps")
    print(
        f"{'workers':>7} {'elapsed s':>9} {'runs/s':>7} {'model s':>8} {'run s':>7} {'model %':>8} {'overhead %':>10}"
    )
    for workers in args.workers:
        m = measure(workers, args.runs, args.n, args.steps)
        print(
            f"{workers:>7} {m['elapsed']:>9.2f} {m['runs_per_s']:>7.2f} {m['model']:>8.2f} "
            f"{m['run']:>7.2f} {m['model_share']:>8.1%} {m['overhead_share']:>10.1%}"
        )


if __name__ == "__main__":
    main()
