"""How the cost of a run grows with N, with the mean degree and with the number of steps.

    .venv/bin/python benchmarks/scaling.py [--quick] [--out docs/figures/scaling.png]

W1's model (Barabasi-Albert, all six strategies, offer-response, edges
matching), with reputation, gossip and referrals on and off:

- seconds per step against N = 1e3 .. 3e5 (m = 3, a fixed number of steps);
- seconds per step against the mean degree, Barabasi-Albert m = 1 .. 8
  (mean degree about 2m), N = 10,000;
- seconds of the whole run against the number of steps, N = 10,000;
- microseconds per deal against the mean number of contacts per negotiator
  at the end of each run above (referrals add contacts as a run goes on).

Prints one line per run and the fitted log-log slopes (cost ~ x^slope), and
draws the three panels, log-log, into one PNG. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.workloads import (  # noqa: E402
    ROOT,
    emit,
    machine,
    machine_line,
    time_model,
    w1_config,
)

FULL = {
    "sizes": [1_000, 3_000, 10_000, 30_000, 100_000, 300_000],
    "size_steps": 10,
    "ms": [1, 2, 3, 4, 6, 8],
    "m_n": 10_000,
    "m_steps": 20,
    # Referral contacts end with their relationship, so contacts level off
    # (about 30,000 -> 35,000 at N = 10,000); heard-of beliefs fill each
    # negotiator's bounded memory (reputation.heard_capacity) and then stay level.
    "steps": [10, 20, 50, 100, 200],
    "steps_n": 10_000,
}
QUICK = {
    "sizes": [1_000, 3_000, 10_000, 30_000],
    "size_steps": 5,
    "ms": [1, 2, 4, 8],
    "m_n": 3_000,
    "m_steps": 10,
    "steps": [10, 20, 50],
    "steps_n": 3_000,
}
VARIANTS = {"on": True, "off": False}


def measure(n: int, steps: int, m: int, reputation: bool) -> dict:
    """Time one run of W1's model with Barabasi-Albert `m`; print and return its figures."""
    config = w1_config(n, reputation=reputation)
    config["network"]["m"] = m
    r = time_model(config, steps)
    r.update(m=m, reputation=reputation, per_step_s=r["run_s"] / steps)
    print(
        f"  {'on ' if reputation else 'off'} N {n:>8,} m {m} steps {steps:>4}: "
        f"{r['per_step_s'] * 1e3:9.2f} ms a step, run {r['run_s']:7.2f} s, "
        f"{r['deals_per_s']:>11,.0f} deals/s, contacts {r['contacts_start']:,} -> "
        f"{r['contacts_end']:,}",
        flush=True,
    )
    return r


def slope(x: list[float], y: list[float]) -> float:
    """The least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def draw(data: dict, out: Path, title: str) -> None:
    """Four log-log panels (cost against N, degree, steps; cost of a deal against contacts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    panels = [
        ("by_n", "n", "per_step_s", "negotiators N (m = 3)", "seconds per step"),
        (
            "by_m",
            "mean_degree",
            "per_step_s",
            "mean degree at the start (BA, 2m)",
            "seconds per step",
        ),
        ("by_steps", "steps", "run_s", "steps", "seconds for the whole run"),
    ]
    styles = {"on": ("tab:blue", "reputation, gossip, referrals on"), "off": ("tab:orange", "off")}
    for ax, (key, xname, yname, xlabel, ylabel) in zip(axes.flat, panels, strict=False):
        for variant, rows in data[key].items():
            x = [r[xname] for r in rows]
            y = [r[yname] for r in rows]
            color, label = styles[variant]
            ax.loglog(x, y, "o-", color=color, label=f"{label} (slope {slope(x, y):.2f})")
        rows = data[key]["off"]
        x0, y0 = rows[0][xname], rows[0][yname]
        xs = np.array([rows[0][xname], rows[-1][xname]], dtype=float)
        ax.loglog(xs, y0 * xs / x0, "k:", lw=1, label="slope 1 (linear)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax = axes.flat[3]
    for variant, (color, label) in styles.items():
        rows = [r for key in ("by_n", "by_m", "by_steps") for r in data[key][variant]]
        x = [2 * r["contacts_end"] / r["n"] for r in rows]
        y = [r["run_s"] / r["deals"] * 1e6 for r in rows]
        ax.loglog(x, y, "o", color=color, alpha=0.7, label=label)
    ax.set_xlabel("mean contacts per negotiator at the end of the run")
    ax.set_ylabel("microseconds per deal")
    ax.set_title("cost of a deal vs contacts (every run above)")
    axes.flat[0].set_title(f"cost per step vs N ({data['size_steps']} steps)")
    axes.flat[1].set_title(
        f"cost per step vs degree (N = {data['m_n']:,}, {data['m_steps']} steps)"
    )
    axes.flat[2].set_title(f"cost of a run vs steps (N = {data['steps_n']:,})")
    for ax in axes.flat:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        for axis in (ax.xaxis, ax.yaxis):
            fmt = ScalarFormatter()
            fmt.set_scientific(False)
            axis.set_major_formatter(fmt)
            axis.set_minor_formatter(plt.NullFormatter())
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    print(f"figure: {out}")


def main() -> None:
    """Measure the three series for both variants, print slopes, draw the figure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer steps")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "scaling.png")
    parser.add_argument(
        "--replot",
        type=Path,
        default=None,
        help="only redraw, from a saved output of this script (its RESULT line)",
    )
    args = parser.parse_args()
    if args.replot:
        line = next(x for x in args.replot.read_text().splitlines() if x.startswith("RESULT "))
        saved = json.loads(line.removeprefix("RESULT "))
        m = saved["machine"]
        title = (
            f"W1's model; {m['cpu']}, {m['usable_cores']} cores, python {m['python']}, "
            f"numpy {m['numpy']}{' (quick sizes)' if saved['quick'] else ''}"
        )
        draw(saved["data"], args.out, title)
        return
    plan = QUICK if args.quick else FULL
    print(machine_line())
    # Load the compiled loops before timing (the first model of a process pays for it).
    print("warming up (not counted):")
    for reputation in VARIANTS.values():
        measure(300, 2, 3, reputation)
    data: dict = {k: plan[k] for k in ("size_steps", "m_n", "m_steps", "steps_n")}
    data.update(by_n={}, by_m={}, by_steps={})
    for variant, reputation in VARIANTS.items():
        print(f"cost against N, {variant}:")
        data["by_n"][variant] = [
            measure(n, plan["size_steps"], 3, reputation) for n in plan["sizes"]
        ]
        print(f"cost against mean degree, {variant}:")
        data["by_m"][variant] = [
            measure(plan["m_n"], plan["m_steps"], m, reputation) for m in plan["ms"]
        ]
        for r in data["by_m"][variant]:
            r["mean_degree"] = 2 * r["contacts_start"] / r["n"]
        print(f"cost against steps, {variant}:")
        data["by_steps"][variant] = [
            measure(plan["steps_n"], s, 3, reputation) for s in plan["steps"]
        ]
    slopes = {}
    for key, xname, yname in (
        ("by_n", "n", "per_step_s"),
        ("by_m", "mean_degree", "per_step_s"),
        ("by_steps", "steps", "run_s"),
    ):
        for variant, rows in data[key].items():
            s = slope([r[xname] for r in rows], [r[yname] for r in rows])
            slopes[f"{key}_{variant}"] = s
            print(f"log-log slope, {key[3:]:>5}, {variant:>3}: {s:.2f}")
    m = machine()
    title = (
        f"W1's model; {m['cpu']}, {m['usable_cores']} cores, python {m['python']}, "
        f"numpy {m['numpy']}{' (quick sizes)' if args.quick else ''}"
    )
    draw(data, args.out, title)
    emit({"workload": "scaling", "quick": args.quick, "slopes": slopes, "data": data})


if __name__ == "__main__":
    main()
