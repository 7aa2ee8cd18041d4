"""The benchmark scripts run end to end and report what they measured (no time is asserted).

The scripts run in processes of their own, as a user runs them: importing
`benchmarks.workloads` here would switch the memory check off for the rest of
the test session (the benchmarks measure memory rather than predict it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "RESULT "  # how a script prints its figures (benchmarks.workloads.emit)


def result_of(script: str, *args: str) -> dict:
    """Run `benchmarks/<script>` as a user would; its RESULT figures."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0][len(RESULT_PREFIX) :])


def test_w1_repeats_report_the_median_run():
    r = result_of(
        "w1_throughput.py", "--variant", "off", "--n", "400", "--steps", "4", "--repeat", "3",
        "--no-axelrod",
    )  # fmt: skip
    runs = r["deals_per_s_runs"]
    assert len(runs) == 3 and r["deals_per_s"] == sorted(runs)[1]
    assert r["deals"] > 0 and r["completed"] and r["steps"] == 4


def test_w5_reports_its_ratio_to_axelrod():
    r = result_of("w5_axelrod.py", "--n", "400", "--steps", "4", "--repeat", "2")
    assert r["deals"] > 0
    runs = r["axelrod"]["turns_per_s_runs"]
    assert len(runs) == 2 and r["axelrod"]["turns_per_s"] == min(runs)  # lower middle of 2
    assert r["ratio_vs_axelrod"] == r["deals_per_s"] / r["axelrod"]["turns_per_s"]
