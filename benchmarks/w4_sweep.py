"""W4: the `backfire-map` quick sweep on 2 workers against 1, and the runner's overhead.

    .venv/bin/python benchmarks/w4_sweep.py [--workers 1 2] [--scenario backfire-map] [--size quick]

`--size base` runs the scenario as written instead (backfire-map: 980 runs
of 500 negotiators, about 3 minutes on one core), where the runs, not the
start and the end, are most of the time.

Runs `concession sweep backfire-map --size quick --out TMP --workers W` in a
fresh process and a fresh temporary folder for each worker count, and times
the whole command (interpreter start-up, imports, runs, writing and assembling
the tables: what a user waits for). Then, from the runs table:

- speed-up = sweep wall time on 1 worker / sweep wall time on 2 workers
  (target: at least 1.8);
- runner overhead = 1 - (sum of the runs' `wall_time`) / (workers x sweep wall
  time): the share of the workers' capacity not spent inside runs (process
  start-up, imports, shipping batches and results, writing Parquet parts,
  assembling the tables, idle workers at the end). Target: under 5%.
  A run's `wall_time` is the whole run in its worker (building the model,
  `model.run`, making its tables); `model_time` (inside `model.run`) is
  printed too;
- the same in seconds: sweep wall time - (sum of the runs' `wall_time`) /
  workers, the time each worker spends outside runs. Mostly fixed per sweep,
  so it stays put when the model gets faster, while the share grows.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from benchmarks.workloads import ROOT, cpu_busy, emit, machine_line  # noqa: E402


def concession_command() -> list[str]:
    """The `concession` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "concession"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from experiments.cli import main; main()"]


def measure(scenario: str, size: str, workers: int) -> dict:
    """Run the sweep on `workers` processes into a fresh folder; time it; read its runs table."""
    with tempfile.TemporaryDirectory(prefix="w4-") as tmp:
        out = Path(tmp) / "out"
        cmd = [
            *concession_command(),
            "sweep",
            scenario,
            "--size",
            size,
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--no-progress",
        ]
        busy = cpu_busy()  # what else is running: the sweep should have the cores to itself
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        runs = pl.read_parquet(out / "runs.parquet")
    said = re.search(r"\(([^,]+), ([0-9.]+) s\)", proc.stdout)
    run_wall = float(runs["wall_time"].sum())
    model = float(runs["model_time"].sum()) if "model_time" in runs.columns else float("nan")
    capacity = wall * workers
    return {
        "workers": workers,
        "cpu_busy_before": busy,
        "runs": runs.height,
        "ok": int((runs["status"] == "ok").sum()),
        "sweep_wall_s": wall,
        "sweep_reported_s": float(said.group(2)) if said else float("nan"),
        "backend": said.group(1) if said else "?",
        "runs_wall_s": run_wall,
        "model_s": model,
        "overhead_share": 1.0 - run_wall / capacity,
        "overhead_s_per_worker": wall - run_wall / workers,
        "overhead_share_reported": (
            1.0 - run_wall / (float(said.group(2)) * workers) if said else float("nan")
        ),
        "model_share": model / capacity,
    }


def main() -> None:
    """Time the sweep on each worker count and print speed-up and overhead."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="backfire-map")
    parser.add_argument("--size", default="quick")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="the same as the default")
    args = parser.parse_args()
    print(machine_line())
    print(f"W4: concession sweep {args.scenario} --size {args.size}, workers {args.workers}")
    print(
        f"  {'workers':>7} {'runs':>5} {'sweep s':>8} {'(said)':>7} {'runs s':>7} "
        f"{'model s':>8} {'overhead':>9} {'(said)':>7} {'s/worker':>9} {'model %':>8}"
    )
    rows = []
    for workers in args.workers:
        m = measure(args.scenario, args.size, workers)
        rows.append(m)
        print(
            f"  {workers:>7} {m['runs']:>5} {m['sweep_wall_s']:>8.2f} "
            f"{m['sweep_reported_s']:>7.2f} "
            f"{m['runs_wall_s']:>7.2f} {m['model_s']:>8.2f} {m['overhead_share']:>9.1%} "
            f"{m['overhead_share_reported']:>7.1%} {m['overhead_s_per_worker']:>9.2f} "
            f"{m['model_share']:>8.1%}",
            flush=True,
        )
    print(
        "  sweep s: the whole command, start to exit; (said): the seconds the command reports "
        "(from reading the results folder to the tables; its workers start before that)"
    )
    print("  overhead = 1 - sum of runs' wall_time / (workers x sweep s)")
    print("  s/worker = sweep s - sum of runs' wall_time / workers (seconds outside runs)")
    by = {r["workers"]: r for r in rows}
    figures: dict = {"workload": "w4", "rows": rows}
    if 1 in by and 2 in by:
        speedup = by[1]["sweep_wall_s"] / by[2]["sweep_wall_s"]
        print(f"  speed-up, 2 workers vs 1: {speedup:.2f} x")
        figures["speedup"] = speedup
    figures["overhead_max"] = max(r["overhead_share"] for r in rows)
    busy = max(r["cpu_busy_before"] for r in rows)
    print(f"  cores busy with other work just before a sweep: up to {busy:.0%}")
    if busy > 0.1:
        print(
            "  note: other processes were using the cores, so the speed-up is understated "
            "and the overhead overstated"
        )
    emit(figures)


if __name__ == "__main__":
    main()
