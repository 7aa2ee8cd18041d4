"""Contacts and relationship memory: looking contacts up, adding them, ending relationships."""

from __future__ import annotations

import numpy as np

from environments.relationships import (
    CONTACT_BITS,
    ORIGIN_GRAPH,
    ORIGIN_REFERRAL,
    Relationships,
    _bit,
)


def random_pairs(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct unordered pairs {u, v}, u != v, of n nodes."""
    seen: set[tuple[int, int]] = set()
    while len(seen) < k:
        u, v = (int(x) for x in rng.integers(0, n, 2))
        if u != v:
            seen.add((min(u, v), max(u, v)))
    return np.array(sorted(seen), dtype=np.int64)


def test_find_agrees_with_a_set_of_pairs_as_contacts_are_added():
    rng = np.random.default_rng(7)
    n = 500
    pairs = random_pairs(n, 3000, rng)
    rel = Relationships(n, pairs[:1000], initial_belief=0.5)
    # Referrals add contacts in batches, past several doublings of the capacity and index.
    for start in range(1000, 3000, 400):
        batch = pairs[start : start + 400]
        flip = rng.random(len(batch)) < 0.5  # either end may come first
        u = np.where(flip, batch[:, 1], batch[:, 0])
        v = np.where(flip, batch[:, 0], batch[:, 1])
        rel.add(u, v, origin=ORIGIN_REFERRAL, step=1)
    assert rel.size == 3000
    index = {(int(a), int(b)): i for i, (a, b) in enumerate(pairs)}
    a = rng.integers(0, n, 20_000)
    b = rng.integers(0, n, 20_000)
    found = rel.find(a, b)
    expected = [
        index.get((min(x, y), max(x, y)), -1) for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]
    assert found.tolist() == expected
    assert (found >= 0).sum() > 100  # the queries hit contacts, not only misses
    # Both orders of a pair find it; the sides say who is who.
    p = rel.find(pairs[:, 1], pairs[:, 0])
    assert p.tolist() == list(range(3000))
    assert (rel.side_of(p, pairs[:, 1]) == 1).all()
    assert (rel.origin[:1000] == ORIGIN_GRAPH).all() and (
        rel.origin[1000:3000] == ORIGIN_REFERRAL
    ).all()
    # The contact bits answer most queries of non-contacts alone (about 12 contacts each here:
    # a bit of 512 is clear for about 98% of the others; with 64 bits it would be 83%).
    assert rel.contact_bits.shape == (n, CONTACT_BITS // 64)
    misses = found < 0
    clear = [
        rel.contact_bits[x, _bit(y)[0]] & _bit(y)[1] == 0
        for x, y in zip(a[misses].tolist(), b[misses].tolist(), strict=True)
    ]
    assert np.mean(clear) > 0.95


def test_spare_capacity_starts_empty_and_beliefs_at_the_initial_belief():
    rel = Relationships(10, np.array([[0, 1], [2, 3]]), initial_belief=0.3)
    assert rel.capacity >= 16 and rel.size == 2
    assert (rel.belief[: rel.capacity] == 0.3).all()
    assert not rel.active[2:].any() and not rel.met.any() and (rel.referrer == -1).all()
    idx = rel.add(np.array([5]), np.array([4]), origin=ORIGIN_REFERRAL, step=3)
    assert idx.tolist() == [2] and (rel.u[2], rel.v[2]) == (4, 5)
    assert rel.find(np.array([4, 0, 6]), np.array([5, 1, 7])).tolist() == [2, 0, -1]


def test_adjacency_lists_each_nodes_contacts_in_contact_order():
    # The counting sort must give what a stable argsort of the contacts'
    # ends gave (gossip and referrals draw from these lists by position).
    from environments.network import adjacency

    rng = np.random.default_rng(3)
    for n, m in [(1, 0), (7, 5), (50, 400), (1000, 3000)]:
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)
        indptr, neighbours, contact = adjacency(n, u, v)
        order = np.argsort(np.concatenate([u, v]), kind="stable")
        assert np.array_equal(indptr, np.r_[0, np.cumsum(np.bincount(np.r_[u, v], minlength=n))])
        assert np.array_equal(neighbours, np.concatenate([v, u])[order])
        assert np.array_equal(contact, order % max(m, 1))
        for node in range(min(n, 20)):
            listed = neighbours[indptr[node] : indptr[node + 1]]
            expected = [v[i] for i in range(m) if u[i] == node] + [
                u[i] for i in range(m) if v[i] == node
            ]
            assert list(listed) == expected
