"""Summaries of a synthetic table as text, for tests/analysis/test_summary.py to compare across thread counts.

Run as a script in a fresh process (so that `POLARS_MAX_THREADS` in its
environment applies): prints `mean_ci` and `_row_order_sums` (the per-run
sums of `run_strategy_table`) of many groups of values, each group's rows
spread over the table, every float written exactly.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from analysis.summary import _row_order_sums, mean_ci

if __name__ == "__main__":
    rng = np.random.default_rng(7)
    groups, size = 40, 5_000
    frame = pl.DataFrame(
        {
            "point": np.repeat(np.arange(groups), size),
            "payoff": rng.normal(2.5, 1.0, groups * size) * 1e3,
            "share": rng.random(groups * size),
        }
    ).sample(fraction=1.0, shuffle=True, seed=1)  # each group's rows spread over the table
    table = mean_ci(frame, ["point"], ["payoff", "share"]).sort("point", "metric")
    sums = _row_order_sums(frame.lazy(), ["point"], ["payoff", "share"], rows=30_000)
    printed = {f"mean_ci {c}": [repr(x) for x in table[c].to_list()] for c in table.columns}
    printed |= {f"sums {c}": [repr(x) for x in sums[c].to_list()] for c in sums.columns}
    print(json.dumps(printed))
