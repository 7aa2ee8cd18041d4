"""Things that fail on purpose, to test that a sweep records failures and goes on.

- `RaisingStrategy`: a per-deal strategy whose `decide` raises; name it in a
  spec as `tests.helpers.failing:RaisingStrategy`.
- `dying_run`: a run function that kills its worker process for the runs of
  pair "crash" (as running out of memory would), and runs the others normally.
"""

from __future__ import annotations

import os

from agents.strategy import Action, Deal, DealStrategy
from experiments.runner import run_one
from experiments.spec import Run
from experiments.store import RunResult


class RaisingStrategy(DealStrategy):
    """A negotiator that raises as soon as it has to decide anything."""

    def decide(self, deal: Deal) -> Action:
        """Raise: this strategy exists to make a run fail."""
        raise RuntimeError("RaisingStrategy was asked to decide (deliberate failure)")


def dying_run(run: Run) -> RunResult:
    """Run `run`, except that a run of pair "crash" ends its worker process abruptly."""
    if run.pair == "crash":
        os._exit(13)
    return run_one(run)
