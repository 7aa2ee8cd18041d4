"""Concession items and asymmetric valuation.

Giving item k costs negotiator i `cost[i, k]` and is worth `value[j, k]` to
the receiver j. Costs and values are drawn once per run, independently per
negotiator and item, from mean-preserving lognormal distributions:
cost = exp(sigma Z - sigma^2 / 2) (mean 1) and value = asymmetry x
exp(sigma Z' - sigma^2 / 2) (mean `asymmetry`), with sigma = `dispersion`.
So the mean value / mean cost is exactly `asymmetry`, the paradox's lever;
`dispersion` = 0 makes every item cost 1 and be worth `asymmetry`.
Explicit items give every negotiator the same cost and value per item.

What a receiver *perceives* depends on framing: a framed give is perceived
at full value, an unframed one at `recognition` x value (`game._perceived`).
"""

from __future__ import annotations

import numpy as np

from environments.config import ItemsConfig


def draw_valuations(
    cfg: ItemsConfig, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Costs and values, each an (n, K) float64 array; K = explicit items or `cfg.count`."""
    if cfg.explicit:
        cost = np.array([it.cost for it in cfg.explicit], dtype=np.float64)
        value = np.array([it.value for it in cfg.explicit], dtype=np.float64)
        return np.tile(cost, (n, 1)), np.tile(value, (n, 1))
    sigma = cfg.dispersion
    shape = (n, cfg.count)
    # Two draws of the same shape, always in this order, so a seed fixes both. numpy's
    # lognormal takes exp(mean + sigma Z) by the C library's exp, not np.exp, which rounds
    # differently on processors with AVX-512 (see environments.portable).
    cost = rng.lognormal(-(sigma**2) / 2, sigma, shape)
    value = cfg.asymmetry * rng.lognormal(-(sigma**2) / 2, sigma, shape)
    return cost, value
