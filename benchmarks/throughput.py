"""Deals per second of the model step, on Barabasi-Albert graphs (m = 3), all six strategies.

Printed, never asserted. Usage: python benchmarks/throughput.py [--sizes 100 10000 100000] [--steps S]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np

from environments.model import ConcessionModel

ALL_ON = {
    "reputation": {"gossip_prob": 0.2, "referral_prob": 0.05, "contact_decay": 0.1},
    "evolution": {"rule": "imitation", "update_every": 10},
}
ROWS = {
    "core (reputation, referrals off)": {},
    "reputation + referrals + evolution on": ALL_ON,
}


def measure(n: int, steps: int, extra: dict) -> dict[str, float]:
    """Build a model of n negotiators, run `steps` steps, return timings and deals per second."""
    t0 = time.perf_counter()
    # `steps` goes into the configuration so that the memory check judges this run's length.
    config = {
        "steps": steps,
        "population": {"n": n},
        "network": {"kind": "barabasi_albert", "m": 3},
    }
    model = ConcessionModel({**config, **extra}, rng=1)
    t1 = time.perf_counter()
    model.run(steps)
    t2 = time.perf_counter()
    deals = int(model.steps_frame()["deals"].sum())
    return {"build_s": t1 - t0, "run_s": t2 - t1, "deals": deals, "deals_per_s": deals / (t2 - t1)}


def main() -> None:
    """Print one line per (row, size)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument(
        "--steps", type=int, default=None, help="steps per run (default: 200, 50, 10 by size)"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, numpy {np.__version__}"
    )
    print(
        f"{'row':40s} {'N':>9s} {'steps':>6s} {'build s':>8s} {'run s':>8s} {'deals':>10s} {'deals/s':>12s}"
    )
    for label, extra in ROWS.items():
        for n in args.sizes:
            steps = args.steps or (200 if n <= 1000 else 50 if n <= 10_000 else 10)
            r = measure(n, steps, extra)
            print(
                f"{label:40s} {n:9d} {steps:6d} {r['build_s']:8.2f} {r['run_s']:8.2f} {r['deals']:10d} {r['deals_per_s']:12,.0f}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
