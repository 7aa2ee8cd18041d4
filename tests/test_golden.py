"""Golden runs: fixed-seed step tables that must not change when the code is optimized.

Each golden config runs for a fixed number of steps from a fixed seed; its
`steps_frame()` must equal, exactly (values, dtypes, column order), the Parquet
file checked in under `tests/golden/`. A speed-up that changes a single number
fails here.

Regenerate (only when results are *meant* to change, e.g. a documented change
to the model's meaning or to its draw order; never to make an optimization pass):

    .venv/bin/python tests/test_golden.py --regenerate
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.helpers.fresh import printed_in_fresh_process

GOLDEN = Path(__file__).parent / "golden"

# Rich configs touching most code paths: all six strategies (the default mix),
# noise, gossip, referrals, contact decay and evolution. `steps` uses the
# initiator matching (rounds, several deals per step); `steps_edges` is W1's
# shape (edges matching, offer-response) at a small N; `steps_simultaneous`
# the simultaneous protocol (W5's shape) with weakness, a small heard-of
# memory and death-birth newcomers; `steps_many_items` offer-response with 12
# items (totals of 8 or more items are summed as numpy sums them, pairwise),
# gifts read as weakness at random, and every kind of noise.
CONFIGS: dict[str, dict[str, Any]] = {
    "steps": {
        "population": {"n": 300},
        "network": {"kind": "barabasi_albert", "m": 3},
        "deal": {
            "protocol": "offer-response",
            "matching": "initiator",
            "deals_per_step": 2,
            "noise": 0.05,
            "perception_noise": 0.05,
            "continuation": 0.85,
        },
        "reputation": {
            "gossip_prob": 0.2,
            "referral_prob": 0.05,
            "contact_decay": 0.1,
            "perception_noise": 0.05,
        },
        "evolution": {"rule": "imitation", "update_every": 10, "mutation_rate": 0.01},
    },
    "steps_edges": {
        "population": {"n": 300},
        "network": {"kind": "barabasi_albert", "m": 3},
        "deal": {"protocol": "offer-response", "matching": "edges"},
        "reputation": {"gossip_prob": 0.1, "referral_prob": 0.02},
    },
    "steps_simultaneous": {
        "population": {"n": 300},
        "network": {"kind": "watts_strogatz", "k": 6, "p": 0.1},
        "deal": {
            "protocol": "simultaneous",
            "matching": "edges",
            "noise": 0.05,
            "continuation": 0.9,
            "batna": {"low": 0.0, "high": 2.0},
        },
        "behaviour": {"weakness_sensitivity": 0.5},
        "reputation": {"gossip_prob": 0.3, "referral_prob": 0.05, "heard_capacity": 8},
        "evolution": {"rule": "death-birth", "update_every": 5, "mutation_rate": 0.01},
    },
    "steps_many_items": {
        "population": {"n": 300},
        "network": {"kind": "barabasi_albert", "m": 3},
        "items": {"count": 12},
        "deal": {
            "protocol": "offer-response",
            "matching": "edges",
            "noise": 0.05,
            "perception_noise": 0.05,
            "continuation": 0.95,
            "batna": {"low": 0.0, "high": 1.5},
        },
        "behaviour": {"weakness_sensitivity": 0.7},
        "reputation": {"gossip_prob": 0.2, "referral_prob": 0.05, "perception_noise": 0.05},
    },
}
SEED = 20240611
STEPS = 30


def golden_run(name: str) -> pl.DataFrame:
    """The step table of the golden config `name`, run now."""
    from environments.model import ConcessionModel

    return ConcessionModel(CONFIGS[name], rng=SEED).run(STEPS).steps_frame()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_golden_step_table_is_unchanged(name: str) -> None:
    """Today's run equals the checked-in step table, exactly."""
    expected = pl.read_parquet(GOLDEN / f"{name}.parquet")
    assert_frame_equal(golden_run(name), expected, check_exact=True)


# numpy's optional vector code paths (AVX2/FMA, AVX-512) on x86: turned off, numpy runs
# what every x86-64 processor has, as on a laptop without AVX-512.
PLAIN_X86 = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 code paths")
def test_golden_tables_do_not_depend_on_the_processors_vector_instructions() -> None:
    """The same tables with numpy's AVX2 and AVX-512 code turned off.

    numpy picks the code of exp, power and others by the processor, and its
    AVX-512 versions round differently in the last bit: the model must not
    call them, or the golden tables (made on an AVX-512 machine) would fail
    on most laptops.
    """
    same = printed_in_fresh_process("golden_now.py", {"NPY_DISABLE_CPU_FEATURES": PLAIN_X86})
    assert same == dict.fromkeys(CONFIGS, True)


def regenerate() -> None:
    """Write every golden step table (only when results are meant to change)."""
    GOLDEN.mkdir(exist_ok=True)
    for name in CONFIGS:
        frame = golden_run(name)
        frame.write_parquet(GOLDEN / f"{name}.parquet")
        print(f"wrote {GOLDEN / f'{name}.parquet'}: {frame.height} rows, {frame.width} columns")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite tests/golden/*.parquet")
    if parser.parse_args().regenerate:
        regenerate()
    else:
        parser.print_help()
