"""Contacts and the memory of each relationship, per directed pair, in arrays.

A *contact* is an unordered pair {u, v} (u < v) of negotiators who deal with
each other: a graph edge, or a partner gained by referral. Each contact has
two *sides*: side 0 is u's view of v, side 1 is v's view of u. Memory arrays
have shape (capacity, 2) and grow by doubling when referrals add contacts,
so memory is O(N + contacts).

Relationship memory (cleared when the relationship ends, probability 1 - w
after each deal): whether they have met, the perceived value received last
deal and in all, the streak of unreturned gives, deals since the last give,
the expectation (reference level) and the demand level, whether the partner
reneged. Beliefs about the partner (`belief`, `heard`) are reputation, not
relationship memory: they survive the relationship's end.
"""

from __future__ import annotations

import numba
import numpy as np

MEMORY_FIELDS: dict[str, type] = {
    "met": bool,
    "last_received": np.float64,
    "received_total": np.float64,
    "streak": np.int32,
    "idle": np.int32,
    "expectation": np.float64,
    "demand": np.float64,
    "reneged": bool,
}
REPUTATION_FIELDS: dict[str, type] = {"belief": np.float64, "heard": bool}

ORIGIN_GRAPH, ORIGIN_REFERRAL = 0, 1


class Relationships:
    """Every contact pair of a model and the memory of both sides."""

    def __init__(self, n: int, edges: np.ndarray, initial_belief: float) -> None:
        self.n = n
        self.initial_belief = initial_belief
        self.size = 0
        self._alloc(max(16, 2 * len(edges)))
        self.add(edges[:, 0], edges[:, 1], origin=ORIGIN_GRAPH, step=0)

    def _alloc(self, cap: int) -> None:
        old = self.size

        def grow(name: str, dtype: type, shape: tuple, fill: float | int | bool = 0) -> None:
            arr = np.full((cap, *shape), fill, dtype=dtype)
            if old:
                arr[:old] = getattr(self, name)[:old]
            setattr(self, name, arr)

        grow("u", np.int64, ())
        grow("v", np.int64, ())
        grow("active", bool, ())
        grow("origin", np.int8, ())
        grow("created", np.int32, ())
        grow("referrer", np.int64, (), -1)
        grow("last_used", np.int32, ())
        grow("deals", np.int32, (2,))  # deals on this contact (side: as seen by each)
        for name, dtype in MEMORY_FIELDS.items():
            grow(name, dtype, (2,))
        grow("belief", np.float64, (2,), self.initial_belief)
        grow("heard", bool, (2,))
        self.capacity = cap

    def add(
        self,
        u: np.ndarray,
        v: np.ndarray,
        origin: int,
        step: int,
        referrer: np.ndarray | None = None,
        belief: np.ndarray | None = None,
    ) -> np.ndarray:
        """Add contacts {u, v} (assumed new and distinct); returns their pair indices."""
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        k = len(lo)
        if self.size + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.size + k))
        idx = np.arange(self.size, self.size + k)
        self.u[idx], self.v[idx] = lo, hi
        self.active[idx] = True
        self.origin[idx] = origin
        self.created[idx] = step
        self.last_used[idx] = step
        if referrer is not None:
            self.referrer[idx] = referrer
        if belief is not None:
            self.belief[idx] = belief
        self.size += k
        self._keys = None
        return idx

    def keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted pair keys (u * n + v) and the pair index of each, for lookups."""
        if getattr(self, "_keys", None) is None:
            key = self.u[: self.size] * self.n + self.v[: self.size]
            order = np.argsort(key, kind="stable")
            self._keys = (key[order], order)
        return self._keys

    def find(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pair index of contact {a, b}, or -1 where they are not contacts."""
        sorted_keys, order = self.keys()
        key = np.minimum(a, b) * self.n + np.maximum(a, b)
        pos, hit = sorted_search(sorted_keys, key)
        return np.where(hit, order[pos], -1)

    def side_of(self, pair: np.ndarray, who: np.ndarray) -> np.ndarray:
        """0 where `who` is the pair's u, 1 where it is v."""
        return (self.v[pair] == who).astype(np.int64)

    def clear_memory(self, pair: np.ndarray) -> None:
        """End relationships: both sides forget their memory (beliefs stay)."""
        for name, dtype in MEMORY_FIELDS.items():
            getattr(self, name)[pair] = dtype(0)

    def renew(self, who: np.ndarray) -> None:
        """`who` are newcomers in old places: every contact of theirs starts afresh on both sides.

        Memory is cleared, beliefs in both directions go back to the initial
        belief, and nothing counts as heard; the contacts themselves stay.
        """
        u, v = self.u[: self.size], self.v[: self.size]
        pair = np.flatnonzero(np.isin(u, who) | np.isin(v, who))
        self.clear_memory(pair)
        self.belief[pair] = self.initial_belief
        self.heard[pair] = False

    def active_pairs(self) -> np.ndarray:
        """Indices of contacts that currently exist."""
        return np.flatnonzero(self.active[: self.size])

    def contacts_count(self) -> np.ndarray:
        """Number of current contacts of each negotiator."""
        pairs = self.active_pairs()
        return np.bincount(self.u[pairs], minlength=self.n) + np.bincount(
            self.v[pairs], minlength=self.n
        )

    def nbytes(self) -> int:
        """Bytes held by the arrays (for memory checks)."""
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))


def sorted_search(sorted_keys: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each `key` in `sorted_keys` and whether it is there.

    The queries are searched in sorted order: on large tables this keeps the
    search in cache and is several times faster than searching them as they come.
    """
    if len(sorted_keys) == 0 or len(key) == 0:
        return np.zeros(len(key), dtype=np.int64), np.zeros(len(key), dtype=bool)
    order = np.argsort(key, kind="stable")
    pos = np.empty(len(key), dtype=np.int64)
    pos[order] = np.searchsorted(sorted_keys, key[order])
    np.minimum(pos, len(sorted_keys) - 1, out=pos)
    return pos, sorted_keys[pos] == key


@numba.njit(cache=True)
def pair_of(sorted_keys: np.ndarray, order: np.ndarray, n: int, a: int, b: int) -> int:
    """Pair index of contact {a, b} from `Relationships.keys()`, or -1 (compiled, one query)."""
    key = min(a, b) * n + max(a, b)
    pos = np.searchsorted(sorted_keys, key)
    if pos < len(sorted_keys) and sorted_keys[pos] == key:
        return order[pos]
    return -1


@numba.njit(cache=True)
def remember_deals(
    pair, side, closed, gave, got, seen, cost, one_time, weak,
    expectation, streak, met, last_received, received_total, idle, demand, belief, heard,
    reciprocity_norm, loss_aversion, expectation_rate, exception_weight,
    desperation_threshold, belief_rate,
):  # fmt: skip
    """Update each side's memory of a round's closed deals; returns each side's satisfaction.

    Per side of a deal (each contact at most once in a round): its contact
    and side, whether the deal closed (only closed deals change memory;
    satisfaction is 0 where walked), the item masks it gave and got, the
    perceived value it got, the cost it gave, whether the gift it got was
    framed as a one-time exception, whether it read that gift as weakness.
    The memory arrays are the flattened `Relationships` fields (index 2 x
    pair + side).
    """
    m = len(pair)
    # Each side reads the partner's streak as it was before this round.
    partner_streak = np.empty(m, dtype=streak.dtype)
    for i in range(m):
        partner_streak[i] = streak[(2 * pair[i] + side[i]) ^ 1]
    satisfaction = np.zeros(m)
    for i in range(m):
        if not closed[i]:
            continue
        f = 2 * pair[i] + side[i]
        gave_any, got_any = gave[i] != 0, got[i] != 0
        e = expectation[f]
        # Satisfaction: perceived value against what was expected (at least the
        # reciprocity norm times what it gave); losses weigh more.
        diff = seen[i] - max(e, reciprocity_norm * cost[i])
        satisfaction[i] = diff if diff >= 0 else loss_aversion * diff
        # Precedent: the expectation moves toward what was received; a gift
        # framed as a one-time exception moves it less.
        rate = expectation_rate * (exception_weight if one_time[i] and got_any else 1.0)
        expectation[f] = e + rate * (seen[i] - e)
        met[f] = True
        last_received[f] = seen[i]
        received_total[f] += seen[i]
        streak[f] = 0 if got_any else streak[f] + gave_any
        idle[f] = 0 if gave_any else idle[f] + 1
        # Over-giving (many items at once, or a long run of gives without
        # return) and gifts read as weakness raise the demand toward the giver;
        # it relaxes at the expectation rate when nothing is given.
        after = 0 if gave_any else partner_streak[i] + got_any
        desperate = got_any and (
            _popcount(got[i]) > desperation_threshold or after > desperation_threshold
        )
        if got_any:
            demand[f] = demand[f] + desperate + weak[i]
        else:
            demand[f] = demand[f] * (1.0 - expectation_rate)
        # Direct experience: each side assesses the partner's action toward it.
        belief[f] = belief[f] + belief_rate * ((1.0 if got_any else 0.0) - belief[f])
        heard[f] = True
    return satisfaction


@numba.njit(cache=True)
def _popcount(mask: int) -> int:
    count = 0
    while mask:
        mask &= mask - 1
        count += 1
    return count
