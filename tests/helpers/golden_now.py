"""Whether each golden configuration, run now, gives its checked-in table, for tests/test_golden.py.

Run as a script in a fresh process, so that settings in its environment
(numpy's `NPY_DISABLE_CPU_FEATURES`) apply: prints {name: true or false}.
"""

from __future__ import annotations

import json

import polars as pl

from tests.test_golden import CONFIGS, GOLDEN, golden_run

if __name__ == "__main__":
    same = {n: golden_run(n).equals(pl.read_parquet(GOLDEN / f"{n}.parquet")) for n in CONFIGS}
    print(json.dumps(same))
