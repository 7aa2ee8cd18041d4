"""How long building a referral graph takes, and how much memory, as n grows.

Prints, per generator and population size, the build time, the number of
edges and the peak memory the build allocated (numpy arrays included, as
traced by tracemalloc in a second, separate build so the timing is not
slowed by tracing). Run: ``python benchmarks/graphs.py [--max-n N]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from environments.config import NetworkConfig
from environments.network import build_graph

CASES = {
    "barabasi_albert m=3": NetworkConfig(kind="barabasi_albert", m=3),
    "erdos_renyi mean_degree=6": NetworkConfig(kind="erdos_renyi", mean_degree=6.0),
    "watts_strogatz k=6 p=0.1": NetworkConfig(kind="watts_strogatz", k=6, p=0.1),
    "ring k=4": NetworkConfig(kind="ring", k=4),
    "communities blocks=4 mean_degree=6": NetworkConfig(
        kind="communities", blocks=4, mean_degree=6.0, mixing=0.1
    ),
}
SIZES = (10_000, 100_000, 1_000_000)


def main() -> None:
    """Build every case at every size and print one row per build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=max(SIZES), help="largest population")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'graph':<36} {'n':>10} {'edges':>11} {'seconds':>8} {'peak MiB':>9}")
    for name, cfg in CASES.items():
        for n in (s for s in SIZES if s <= args.max_n):
            start = time.perf_counter()
            graph = build_graph(cfg, n, np.random.default_rng(args.seed))
            seconds = time.perf_counter() - start
            edges = len(graph.edges)
            del graph
            tracemalloc.start()
            build_graph(cfg, n, np.random.default_rng(args.seed))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"{name:<36} {n:>10,} {edges:>11,} {seconds:>8.2f} {peak / 2**20:>9.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak resident memory of the whole process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
