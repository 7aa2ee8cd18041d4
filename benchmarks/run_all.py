"""Run every benchmark workload, each in a fresh process, and print one table of targets.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only w1 w3 ...] [--markdown]
                                          [--json PATH]

(`make bench` runs it at the full sizes.) Workloads: W1 with reputation and
referrals on and off, W2 (a million negotiators), W3 (classroom size), W4 (a
sweep on 2 workers against 1), the per-deal adapter ratio and W5 (the
donation-game reduction against the Axelrod library). `--quick` runs smaller
sizes or fewer steps, labelled "quick" in the table: those figures are not
the targets' workloads. Each script can also be run alone; see its --help.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import machine_line, run_script  # noqa: E402


@dataclass
class Row:
    """One line of the table: a workload, its target, how to read the measured figure."""

    name: str
    workload: str
    target: str
    measured: Callable[[dict[str, Any]], str]
    met: Callable[[dict[str, Any]], bool]


def _size(r: dict[str, Any]) -> str:
    tag = ", quick" if r.get("quick") else ""
    if not r.get("completed", True):
        return (
            f"N = {r['n']:,}; NOT COMPLETED: stopped after {r['steps']} of "
            f"{r['steps_planned']} steps at peak {r['peak_mib']:,.0f} MiB{tag}"
        )
    return f"N = {r['n']:,}, {r['steps']} steps{tag}"


def _runs(r: dict[str, Any], key: str = "deals_per_s") -> str:
    """'median of 3: a-b; ' when the figure is a median of repeats, else nothing."""
    runs = r.get(f"{key}_runs") or []
    if len(runs) < 2:
        return ""
    return f"median of {len(runs)}: {min(runs):,.0f}-{max(runs):,.0f}; "


def _done(r: dict[str, Any]) -> bool:
    return bool(r.get("completed", True))


ROWS = [
    Row(
        "w1_on",
        "W1: N = 10,000, BA m = 3, all six strategies, reputation, gossip, referrals on",
        ">= 1,000,000 deals/s",
        lambda r: f"{r['deals_per_s']:,.0f} deals/s ({_runs(r)}{_size(r)})",
        lambda r: _done(r) and r["deals_per_s"] >= 1e6,
    ),
    Row(
        "w1_off",
        "W1 with reputation and referrals off",
        ">= 3,000,000 deals/s",
        lambda r: f"{r['deals_per_s']:,.0f} deals/s ({_runs(r)}{_size(r)})",
        lambda r: _done(r) and r["deals_per_s"] >= 3e6,
    ),
    Row(
        "w2",
        "W2: W1's model at N = 1,000,000, 20 steps",
        "finishes; peak < 4 GiB",
        lambda r: (
            f"finished: build {r['build_s']:.0f} s + run {r['run_s']:.0f} s, peak "
            f"{r['peak_mib']:,.0f} MiB ({_size(r)})"
        ),
        lambda r: r["peak_mib"] < 4096,
    ),
    Row(
        "w3",
        "W3: W1's model at N = 100, 1,000 steps (classroom)",
        "< 2 s in all",
        lambda r: (
            f"{r['total_s']:.2f} s (reputation off: {r['off']['total_s']:.2f} s; "
            f"contacts {r['contacts_start']:,} -> {r['contacts_end']:,})"
        ),
        lambda r: r["total_s"] < 2.0,
    ),
    Row(
        "w4_speedup",
        "W4: backfire-map quick sweep, 2 workers vs 1",
        ">= 1.8 x faster",
        lambda r: (
            f"{r['speedup']:.2f} x ({r['rows'][0]['sweep_wall_s']:.1f} s -> "
            f"{r['rows'][1]['sweep_wall_s']:.1f} s)"
        ),
        lambda r: r["speedup"] >= 1.8,
    ),
    Row(
        "w4_overhead",
        "W4: runner overhead (1 - sum of runs' wall_time / (workers x sweep time))",
        "< 5% of run time",
        lambda r: ", ".join(
            f"{x['overhead_share']:.1%} on {x['workers']} worker{'s' if x['workers'] > 1 else ''}"
            for x in r["rows"]
        ),
        lambda r: r["overhead_max"] < 0.05,
    ),
    Row(
        "adapter",
        "batch strategies vs the same through the per-deal adapter, W1 at N = 10,000",
        ">= 50 x",
        lambda r: (
            f"{r['ratio']:.0f} x ({r['batch']['deals_per_s']:,.0f} vs "
            f"{r['adapter']['deals_per_s']:,.0f} deals/s, {r['steps']} steps"
            f"{', quick' if r.get('quick') else ''})"
        ),
        lambda r: r["ratio"] >= 50,
    ),
    Row(
        "w5",
        "W5: donation-game reduction, N = 10,000, vs Axelrod Match turns/s",
        ">= 30 x",
        lambda r: (
            f"{r['ratio_vs_axelrod']:.1f} x ({r['deals_per_s']:,.0f} deals/s vs "
            f"{r['axelrod']['turns_per_s']:,.0f} turns/s, medians; {_size(r)})"
        ),
        lambda r: r["ratio_vs_axelrod"] >= 30,
    ),
    Row(
        "w1_axelrod",
        "W1 (everything on) vs the same Axelrod figure",
        ">= 3 x",
        lambda r: (
            f"{r['ratio_vs_axelrod']:.1f} x ({r['deals_per_s']:,.0f} deals/s vs "
            f"{r['axelrod']['turns_per_s']:,.0f} turns/s{'' if _done(r) else '; W1 not completed'})"
        ),
        lambda r: _done(r) and r["ratio_vs_axelrod"] >= 3,
    ),
]

# Runs of the throughput workloads (and of the Axelrod reference): the medians are reported.
REPEAT = 3
# Which script produces each workload's figures (w1_on also gives the W1 / Axelrod row).
SCRIPTS: dict[str, tuple[str, list[str]]] = {
    "w1_on": ("w1_throughput.py", ["--variant", "on", "--repeat", str(REPEAT)]),
    "w1_off": ("w1_throughput.py", ["--variant", "off", "--no-axelrod", "--repeat", str(REPEAT)]),
    "w2": ("w2_million.py", []),
    "w3": ("w3_classroom.py", []),
    "w4": ("w4_sweep.py", []),
    "adapter": ("adapter_ratio.py", []),
    "w5": ("w5_axelrod.py", ["--repeat", str(REPEAT)]),
}
SOURCE = {"w4_speedup": "w4", "w4_overhead": "w4", "w1_axelrod": "w1_on"}


def table(results: dict[str, dict[str, Any]], markdown: bool) -> str:
    """The table of workloads, targets, measured figures and whether each target is met."""
    lines = []
    if markdown:
        lines += ["| workload | target | measured | met? |", "|---|---|---|---|"]
    for row in ROWS:
        r = results.get(SOURCE.get(row.name, row.name))
        if r is None:
            measured, met = "not run", "-"
        elif "error" in r:
            measured, met = f"error: {r['error']}", "no"
        else:
            try:
                measured, met = row.measured(r), "yes" if row.met(r) else "NO"
            except (KeyError, IndexError, TypeError) as exc:
                measured, met = f"missing figure {exc}", "-"
        if markdown:
            lines.append(f"| {row.workload} | {row.target} | {measured} | {met} |")
        else:
            lines.append(
                f"{row.workload}\n    target {row.target:<24} measured {measured}  [{met}]"
            )
    return "\n".join(lines)


def main() -> None:
    """Run the chosen workloads, then print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, labelled quick")
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=list(SCRIPTS))
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    parser.add_argument("--json", type=Path, default=None, help="save every figure to this file")
    args = parser.parse_args()
    print(machine_line())
    results: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    for name in args.only:
        script, extra = SCRIPTS[name]
        print(f"\n== {name}: {script} {' '.join(extra)}{' --quick' if args.quick else ''}")
        t = time.perf_counter()
        try:
            results[name] = run_script(script, *extra, *(["--quick"] if args.quick else []))
        except RuntimeError as exc:
            results[name] = {"error": str(exc)}
        print(f"   ({time.perf_counter() - t:.0f} s)")
    print(f"\n{machine_line()}")
    print(
        f"all workloads: {time.perf_counter() - start:.0f} s"
        f"{' (quick sizes)' if args.quick else ''}"
    )
    print(table(results, markdown=False))
    if args.markdown:
        print()
        print(table(results, markdown=True))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
        print(f"figures saved to {args.json}")


if __name__ == "__main__":
    main()
