"""W5: the donation-game reduction at N = 10,000 against the Axelrod library, in one process.

    .venv/bin/python benchmarks/w5_axelrod.py [--quick] [--n N] [--steps S] [--repeat R]

The model: docs/model.md's reduction to the repeated donation game
(`workloads.w5_config`: simultaneous, one item of cost 1 and value 3,
reciprocal / naive / holdout in thirds, no reputation or referrals, BATNA 0,
relationships that never end) on Barabasi-Albert m = 3, 200 steps. The
reference: `axelrod.Match` of tit-for-tat against always-defect with the same
payoffs (R = b - c, S = -c, T = b, P = 0), turns per second; one turn is one
interaction, one deal. Target: the model's deals per second at least 30 times
Axelrod's turns per second. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import (  # noqa: E402
    axelrod_turns_per_second,
    emit,
    fmt_rate,
    machine_line,
    median_of,
    peak_mib,
    spread,
    time_model,
    w5_config,
    warm_up,
)

FULL = {"n": 10_000, "steps": 200}
QUICK = {"n": 10_000, "steps": 20}


def main() -> None:
    """Time the model's reduction and Axelrod's Match, in this process; print both and the ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['steps']} steps")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each (the model, Axelrod); the medians count"
    )
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    n, steps = args.n or size["n"], args.steps or size["steps"]
    print(machine_line())
    print(f"W5 donation-game reduction: N = {n:,}, {steps} steps{' (quick)' if args.quick else ''}")
    print(f"  warm-up (loads the compiled loops; not counted): {warm_up(w5_config(n)):.2f} s")
    repeat = max(1, args.repeat)
    runs = [time_model(w5_config(n), steps) for _ in range(repeat)]
    r = median_of(runs, "deals_per_s")
    peak = peak_mib()
    print(
        f"  build {r['build_s']:.2f} s, run {r['run_s']:.2f} s, {r['deals']:,} deals: "
        f"{fmt_rate(r['deals_per_s'])}"
        + (f" (median of {repeat}: {spread(r['deals_per_s_runs'])})" if repeat > 1 else "")
    )
    ax = median_of([axelrod_turns_per_second() for _ in range(repeat)], "turns_per_s")
    ratio = r["deals_per_s"] / ax["turns_per_s"]
    ax_spread = f" (median of {spread(ax['turns_per_s_runs'])})" if repeat > 1 else ""
    print(
        f"  axelrod {ax['axelrod_version']} Match TitForTat vs Defector, {ax['turns']} turns a "
        f"match, {ax['matches']} matches: {fmt_rate(ax['turns_per_s'])} in play(){ax_spread} "
        f"({fmt_rate(ax['turns_per_s_with_setup'])} with Match set-up)"
    )
    print(f"  W5 / Axelrod: {ratio:.1f} x")
    emit(
        {
            "workload": "w5",
            "quick": args.quick,
            **r,
            "peak_mib": peak,
            "axelrod": ax,
            "ratio_vs_axelrod": ratio,
        }
    )


if __name__ == "__main__":
    main()
