"""W1: deals per second on one core, N = 10,000, Barabasi-Albert m = 3, all six strategies.

    .venv/bin/python benchmarks/w1_throughput.py [--variant on|off|both] [--quick]
                                                 [--n N] [--steps S] [--profile TOP]
                                                 [--repeat R]

`on`: offer-response, edges matching, reputation, gossip (0.1) and referrals
(0.02) on; `off`: the same with gossip and referrals off. Targets: at least
1,000,000 deals/s (on) and 3,000,000 deals/s (off), and `on` at least 3 times
the Axelrod library's `Match` turns per second (tit-for-tat against
always-defect), measured in the same process after the model run.

`--profile TOP` also runs the workload under cProfile (a separate run, so the
timed figure is not slowed) and prints the TOP functions by own time.
`both` runs each variant in a fresh process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
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
    run_script,
    spread,
    time_model,
    w1_config,
    warm_up,
)

FULL = {"n": 10_000, "steps": 200}
QUICK = {"n": 10_000, "steps": 20}


def profile(config: dict, steps: int, top: int) -> str:
    """cProfile of building and running the workload: the `top` functions by own time."""
    from environments.model import ConcessionModel

    model = ConcessionModel(config, rng=1)
    prof = cProfile.Profile()
    prof.enable()
    model.run(steps)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    buf.write("\n--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def run_variant(
    variant: str,
    n: int,
    steps: int,
    quick: bool,
    top: int,
    axelrod: bool,
    max_rss_mib: float | None = None,
    repeat: int = 1,
) -> None:
    """Time one variant in this process (`repeat` runs: the median counts), print it, emit its figures."""
    config = w1_config(n, reputation=variant == "on")
    label = f"W1 ({'reputation, gossip, referrals on' if variant == 'on' else 'reputation off'})"
    print(machine_line())
    print(f"{label}: N = {n:,}, {steps} steps{' (quick)' if quick else ''}")
    print(f"  warm-up (loads the compiled loops; not counted): {warm_up(config):.2f} s")
    runs = []
    for i in range(repeat):
        progress = 20 if steps >= 100 and i == 0 else 0  # the first run shows its progress
        runs.append(time_model(config, steps, progress_every=progress, max_rss_mib=max_rss_mib))
        if repeat > 1:
            print(f"  run {i + 1} of {repeat}: {fmt_rate(runs[-1]['deals_per_s'])}", flush=True)
        if not runs[-1]["completed"]:
            break
    r = median_of(runs, "deals_per_s")
    if not r["completed"]:
        print(f"  NOT COMPLETED: stopped after {r['steps']} of {steps} steps (memory guard)")
    peak = peak_mib()  # before Axelrod is imported: the model's own peak
    print(
        f"  build {r['build_s']:.2f} s, run {r['run_s']:.2f} s, {r['deals']:,} deals "
        f"({r['contacts_start']:,} contacts at the start, {r['contacts_end']:,} at the end; "
        f"{r['heard_end']:,} heard-of beliefs)"
    )
    if len(runs) > 1:
        print(f"  deals per second, median of {len(runs)}: {fmt_rate(r['deals_per_s'])} "
              f"({spread(r['deals_per_s_runs'])})   peak memory {peak:,.0f} MiB")  # fmt: skip
    else:
        print(f"  deals per second: {fmt_rate(r['deals_per_s'])}   peak memory {peak:,.0f} MiB")
    figures = {"workload": f"w1_{variant}", "quick": quick, **r, "peak_mib": peak}
    if axelrod:
        ax = median_of([axelrod_turns_per_second() for _ in range(repeat)], "turns_per_s")
        ratio = r["deals_per_s"] / ax["turns_per_s"]
        ax_spread = f" (median of {spread(ax['turns_per_s_runs'])})" if repeat > 1 else ""
        print(
            f"  axelrod {ax['axelrod_version']} Match TitForTat vs Defector, {ax['turns']} turns: "
            f"{fmt_rate(ax['turns_per_s'])} in play(){ax_spread} "
            f"({fmt_rate(ax['turns_per_s_with_setup'])} with Match set-up)"
        )
        print(f"  W1 {variant} / Axelrod: {ratio:.2f} x")
        figures.update(axelrod=ax, ratio_vs_axelrod=ratio)
    if top:
        prof_steps = max(1, min(steps, 20))
        print(f"  cProfile, {prof_steps} steps, top {top} by own time:")
        print(profile(config, prof_steps, top))
    emit(figures)


def main() -> None:
    """Parse arguments and run the chosen variants."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variant", choices=["on", "off", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['steps']} steps")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--profile", type=int, default=0, metavar="TOP")
    parser.add_argument("--no-axelrod", action="store_true", help="skip the Axelrod reference")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of the workload (and of the Axelrod reference); the medians count",
    )
    parser.add_argument(
        "--max-rss-gib",
        type=float,
        default=8.0,
        help="stop the run early (reported as not completed) past this peak memory",
    )
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    n, steps = args.n or size["n"], args.steps or size["steps"]
    if args.variant != "both":
        run_variant(
            args.variant,
            n,
            steps,
            args.quick,
            args.profile,
            not args.no_axelrod,
            args.max_rss_gib * 1024,
            max(1, args.repeat),
        )
        return
    passed = [a for a in sys.argv[1:] if a not in ("both",) and not a.startswith("--variant")]
    for variant in ("on", "off"):
        run_script("w1_throughput.py", "--variant", variant, *passed)


if __name__ == "__main__":
    main()
