"""How long the classroom dashboard takes to show one step, server side: printed, not asserted.

    .venv/bin/python benchmarks/dashboard.py [--sizes 60 300] [--warmup 30] [--steps 10]

For each population size and teaching preset: build the model, lay out the
network (once per model), run `--warmup` steps so the plots have a history,
then time `--steps` steps of what the page does after Step: the model step,
the network figure and the six plots drawn to PNG (as `solara.FigureMatplotlib`
sends them), the strategy table and the summary line. `total` and `worst` are
wall-clock seconds; `cpu` is this process's CPU time per step, which a busy
shared machine inflates less. The browser's share (receiving and painting two
images) is not in these figures.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

warnings.filterwarnings("ignore", category=UserWarning)  # Mesa's hook lint on import

from analysis.dashboard import (  # noqa: E402
    PRESETS,
    DashboardModel,
    deal_summary,
    network_figure,
    plots_figure,
    strategy_table_html,
)

PARTS = ("step", "network", "plots", "text")


def png(figure) -> int:
    """Render a figure to PNG as the page does; returns its size in bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return len(buffer.getvalue())


def measure(preset: str, n: int, warmup: int, steps: int) -> dict[str, object]:
    """Seconds per part of one rendered step, for `steps` steps after `warmup`."""
    model = DashboardModel({**PRESETS[preset].settings, "n": n}, seed=1)
    t = time.perf_counter()
    model.positions()
    layout = time.perf_counter() - t
    model.run(warmup)
    times: dict[str, list[float]] = {part: [] for part in PARTS}
    cpu = time.process_time()
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        png(network_figure(model, "wealth"))
        t2 = time.perf_counter()
        png(plots_figure(model))
        t3 = time.perf_counter()
        strategy_table_html(model)
        deal_summary(model)
        t4 = time.perf_counter()
        for part, seconds in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            times[part].append(seconds)
    cpu = (time.process_time() - cpu) / steps
    totals = [sum(times[p][i] for p in PARTS) for i in range(steps)]
    deals = int(model.last_deals().height)
    model.release()
    return {"layout": layout, "times": times, "totals": totals, "cpu": cpu, "deals": deals}


def main() -> None:
    """Print one line per (size, preset): mean seconds per part and the mean and worst total."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 300])
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--presets", nargs="+", default=["gift to a reciprocal partner", "word of mouth"]
    )
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"{'preset':30s} {'N':>5s} {'deals':>6s} {'layout':>7s} "
        + " ".join(f"{p:>8s}" for p in PARTS)
        + f" {'total':>8s} {'worst':>8s} {'cpu':>8s}   (seconds per rendered step)"
    )
    # The first figure of a process loads fonts: draw one before timing anything.
    png(plots_figure(DashboardModel(PRESETS["precedent"].settings, seed=1)))
    for n in args.sizes:
        for preset in args.presets:
            r = measure(preset, n, args.warmup, args.steps)
            means = " ".join(f"{statistics.mean(r['times'][p]):8.3f}" for p in PARTS)
            print(
                f"{preset:30s} {n:5d} {r['deals']:6d} {r['layout']:7.3f} {means} "
                f"{statistics.mean(r['totals']):8.3f} {max(r['totals']):8.3f} {r['cpu']:8.3f}"
            )


if __name__ == "__main__":
    main()
