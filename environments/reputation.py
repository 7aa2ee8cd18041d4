"""Beliefs, gossip and assessment rules. No Mesa, no model.

Each negotiator holds beliefs (0..1, "this one is good") about those it dealt
with or heard of. Beliefs about contacts live on the contact arrays
(`Relationships.belief`); beliefs about others it only heard of live in a
`HeardBeliefs` table keyed by (holder, target). Memory is O(N + contacts +
heard pairs), never N x N.

A belief moves toward an *assessment* (0 bad, 1 good) of an observed action
at `belief_rate`: b <- b + rate (a - b); rate 1 gives the binary images of the
classic models. The assessment rules are tables of (action, recipient's
standing) -> assessment of the actor, the recipient's standing being the
assessor's own belief about the recipient (>= 0.5 means good):

| rule            | give to good | give to bad | refuse good | refuse bad |
| ---             | ---          | ---         | ---         | ---        |
| image_scoring   | good         | good        | bad         | bad        |
| simple_standing | good         | good        | bad         | good       |
| stern_judging   | good         | bad         | bad         | good       |
| shunning        | good         | bad         | bad         | bad        |

In direct experience the assessor is the recipient and counts itself in good
standing, so a give is good and a refusal bad under every rule; the rules
differ for gossip, about deals between others.
"""

from __future__ import annotations

import numpy as np

from environments.relationships import sorted_search

# ASSESSMENT[rule][gave, recipient_good] -> assessment of the actor
ASSESSMENT: dict[str, np.ndarray] = {
    "image_scoring": np.array([[0.0, 0.0], [1.0, 1.0]]),
    "simple_standing": np.array([[1.0, 0.0], [1.0, 1.0]]),
    "stern_judging": np.array([[1.0, 0.0], [0.0, 1.0]]),
    "shunning": np.array([[0.0, 0.0], [0.0, 1.0]]),
}
GOOD = 0.5  # a belief at or above this counts as good standing


def assess(rule: str, gave: np.ndarray, recipient_belief: np.ndarray) -> np.ndarray:
    """Assessment (0 or 1) of an actor who gave / refused to a recipient of the given standing."""
    table = ASSESSMENT[rule]
    return table[gave.astype(np.int64), (recipient_belief >= GOOD).astype(np.int64)]


def move(belief: np.ndarray, assessment: np.ndarray, rate: float) -> np.ndarray:
    """A belief moved toward an assessment at `rate`."""
    return belief + rate * (assessment - belief)


class HeardBeliefs:
    """Beliefs about negotiators one has heard of but is not in contact with, keyed by (holder, target)."""

    def __init__(self, n: int, initial: float) -> None:
        self.n = n
        self.initial = initial
        self.keys = np.zeros(0, dtype=np.int64)  # sorted holder * n + target
        self.values = np.zeros(0, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.keys)

    def _find(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return sorted_search(self.keys, key)

    def get(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Beliefs of `holder` about `target`; the initial belief where nothing was heard."""
        pos, hit = self._find(holder * self.n + target)
        return np.where(hit, self.values[pos] if len(self.values) else self.initial, self.initial)

    def known(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Whether `holder` has heard of `target`."""
        return self._find(holder * self.n + target)[1]

    def set(self, holder: np.ndarray, target: np.ndarray, values: np.ndarray) -> None:
        """Store beliefs; where a (holder, target) repeats, the last value wins."""
        if len(holder) == 0:
            return
        key = holder * self.n + target
        # Keep the last occurrence of each key (a hearer takes the latest story).
        rev_unique, rev_idx = np.unique(key[::-1], return_index=True)
        key, values = rev_unique, values[::-1][rev_idx]
        pos, hit = self._find(key)
        self.values[pos[hit]] = values[hit]
        new = ~hit
        if new.any():
            # `key` is sorted and unique: merge it in without sorting the table again.
            at = np.searchsorted(self.keys, key[new])
            self.keys = np.insert(self.keys, at, key[new])
            self.values = np.insert(self.values, at, values[new])

    def pop(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Take beliefs out (when the two become contacts); the initial belief where none was held."""
        key = holder * self.n + target
        pos, hit = self._find(key)
        out = np.where(hit, self.values[pos] if len(self.values) else self.initial, self.initial)
        if hit.any():
            keep = np.ones(len(self.keys), dtype=bool)
            keep[pos[hit]] = False
            self.keys, self.values = self.keys[keep], self.values[keep]
        return out

    def forget(self, who: np.ndarray) -> None:
        """Drop every belief held by or about `who` (negotiators replaced by newcomers)."""
        if len(self.keys) == 0 or len(who) == 0:
            return
        gone = np.isin(self.keys // self.n, who) | np.isin(self.keys % self.n, who)
        self.keys, self.values = self.keys[~gone], self.values[~gone]

    def about(self) -> tuple[np.ndarray, np.ndarray]:
        """(target, belief) of every stored belief, for reputation measures."""
        return self.keys % self.n, self.values

    def nbytes(self) -> int:
        """Bytes held."""
        return self.keys.nbytes + self.values.nbytes
