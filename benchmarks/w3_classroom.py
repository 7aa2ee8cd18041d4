"""W3: the dashboard and classroom size: N = 100, 1,000 steps, under 2 s in all.

    .venv/bin/python benchmarks/w3_classroom.py [--steps S] [--repeats R]

The model is W1's (all six strategies, reputation, gossip and referrals on:
the row the target is judged on) and, for comparison, W1 with reputation and
referrals off (the dashboard's default settings leave them off). "In all" is
building the model, running it and making its step table (what the dashboard
does before it can draw); the imports are timed and printed apart. Each
variant is run up to `--repeats` times (fewer when a run is slow), each with a
fresh model of the same seed, and the best is reported. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import (  # noqa: E402
    emit,
    fmt_rate,
    machine_line,
    peak_mib,
    time_model,
    w1_config,
)

SLOW_S = 10.0  # a run slower than this is not repeated


def best_of(n: int, steps: int, reputation: bool, repeats: int) -> dict:
    """Run the variant up to `repeats` times; print each; return the fastest with every total."""
    runs = []
    for i in range(repeats):
        r = time_model(w1_config(n, reputation=reputation), steps, frames=True)
        r["total_s"] = r["build_s"] + r["run_s"] + r["frames_s"]
        runs.append(r)
        print(
            f"    run {i + 1}: build {r['build_s']:.3f} s + run {r['run_s']:.3f} s + step table "
            f"{r['frames_s']:.3f} s = {r['total_s']:.3f} s ({r['run_s'] / steps * 1e3:.2f} ms a "
            f"step, {r['deals']:,} deals, {fmt_rate(r['deals_per_s'])}; contacts "
            f"{r['contacts_start']:,} -> {r['contacts_end']:,})",
            flush=True,
        )
        if r["total_s"] > SLOW_S:
            break
    best = min(runs, key=lambda r: r["total_s"])
    return {**best, "all_totals_s": [r["total_s"] for r in runs]}


def main() -> None:
    """Time the classroom-size runs and print them."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="the same as the default (it is small)"
    )
    args = parser.parse_args()
    print(machine_line())
    t = time.perf_counter()
    import environments.model  # noqa: F401

    imports = time.perf_counter() - t
    print(f"W3: N = {args.n}, {args.steps} steps; imports {imports:.2f} s (not counted)")
    print("  W1's model, reputation, gossip and referrals on:")
    on = best_of(args.n, args.steps, True, args.repeats)
    print(f"    best: {on['total_s']:.3f} s in all")
    print("  reputation and referrals off:")
    off = best_of(args.n, args.steps, False, args.repeats)
    print(f"    best: {off['total_s']:.3f} s in all")
    emit({"workload": "w3", **on, "off": off, "imports_s": imports, "peak_mib": peak_mib()})


if __name__ == "__main__":
    main()
