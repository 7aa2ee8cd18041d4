"""Compile the step's loops once, ahead of the first real run.

The model's inner loops are compiled by numba on first use (about 20 seconds
for all of them) and cached on disk (environments/compiled.py), so later processes
load them in a fraction of a second. `make` runs this once after installing,
so that the first run, every worker of the first sweep and the first
dashboard start at full speed instead of each compiling the same loops.

    .venv/bin/python -m environments.warmup
"""

from __future__ import annotations

import time

# Small models that between them reach every compiled loop: both protocols,
# both matchings, gossip, referrals, negative word of mouth, newcomers.
CONFIGS = (
    {
        "population": {"n": 60},
        "network": {"kind": "barabasi_albert", "m": 3},
        "deal": {"noise": 0.05, "perception_noise": 0.05},
        "reputation": {"gossip_prob": 0.3, "referral_prob": 0.1, "perception_noise": 0.05},
        "evolution": {"rule": "death-birth", "update_every": 2},
    },
    {
        "population": {"n": 60},
        "deal": {"protocol": "simultaneous", "matching": "initiator"},
        "items": {"count": 1},
        "reputation": {"gossip_prob": 0.3},
    },
)


def main() -> None:
    """Run each warm-up model a few steps; print how long compiling (or loading) took."""
    start = time.perf_counter()
    from environments.model import ConcessionModel

    for config in CONFIGS:
        model = ConcessionModel(config, rng=1).run(4)
        model.release()
    print(f"compiled loops ready in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
