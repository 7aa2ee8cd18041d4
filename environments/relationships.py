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

import numpy as np
from numba import literal_unroll

from environments.compiled import compiled, inlined

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
        # A hash index of the pairs (open addressing), for lookups: a slot is
        # (key u * n + v, pair), side by side so that a probe reads one place.
        self.index = np.full((0, 2), -1, dtype=np.int64)
        # Per negotiator, one bit (of 512, by hash: one cache line) for each
        # negotiator it has ever had as a contact: most lookups are of
        # non-contacts, and a clear bit answers them without probing the index.
        # (With 64 bits a hub's were nearly all set, and gossip's hearers are
        # mostly hubs: 512 took a hearing in W1 from about 110 to 90 ns.)
        self.contact_bits = np.zeros((n, CONTACT_BITS // 64), dtype=np.uint64)
        self.add(edges[:, 0], edges[:, 1], origin=ORIGIN_GRAPH, step=0)

    def _alloc(self, cap: int) -> None:
        old = self.size

        def grow(name: str, dtype: type, shape: tuple, fill: float | int | bool = 0) -> None:
            # Zeros are allocated lazily: the spare capacity costs no memory until used.
            arr = (
                np.zeros((cap, *shape), dtype) if fill == 0 else np.full((cap, *shape), fill, dtype)
            )
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
        _mark_contacts(self.contact_bits, lo, hi)
        if 2 * self.size > len(self.index):
            self._reindex()
        else:
            _index_add(self.index, lo * self.n + hi, idx)
        return idx

    def _reindex(self) -> None:
        """(Re)build the hash index of the pairs, at most half full."""
        slots = 1 << max(4, int(2 * self.size - 1).bit_length())
        self.index = np.full((slots, 2), -1, dtype=np.int64)
        keys = self.u[: self.size] * self.n + self.v[: self.size]
        _index_add(self.index, keys, np.arange(self.size))

    def find(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pair index of contact {a, b}, or -1 where they are not contacts."""
        return _index_find(self.index, self.contact_bits, self.n, a, b)

    def ends(self, pair: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each contact's negotiator on `side` (0: u, 1: v) and the other one."""
        return _ends(self.u, self.v, pair, side)

    def side_of(self, pair: np.ndarray, who: np.ndarray) -> np.ndarray:
        """0 where `who` is the pair's u, 1 where it is v."""
        return (self.v[pair] == who).astype(np.int64)

    def clear_memory(self, pair: np.ndarray) -> None:
        """End relationships: both sides forget their memory (beliefs stay)."""
        if len(pair):
            _clear(pair, *(getattr(self, name).reshape(-1) for name in MEMORY_FIELDS))

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


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: spreads keys over the slots


@inlined
def _home(key, mask):
    """The first slot probed for `key` in a table of mask + 1 (a power of two, at most 2^32) slots."""
    return np.int64(((np.uint64(key) * _FIBONACCI) >> np.uint64(32)) & np.uint64(mask))


@compiled
def _index_add(index, keys, pairs):
    mask = len(index) - 1
    for i in range(len(keys)):
        s = _home(keys[i], mask)
        while index[s, 0] != -1:
            s = (s + 1) & mask
        index[s, 0], index[s, 1] = keys[i], pairs[i]


CONTACT_BITS = 512  # bits per negotiator in `Relationships.contact_bits` (a power of two)
_BIT_SHIFT = np.uint64(64 - CONTACT_BITS.bit_length() + 1)  # the hash's top bits pick one


@inlined
def _bit(x):
    """Where negotiator x's bit is in a row of `Relationships.contact_bits`: (word, bit)."""
    position = (np.uint64(x) * _FIBONACCI) >> _BIT_SHIFT
    return np.int64(position >> np.uint64(6)), np.uint64(1) << (position & np.uint64(63))


@compiled
def _mark_contacts(bits, lo, hi):
    for i in range(len(lo)):
        word, bit = _bit(hi[i])
        bits[lo[i], word] |= bit
        word, bit = _bit(lo[i])
        bits[hi[i], word] |= bit


@inlined
def pair_of(index, bits, n, a, b):
    """Pair index of contact {a, b} in the hash index of `Relationships`, or -1 (one query)."""
    word, bit = _bit(b)
    if bits[a, word] & bit == 0:  # never contacts
        return -1
    key = min(a, b) * n + max(a, b)
    mask = len(index) - 1
    s = _home(key, mask)
    while index[s, 0] != -1:
        if index[s, 0] == key:
            return index[s, 1]
        s = (s + 1) & mask
    return -1


@compiled
def _index_find(index, bits, n, a, b):
    out = np.empty(len(a), dtype=np.int64)
    for i in range(len(a)):
        out[i] = pair_of(index, bits, n, a[i], b[i])
    return out


@compiled
def _clear(pair, *fields):
    """Zero both sides of each contact in `pair`, in every one of `fields` (flattened, 2 x pair + side)."""
    for field in literal_unroll(fields):  # the fields have different types: one loop each
        for i in range(len(pair)):
            field[2 * pair[i]] = 0
            field[2 * pair[i] + 1] = 0


@compiled
def _ends(u, v, pair, side):
    """`Relationships.ends`, in one pass (two `np.where` over the contacts cost several times more)."""
    mine = np.empty(len(pair), dtype=u.dtype)
    other = np.empty(len(pair), dtype=u.dtype)
    for i in range(len(pair)):
        x, y = u[pair[i]], v[pair[i]]
        mine[i], other[i] = (y, x) if side[i] == 1 else (x, y)
    return mine, other


@compiled
def remember_deals(
    pair, side_a, closed, give_a, give_b, seen_a, seen_b, cost_a, cost_b,
    one_time_a, one_time_b, weak_a, weak_b,
    expectation, streak, met, last_received, received_total, idle, demand, belief, heard, deals,
    reciprocity_norm, loss_aversion, expectation_rate, exception_weight,
    desperation_threshold, belief_rate,
):  # fmt: skip
    """Update both sides' memory of a round's deals; returns each side's satisfaction.

    Per deal (each contact at most once in a round): its contact, the side
    of it that is deal side a, whether the deal closed (only closed deals
    change memory; satisfaction is 0 where walked), the item masks each side
    gave, the value each perceived receiving, the cost each gave, whether
    the gift each received was framed as a one-time exception, whether each
    read the gift it received as weakness. The memory arrays are the
    flattened `Relationships` fields (index 2 x pair + side); every deal,
    closed or not, is counted in `deals` on both sides. Returns
    satisfaction[0] for side a, satisfaction[1] for side b.
    """
    # One pass over the deals, both sides of each: a deal's contact is in no other deal of the
    # round, so its updates touch no other deal's memory, and the contact's memory is read and
    # written while it is in cache.
    satisfaction = np.zeros((2, len(pair)))
    for i in range(len(pair)):
        f_a = 2 * pair[i] + side_a[i]
        f_b = f_a ^ 1
        deals[f_a] += 1
        deals[f_b] += 1
        if not closed[i]:
            continue
        # Each side reads the partner's streak as it was before this deal.
        streak_a, streak_b = streak[f_a], streak[f_b]
        satisfaction[0, i] = _remember_one(
            f_a, give_a[i], give_b[i], seen_a[i], cost_a[i], one_time_a[i], weak_a[i], streak_b,
            expectation, streak, met, last_received, received_total, idle, demand, belief, heard,
            reciprocity_norm, loss_aversion, expectation_rate, exception_weight,
            desperation_threshold, belief_rate,
        )  # fmt: skip
        satisfaction[1, i] = _remember_one(
            f_b, give_b[i], give_a[i], seen_b[i], cost_b[i], one_time_b[i], weak_b[i], streak_a,
            expectation, streak, met, last_received, received_total, idle, demand, belief, heard,
            reciprocity_norm, loss_aversion, expectation_rate, exception_weight,
            desperation_threshold, belief_rate,
        )  # fmt: skip
    return satisfaction


@inlined
def _remember_one(
    f, gave, got, seen, cost, one_time, weak, partner_streak,
    expectation, streak, met, last_received, received_total, idle, demand, belief, heard,
    reciprocity_norm, loss_aversion, expectation_rate, exception_weight,
    desperation_threshold, belief_rate,
):  # fmt: skip
    """One side's memory of one closed deal (flat index `f`); returns its satisfaction."""
    gave_any, got_any = gave != 0, got != 0
    e = expectation[f]
    # Satisfaction: perceived value against what was expected (at least the
    # reciprocity norm times what it gave); losses weigh more.
    diff = seen - max(e, reciprocity_norm * cost)
    satisfaction = diff if diff >= 0 else loss_aversion * diff
    # Precedent: the expectation moves toward what was received; a gift
    # framed as a one-time exception moves it less.
    rate = expectation_rate * (exception_weight if one_time and got_any else 1.0)
    expectation[f] = e + rate * (seen - e)
    met[f] = True
    last_received[f] = seen
    received_total[f] += seen
    streak[f] = 0 if got_any else streak[f] + gave_any
    idle[f] = 0 if gave_any else idle[f] + 1
    # Over-giving (many items at once, or a long run of gives without
    # return) and gifts read as weakness raise the demand toward the giver;
    # it relaxes at the expectation rate when nothing is given.
    after = 0 if gave_any else partner_streak + got_any
    desperate = got_any and (popcount(got) > desperation_threshold or after > desperation_threshold)
    if got_any:
        demand[f] = demand[f] + desperate + weak
    else:
        demand[f] = demand[f] * (1.0 - expectation_rate)
    # Direct experience: each side assesses the partner's action toward it.
    belief[f] = belief[f] + belief_rate * ((1.0 if got_any else 0.0) - belief[f])
    heard[f] = True
    return satisfaction


@inlined
def popcount(mask: int) -> int:
    """Number of items in a mask (compiled, one mask; masks hold at most 32 items).

    Counted by halves, quarters, bytes (the classic bit-parallel sum): a loop
    over the set bits would branch at random from deal to deal.
    """
    x = mask - ((mask >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56
