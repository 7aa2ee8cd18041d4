"""W2: a million negotiators on one machine: N = 1,000,000, W1's model, 20 steps.

    .venv/bin/python benchmarks/w2_million.py [--quick] [--n N] [--steps S]

Targets: the run finishes, and the peak resident memory of the process
(`ru_maxrss`, read at its end; run it in a fresh process, as `run_all.py`
does) stays under 4 GiB. `--quick`: N = 100,000, 5 steps (clearly not W2).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import emit, fmt_rate, machine_line, peak_mib, w1_config  # noqa: E402

FULL = {"n": 1_000_000, "steps": 20}
QUICK = {"n": 100_000, "steps": 5}


def main() -> None:
    """Build and run the workload once, step by step, printing progress and the peak memory."""
    from environments.model import ConcessionModel

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="N = 100,000, 5 steps")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    n, steps = args.n or size["n"], args.steps or size["steps"]
    print(machine_line())
    print(f"W2: N = {n:,}, {steps} steps{' (quick: not the W2 size)' if args.quick else ''}")
    base = peak_mib()
    t0 = time.perf_counter()
    model = ConcessionModel(w1_config(n, reputation=True), rng=1)
    build = time.perf_counter() - t0
    after_build = peak_mib()
    print(
        f"  build {build:.1f} s: {model.n:,} negotiators, {len(model.graph.edges):,} contacts, "
        f"peak so far {after_build:,.0f} MiB"
    )
    run = 0.0
    for step in range(1, steps + 1):
        t = time.perf_counter()
        model.run(1)
        run += time.perf_counter() - t
        if step == 1 or step % 5 == 0 or step == steps:
            print(f"  step {step:3d}: {run:7.1f} s so far, peak {peak_mib():,.0f} MiB", flush=True)
    frame = model.steps_frame()
    deals = int(frame["deals"].sum())
    peak = peak_mib()
    heard = len(getattr(model, "heard", ()))  # beliefs about non-contacts, heard through gossip
    print(
        f"  run {run:.1f} s, {deals:,} deals, {fmt_rate(deals / run)}, "
        f"{int(frame['contacts'][-1]):,} contacts and {heard:,} heard-of beliefs at the end"
    )
    print(
        f"  peak memory {peak:,.0f} MiB ({peak / 1024:.2f} GiB; interpreter and imports "
        f"{base:,.0f} MiB); {peak * 2**20 / (model.n + int(frame['contacts'][-1])):,.0f} "
        "bytes per negotiator + contact at the end"
    )
    emit(
        {
            "workload": "w2",
            "quick": args.quick,
            "n": model.n,
            "steps": steps,
            "contacts_start": int(len(model.graph.edges)),
            "contacts_end": int(frame["contacts"][-1]),
            "build_s": build,
            "run_s": run,
            "deals": deals,
            "deals_per_s": deals / run,
            "peak_mib": peak,
            "peak_after_build_mib": after_build,
            "imports_mib": base,
            "heard_beliefs_end": heard,
        }
    )


if __name__ == "__main__":
    main()
