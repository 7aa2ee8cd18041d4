"""Strategy change: which strategies spread. No Mesa.

Every `update_every` steps, negotiators may change strategy using the payoff
of the last period (the payoff they earned since the previous update):

- `imitation` (Fermi rule): every negotiator looks at one random contact j
  and adopts j's strategy with probability 1 / (1 + exp(-beta (P_j - P_i))),
  all at once.
- `death-birth` (Ohtsuki et al. 2006): a random negotiator dies; its
  contacts compete for the place with probability proportional to fitness
  f = exp(beta P) (for weak selection, ~ 1 + beta P); the winner's strategy
  takes the place.
- `birth-death`: a negotiator is chosen to reproduce with probability
  proportional to fitness; its strategy replaces a random contact's.

DB and BD make `updates_per_event` single updates per event (0 means N, one
generation), one after another, each with the period payoffs. With
probability `mutation_rate` an updated negotiator takes a strategy drawn
uniformly from the population's strategies instead.
"""

from __future__ import annotations

import numpy as np

from environments.portable import exp


def fitness(payoff: np.ndarray, beta: float) -> np.ndarray:
    """exp(beta P), shifted so the largest is 1 (the shift cancels in every ratio)."""
    z = beta * (payoff - payoff.max()) if len(payoff) else payoff
    return exp(z)


def imitation(
    strategy: np.ndarray,
    payoff: np.ndarray,
    indptr: np.ndarray,
    nbrs: np.ndarray,
    beta: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Synchronous Fermi imitation of one random contact each; returns who took part."""
    deg = np.diff(indptr)
    who = np.flatnonzero(deg > 0)
    model = nbrs[indptr[who] + (rng.random(len(who)) * deg[who]).astype(np.int64)]
    diff = np.clip(beta * (payoff[model] - payoff[who]), -700, 700)
    adopt = rng.random(len(who)) < 1.0 / (1.0 + exp(-diff))
    strategy[who[adopt]] = strategy[model[adopt]]
    return who


def death_birth(
    strategy: np.ndarray,
    payoff: np.ndarray,
    indptr: np.ndarray,
    nbrs: np.ndarray,
    beta: float,
    updates: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """`updates` death-birth updates, one after another; returns who was updated."""
    dead = rng.integers(0, len(strategy), size=updates)
    draws = rng.random(updates)
    updated = []
    for i, r in zip(dead, draws, strict=True):
        lo, hi = indptr[i], indptr[i + 1]
        if hi == lo:
            continue
        # Fitness relative to the best neighbour: the contest is local, and
        # this keeps exp() from underflowing for every neighbour at once.
        cum = np.cumsum(fitness(payoff[nbrs[lo:hi]], beta))
        j = nbrs[lo + min(int(np.searchsorted(cum, r * cum[-1], side="right")), hi - lo - 1)]
        strategy[i] = strategy[j]
        updated.append(i)
    return np.asarray(updated, dtype=np.int64)


def birth_death(
    strategy: np.ndarray,
    payoff: np.ndarray,
    indptr: np.ndarray,
    nbrs: np.ndarray,
    beta: float,
    updates: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """`updates` birth-death updates, one after another; returns who was replaced."""
    f = fitness(payoff, beta)
    cum = np.cumsum(f)
    parents = np.minimum(
        np.searchsorted(cum, rng.random(updates) * cum[-1], side="right"), len(f) - 1
    )
    draws = rng.random(updates)
    updated = []
    for j, r in zip(parents, draws, strict=True):
        lo, hi = indptr[j], indptr[j + 1]
        if hi == lo:
            continue
        i = nbrs[lo + int(r * (hi - lo))]
        strategy[i] = strategy[j]
        updated.append(i)
    return np.asarray(updated, dtype=np.int64)


def mutate(
    strategy: np.ndarray,
    who: np.ndarray,
    choices: np.ndarray,
    rate: float,
    rng: np.random.Generator,
) -> None:
    """With probability `rate`, each of `who` takes a strategy drawn uniformly from `choices`."""
    if rate <= 0 or len(who) == 0:
        return
    hit = who[rng.random(len(who)) < rate]
    strategy[hit] = choices[rng.integers(0, len(choices), size=len(hit))]
