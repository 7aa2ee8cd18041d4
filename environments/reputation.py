"""Beliefs, gossip and assessment rules. No Mesa, no model.

Each negotiator holds beliefs (0..1, "this one is good") about those it dealt
with or heard of. Beliefs about contacts live on the contact arrays
(`Relationships.belief`); beliefs about others it only heard of live in a
`HeardBeliefs` table of at most `heard_capacity` per holder, forgetting the
least recently heard of first. Memory is O(N + contacts), never N x N.

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

from environments.compiled import compiled, inlined
from environments.network import group_by_key
from environments.relationships import pair_of

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
    """Beliefs about negotiators one has heard of but is not in contact with.

    Each holder remembers at most `capacity` such negotiators, most recently
    told first: a new story about one moves it to the front, and a story about
    someone new when the memory is full makes the holder forget the one it
    heard of least recently. Memory is O(N x capacity), whatever the network's
    degrees (without a bound, stories about partners of partners grow with the
    sum of squared degrees). Capacity 0 keeps beliefs about contacts only.
    """

    def __init__(self, n: int, initial: float, capacity: int) -> None:
        self.n = n
        self.initial = initial
        self.capacity = capacity
        # Row h, slots [0, count[h]): the targets h heard of, most recent first.
        # Zeros, not a fill: pages of rows never written are never touched.
        self.target = np.zeros((n, capacity), dtype=np.int32)
        self.belief = np.zeros((n, capacity), dtype=np.float64)
        self.count = np.zeros(n, dtype=np.int32)

    def __len__(self) -> int:
        return int(self.count.sum())

    def get(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Beliefs of `holder` about `target`; the initial belief where nothing is remembered."""
        slot = _find(self.target, self.count, holder, target)
        out = np.full(len(holder), self.initial)
        hit = slot >= 0
        out[hit] = self.belief[holder[hit], slot[hit]]
        return out

    def known(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Whether `holder` remembers hearing of `target`."""
        return _find(self.target, self.count, holder, target) >= 0

    def set(self, holder: np.ndarray, target: np.ndarray, values: np.ndarray) -> None:
        """Store beliefs in order; where a (holder, target) repeats, the last value wins."""
        if self.capacity and len(holder):
            _tell(self.target, self.belief, self.count, holder, target, values)

    def pop(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Take beliefs out (when the two become contacts); the initial belief where none was held."""
        return _pop(self.target, self.belief, self.count, holder, target, self.initial)

    def forget(self, who: np.ndarray) -> None:
        """Drop every belief held by or about `who` (negotiators replaced by newcomers)."""
        gone = np.zeros(self.n, dtype=np.bool_)
        gone[who] = True
        _forget(self.target, self.belief, self.count, gone)

    def about(self) -> tuple[np.ndarray, np.ndarray]:
        """(target, belief) of every stored belief, for reputation measures."""
        held = np.arange(self.capacity) < self.count[:, None]
        return self.target[held].astype(np.int64), self.belief[held]

    def nbytes(self) -> int:
        """Bytes held."""
        return self.target.nbytes + self.belief.nbytes + self.count.nbytes


@inlined
def _slot(target, count, h, t):
    """The slot of `h`'s memory holding `t`, or -1."""
    # Most stories are about someone not remembered: a count of matches over
    # the whole row (a loop without an early exit, which the compiler turns
    # into vector compares) settles those at once; only a match is searched for.
    matches = 0
    for k in range(count[h]):
        matches += target[h, k] == t
    if matches == 0:
        return -1
    for k in range(count[h]):
        if target[h, k] == t:
            return k
    return -1


@inlined
def _heard_get(target, belief, count, h, t, initial):
    k = _slot(target, count, h, t)
    return belief[h, k] if k >= 0 else initial


@inlined
def _heard_tell(target, belief, count, h, t, value):
    k = _slot(target, count, h, t)
    if k < 0:
        # Someone new: the least recently heard-of falls off a full memory.
        if count[h] < target.shape[1]:
            count[h] += 1
        k = count[h] - 1
    for j in range(k, 0, -1):  # move the others back one slot, this one to the front
        target[h, j] = target[h, j - 1]
        belief[h, j] = belief[h, j - 1]
    target[h, 0] = t
    belief[h, 0] = value


@compiled
def _find(target, count, holder, about):
    out = np.empty(len(holder), dtype=np.int64)
    for i in range(len(holder)):
        out[i] = _slot(target, count, holder[i], about[i])
    return out


@compiled
def _tell(target, belief, count, holder, about, values):
    for i in range(len(holder)):
        _heard_tell(target, belief, count, holder[i], about[i], values[i])


@compiled
def _pop(target, belief, count, holder, about, initial):
    out = np.full(len(holder), initial)
    for i in range(len(holder)):
        h = holder[i]
        k = _slot(target, count, h, about[i])
        if k >= 0:
            out[i] = belief[h, k]
            for j in range(k, count[h] - 1):
                target[h, j] = target[h, j + 1]
                belief[h, j] = belief[h, j + 1]
            count[h] -= 1
    return out


@compiled
def _forget(target, belief, count, gone):
    for h in range(len(count)):
        kept = 0
        if not gone[h]:
            for k in range(count[h]):
                if not gone[target[h, k]]:
                    target[h, kept] = target[h, k]
                    belief[h, kept] = belief[h, k]
                    kept += 1
        count[h] = kept


# --------------------------------------------------------------------------- gossip


@compiled
def gossip_hearers(a, b, indptr, nbrs, contact, positions, ends):
    """Who hears of which deal: the contacts at `positions` among the participants' contacts.

    The triples (deal, participant, contact) are numbered participant by
    participant, side a of every deal first, then side b, each participant's
    contacts in adjacency order (`indptr`, `nbrs`, and `contact`, the pair
    index of each); `ends[j]` is the number of triples of participants 0..j
    (the running sum of their contacts); `positions` are the sorted numbers
    that hear. A participant's partner does not hear from it (it was there).
    Returns, for each hearing, the hearer, the deal, the contact it heard
    through and whether that was with side a.
    """
    d = len(a)
    # int32: at a million negotiators a step has tens of millions of hearings.
    hearer = np.empty(len(positions), dtype=np.int32)
    deal = np.empty(len(positions), dtype=np.int32)
    via = np.empty(len(positions), dtype=np.int32)
    from_a = np.empty(len(positions), dtype=np.bool_)
    found = 0
    which = 0  # the participant the current position falls in
    for p in positions:
        while p >= ends[which]:
            which += 1
        who = a[which] if which < d else b[which - d]
        k = which if which < d else which - d
        slot = indptr[who] + p - (ends[which - 1] if which > 0 else 0)
        h = nbrs[slot]
        if h != a[k] and h != b[k]:
            hearer[found], deal[found], via[found] = h, k, contact[slot]
            from_a[found] = which < d
            found += 1
    return hearer[:found], deal[:found], via[:found], from_a[:found]


@compiled
def hear_gossip(
    hearer, deal, via, from_a, a, b, seen_a, seen_b, table, rate,
    contact_belief, contact_heard, index, contact_bits, n,
    heard_target, heard_belief, heard_count, initial,
):  # fmt: skip
    """Each hearer assesses both participants of the deal it heard of and moves its beliefs.

    Per hearing (from `gossip_hearers`): the hearer, the deal (an index into
    the participants `a`, `b`), the contact it heard through and whether that
    was with a; per hearing too, whether each participant was seen giving.
    `table` is the assessment rule (`ASSESSMENT`), `rate` the belief rate.
    Every standing is read before any is written (a step's stories are heard
    at once). Beliefs about contacts are written on the contact arrays
    (`contact_belief`, `contact_heard`: the flattened `Relationships.belief`
    and `.heard`; `index` and `contact_bits` are `Relationships.index` and
    `.contact_bits`, to find contacts), others told to the heard-of memory:
    the stories about side a first, then those about side b, each in order.

    A hearer's stories read and write only its own beliefs, so the hearings
    are taken hearer by hearer (grouped by `network.group_by_key`): each
    hearer reads all its stories, then writes them, in the order above. The
    result is that of reading every story before writing any, without
    holding every hearing's new beliefs at once.
    """
    m = len(hearer)
    order, start = group_by_key(hearer, n)
    largest = 0
    for h in range(n):
        largest = max(largest, start[h + 1] - start[h])
    # Each hearing's story copied into hearer order, one record of four
    # (participant a, participant b, the contact heard through, flags), so
    # that a hearer's stories are read one after another.
    story = np.empty((m, 4), dtype=np.int32)
    for j in range(m):
        i = order[j]
        story[j, 0], story[j, 1], story[j, 2] = a[deal[i]], b[deal[i]], via[i]
        story[j, 3] = (1 if from_a[i] else 0) | (2 if seen_a[i] else 0) | (4 if seen_b[i] else 0)
    flat = np.empty((2, largest), dtype=np.int64)
    new = np.empty((2, largest))
    for h in range(n):
        first, size = start[h], start[h + 1] - start[h]
        for k in range(size):
            j = first + k
            ai, bi, contact, flags = story[j, 0], story[j, 1], story[j, 2], story[j, 3]
            heard_from_a = flags & 1 != 0
            # The belief about the participant it heard from is on their
            # contact; only the other participant needs a search. (A contact's
            # side 1 is its larger negotiator: u < v.)
            teller, other = (ai, bi) if heard_from_a else (bi, ai)
            f_via = 2 * contact + (1 if h > teller else 0)
            pair = pair_of(index, contact_bits, n, h, other)
            f_other = -1 if pair < 0 else 2 * pair + (1 if h > other else 0)
            f_a, f_b = (f_via, f_other) if heard_from_a else (f_other, f_via)
            if f_a >= 0:
                about_a = contact_belief[f_a]
            else:
                about_a = _heard_get(heard_target, heard_belief, heard_count, h, ai, initial)
            if f_b >= 0:
                about_b = contact_belief[f_b]
            else:
                about_b = _heard_get(heard_target, heard_belief, heard_count, h, bi, initial)
            assess_a = table[1 if flags & 2 else 0, 1 if about_b >= GOOD else 0]
            assess_b = table[1 if flags & 4 else 0, 1 if about_a >= GOOD else 0]
            new[0, k] = about_a + rate * (assess_a - about_a)
            new[1, k] = about_b + rate * (assess_b - about_b)
            flat[0, k], flat[1, k] = f_a, f_b
        for side in range(2):
            for k in range(size):
                if flat[side, k] >= 0:
                    contact_belief[flat[side, k]] = new[side, k]
                    contact_heard[flat[side, k]] = True
                elif heard_target.shape[1]:
                    t = story[first + k, side]  # participant a or b
                    _heard_tell(heard_target, heard_belief, heard_count, h, t, new[side, k])


@compiled
def reputation_sums(u, v, active, belief, size, heard_target, heard_belief, heard_count):
    """Per negotiator, the sum and the number of the beliefs others hold about it.

    Beliefs of active contacts (u's about v for every contact, then v's about
    u), then remembered heard-of beliefs, holder by holder: in this order, so
    the sums are those of one `numpy.bincount` over the beliefs so listed.
    """
    n = len(heard_count)
    total = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    for side in range(2):
        about = v if side == 0 else u
        for p in range(size):
            if active[p]:
                total[about[p]] += belief[p, side]
                count[about[p]] += 1
    for h in range(n):
        for k in range(heard_count[h]):
            total[heard_target[h, k]] += heard_belief[h, k]
            count[heard_target[h, k]] += 1
    return total, count
