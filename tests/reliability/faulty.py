"""Strategies and helpers that misbehave on purpose, for the reliability tests.

Name a strategy in a configuration as `tests.reliability.faulty:AlwaysDies`.
A worker running it ends abruptly (`os._exit`, as the out-of-memory killer
or a crash in compiled code would end it) when it first decides in a run whose
`deal.surplus` equals its `surplus` parameter, so one point of a sweep can
be made to crash and the others not. Every attempt is logged to `log` as the
run's fingerprint (its first deal, which the run's seed fixes), so a test
can count the attempts of each run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agents.strategy import Action, Deal, DealStrategy, StrategyParams

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"


class FaultParams(StrategyParams):
    """Where to log attempts, and the surplus of the runs that crash."""

    log: str = ""
    surplus: float = -1.0


class AlwaysDies(DealStrategy):
    """Ends its process at its first decision in a run with `deal.surplus == surplus`."""

    Params = FaultParams

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self._started = False

    def decide(self, deal: Deal) -> Action:
        """Log the attempt, then die (in the chosen runs only); elsewhere, never give."""
        if not self._started:
            self._started = True
            if deal.surplus == self.params.surplus:
                self._log(deal)
                if self._dies(deal):
                    os._exit(17)
        return Action(accept=True)

    def _fingerprint(self, deal: Deal) -> str:
        return f"{deal.me}-{deal.partner}-{deal.cost_me[0]!r}"

    def _log(self, deal: Deal) -> None:
        if self.params.log:
            with open(self.params.log, "a") as fh:
                fh.write(self._fingerprint(deal) + "\n")

    def _dies(self, deal: Deal) -> bool:
        return True


class DiesOnce(AlwaysDies):
    """Like `AlwaysDies`, but each run dies only on its first attempt (a passing fault)."""

    def _dies(self, deal: Deal) -> bool:
        marker = Path(self.params.log + "." + self._fingerprint(deal))
        if marker.exists():
            return False
        marker.touch()
        return True


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """Run `python -m experiments.cli ARGS` to the end; returns the CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [str(PYTHON if PYTHON.exists() else sys.executable), "-m", "experiments.cli", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str) -> subprocess.Popen:
    """Start `python -m experiments.cli ARGS` in its own session (so its workers can be killed too)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [str(PYTHON if PYTHON.exists() else sys.executable), "-m", "experiments.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def assert_refused(result: Any, *needles: str) -> str:
    """A clean refusal: exit 2, one line on stderr starting 'error:' and holding `needles`."""
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert result.returncode == 2, out
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    return line
