"""A run's results as text, for tests/environments/test_model.py to compare across thread counts.

Run as a script in a fresh process (so that the thread settings in its
environment apply to numpy's BLAS and to polars): prints the run's outcomes
and the Gini coefficient of a long array, every float written exactly.
"""

from __future__ import annotations

import json

import numpy as np

from environments.model import ConcessionModel, gini

CONFIG = {
    "population": {"n": 2000},
    "network": {"kind": "barabasi_albert", "m": 3},
    "reputation": {"gossip_prob": 0.1, "referral_prob": 0.02},
}

if __name__ == "__main__":
    model = ConcessionModel(CONFIG, rng=3).run(3)
    outcomes = model.outcomes()
    outcomes.pop("wall_time")
    # Long enough for a BLAS dot product to be split across threads.
    long = np.random.default_rng(1).normal(50.0, 100.0, size=300_000)
    outcomes["gini_of_a_long_array"] = gini(long)
    totals = model.totals_by_strategy().to_dicts()
    print(json.dumps({k: repr(v) for k, v in outcomes.items()} | {"totals": repr(totals)}))
