"""Shared definitions of the benchmark workloads (W1-W5) and the helpers the scripts share.

Every figure a benchmark script prints is also emitted as one machine-readable
line, ``RESULT {json}``, which `run_all.py` collects. Timings are printed,
never asserted: they depend on the machine and on what else it is doing.

Conventions:

- deals per second = total deals of the run (``steps_frame()["deals"].sum()``)
  / wall time of ``model.run(steps)``; building the model is timed and printed
  separately and is not in the rate;
- peak memory = ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of a fresh
  process that ran only that workload, read at its end (MiB);
- the Axelrod reference = turns per second of ``axelrod.Match`` for tit-for-tat
  against always-defect in the donation game's payoffs (R = b - c, S = -c,
  T = b, P = 0), one turn being one interaction, i.e. one deal.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

# The benchmarks measure memory rather than predict it: the model's refusal of
# runs estimated too big for this machine (environments.limits) is off here,
# for these scripts and the fresh processes they start, unless set otherwise.
os.environ.setdefault("CONCESSION_MEMORY", "off")

RESULT_PREFIX = "RESULT "
SEED = 1

# The donation game of the W5 reduction: one item costing c to give, worth b to the receiver.
DONATION_B = 3.0
DONATION_C = 1.0
# Turns of each Axelrod match: W1's and W5's step count, so one match is what one
# relationship plays in a full run (Axelrod's per-turn speed depends on the match length).
AXELROD_TURNS = 200


# --------------------------------------------------------------------------- workloads


def w1_config(n: int = 10_000, reputation: bool = True) -> dict[str, Any]:
    """W1: Barabasi-Albert m = 3, the default mix (all six strategies), offer-response, edges.

    `reputation=False` is "W1 with reputation and referrals off": no gossip,
    no referrals (beliefs then move only through a negotiator's own deals).
    """
    gossip, referral = (0.1, 0.02) if reputation else (0.0, 0.0)
    return {
        "population": {"n": n},
        "network": {"kind": "barabasi_albert", "m": 3},
        "deal": {"protocol": "offer-response", "matching": "edges"},
        "reputation": {"gossip_prob": gossip, "referral_prob": referral},
    }


def w5_config(n: int = 10_000) -> dict[str, Any]:
    """W5: the donation-game reduction (docs/model.md) on Barabasi-Albert m = 3.

    Simultaneous moves, one item (cost c = 1, value b = 3), reciprocal (tit-for-tat),
    naive (always-cooperate) and holdout (always-defect) in thirds, no
    reputation, no referrals, BATNA 0, full recognition, no noise, and
    relationships that never end (continuation 1): every contact plays the
    infinitely repeated donation game, as an Axelrod `Match` does.
    """
    third = 1.0 / 3.0
    return {
        "population": {"n": n, "mix": {"reciprocal": third, "naive": third, "holdout": third}},
        "network": {"kind": "barabasi_albert", "m": 3},
        "items": {"explicit": [{"cost": DONATION_C, "value": DONATION_B}]},
        "deal": {
            "protocol": "simultaneous",
            "matching": "edges",
            "continuation": 1.0,
            "noise": 0.0,
            "perception_noise": 0.0,
            "recognition": 1.0,
            "batna": {"low": 0.0, "high": 0.0},
        },
        "reputation": {"gossip_prob": 0.0, "referral_prob": 0.0},
    }


# --------------------------------------------------------------------------- measuring


def warm_up(config: dict[str, Any]) -> float:
    """Run a small model of `config` (N = 300, 3 steps); returns its seconds.

    The first model of a process loads the compiled loops from numba's cache
    (about half a second): a throughput figure should not include that, so
    the workloads call this before they time anything.
    """
    from environments.model import ConcessionModel

    small = copy.deepcopy(config)
    small.setdefault("population", {})["n"] = 300
    start = time.perf_counter()
    ConcessionModel(small, rng=0).run(3).release()
    return time.perf_counter() - start


def time_model(
    config: dict[str, Any],
    steps: int,
    seed: int = SEED,
    frames: bool = False,
    progress_every: int = 0,
    max_rss_mib: float | None = None,
) -> dict[str, Any]:
    """Build a model, run it `steps` steps, and time both; returns the figures.

    `build_s` is the construction (graph, placement, valuations, agents),
    `run_s` the wall time of `model.run(steps)` alone, `deals_per_s` the
    run's deals over `run_s`. With `frames`, the time to make the step table
    is added as `frames_s`. With `progress_every`, the run goes in chunks of
    a few steps (`model.run(k)`, timed; the reporting between chunks is not)
    and prints its progress every `progress_every` steps; with `max_rss_mib`
    it also stops early once the process's peak memory passes that many MiB
    (`completed` is then False and `steps` the steps actually run), so a
    workload that outgrows the machine cannot take it down.
    """
    from environments.model import ConcessionModel

    t0 = time.perf_counter()
    model = ConcessionModel(config, rng=seed)
    t1 = time.perf_counter()
    reporting = 0.0  # time spent between chunks, taken out of the run's time
    done, completed = 0, True
    if progress_every or max_rss_mib:
        chunk_steps = max(1, min(progress_every or 5, 5))
        while done < steps:
            chunk = min(chunk_steps, steps - done)
            model.run(chunk)
            done += chunk
            t_report = time.perf_counter()
            if progress_every and (done % progress_every == 0 or done == steps):
                frame = model.steps_frame()
                print(
                    f"    step {done:5d}: {t_report - t1 - reporting:8.1f} s, "
                    f"{int(frame['deals'][-1]):,} deals in the last step, "
                    f"{int(frame['contacts'][-1]):,} contacts, peak {peak_mib():,.0f} MiB",
                    flush=True,
                )
            if max_rss_mib and peak_mib() > max_rss_mib and done < steps:
                print(f"    stopped after step {done}: peak memory over {max_rss_mib:,.0f} MiB")
                completed = False
                reporting += time.perf_counter() - t_report
                break
            reporting += time.perf_counter() - t_report
    else:
        model.run(steps)
        done = steps
    t2 = time.perf_counter() - reporting
    t_frame = time.perf_counter()
    steps_frame = model.steps_frame()
    t3 = t2 + (time.perf_counter() - t_frame)
    deals = int(steps_frame["deals"].sum())
    out: dict[str, Any] = {
        "n": model.n,
        "steps": done,
        "steps_planned": steps,
        "completed": completed,
        "contacts_start": int(len(model.graph.edges)),
        "contacts_end": int(steps_frame["contacts"][-1]) if steps_frame.height else 0,
        "heard_end": len(getattr(model, "heard", ())),  # beliefs about non-contacts
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "deals": deals,
        "deals_per_s": deals / (t2 - t1) if t2 > t1 else float("nan"),
    }
    if frames:
        out["frames_s"] = t3 - t2
    model.release()
    return out


def axelrod_turns_per_second(
    turns: int = AXELROD_TURNS,
    min_seconds: float = 2.0,
    b: float = DONATION_B,
    c: float = DONATION_C,
) -> dict[str, float]:
    """Turns per second of `axelrod.Match` for tit-for-tat against always-defect.

    Plays fresh matches of `turns` turns (each with its own cache, so nothing
    is replayed from a cache) until `min_seconds` have passed. `turns_per_s`
    counts only the time inside `Match.play()`; `turns_per_s_with_setup`
    includes building each `Match`. Both are printed; the ratios use the
    first, the faster figure, which makes them conservative.
    """
    import axelrod as axl

    game = axl.Game(r=b - c, s=-c, t=b, p=0)
    played = 0
    in_play = 0.0
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        match = axl.Match((axl.TitForTat(), axl.Defector()), turns=turns, game=game)
        t0 = time.perf_counter()
        match.play()
        in_play += time.perf_counter() - t0
        played += turns
    total = time.perf_counter() - start
    return {
        "axelrod_version": axl.__version__,
        "turns": turns,
        "matches": played // turns,
        "turns_per_s": played / in_play,
        "turns_per_s_with_setup": played / total,
    }


def median_of(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the median `key` (the lower middle one of an even count), with every run's `key`.

    Repeats on a shared machine vary by 5-20%: the median of a few is the
    figure to compare with a target, the spread (`<key>_runs`) how much to
    trust it.
    """
    ranked = sorted(runs, key=lambda r: r[key])
    return {**ranked[(len(ranked) - 1) // 2], f"{key}_runs": [r[key] for r in runs]}


def spread(runs: list[float], fmt: Any = "{:,.0f}".format) -> str:
    """'a, b, c' of the repeats, for printing next to their median."""
    return ", ".join(fmt(x) for x in runs)


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over the next `seconds` (from /proc/stat; NaN where unavailable)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return float("nan")
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def reference_loop_ns(iterations: int = 2_000_000) -> float:
    """Nanoseconds per iteration of a fixed pure-Python loop: how fast this machine is right now.

    On a shared machine the same code runs at different speeds from one
    hour to the next (the host's load is not in the load average): this
    figure, printed with every result, says how fast the machine was when it
    was measured: a run whose reference loop took 20% longer ran on a
    machine about 20% slower.
    """
    start = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i
    return (time.perf_counter() - start) / iterations * 1e9


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, memory, versions, and its speed right now."""
    import polars as pl

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = float("nan")
    with contextlib.suppress(ValueError, OSError, AttributeError):
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 1,
        "usable_cores": usable,
        "memory_gib": round(mem_gib, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "polars": pl.__version__,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
        "reference_loop_ns": reference_loop_ns(),
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    """One line describing the machine."""
    m = info or machine()
    return (
        f"machine: {m['cpu']}, {m['usable_cores']} of {m['cores']} cores usable, "
        f"{m['memory_gib']} GiB, {m['os']}, python {m['python']}, numpy {m['numpy']}, "
        f"polars {m['polars']}, load average {m['load_average_1min']:.2f}, "
        f"reference loop {m['reference_loop_ns']:.0f} ns"
    )


# --------------------------------------------------------------------------- reporting


def emit(figures: dict[str, Any]) -> None:
    """Print the figures as one `RESULT {json}` line, with the machine, for `run_all.py`."""
    figures = {**figures, "machine": machine()}
    print(RESULT_PREFIX + json.dumps(figures, default=float), flush=True)


def run_script(script: str, *args: str, timeout: float | None = None) -> dict[str, Any]:
    """Run `benchmarks/<script>` in a fresh Python process; return its `RESULT` figures.

    The child's output is passed through as it comes, so long workloads show
    progress. A child that fails or prints no `RESULT` line raises
    `RuntimeError` naming the script.
    """
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    result: dict[str, Any] | None = None
    assert proc.stdout is not None
    start = time.perf_counter()
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print("    " + line, end="", flush=True)
        if timeout is not None and time.perf_counter() - start > timeout:
            proc.kill()
            raise RuntimeError(f"{script} {' '.join(args)}: timed out after {timeout:.0f} s")
    code = proc.wait()
    if code != 0 or result is None:
        raise RuntimeError(f"{script} {' '.join(args)}: exit code {code}, no result")
    return result


def fmt_rate(x: float) -> str:
    """A rate with thousands separators, e.g. 1,234,567/s."""
    return f"{x:,.0f}/s"
