"""The compiled item choices (agents/items.py) against the numpy forms they replaced, bit for bit.

The numpy forms below are the batch helpers `DealView` used before the
choices were compiled; results pinned by the golden runs were made with them.
Costs and values are drawn both continuous and as small integers (so that
ratios tie and zero costs occur), for item counts on both sides of numpy's
8-term switch to pairwise sums.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents import items

ITEM_COUNTS = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 32]


# ------------------------------------------------------------------ the numpy forms


def np_bits(mask, k):
    return (np.asarray(mask, dtype=np.int64)[:, None] >> np.arange(k, dtype=np.int64)) & 1 == 1


def np_to_mask(bits):
    weights = np.left_shift(np.int64(1), np.arange(bits.shape[1], dtype=np.int64))
    return (bits.astype(np.int64) * weights).sum(axis=1).astype(np.int64)


def np_total(mask, per_item):
    return (np_bits(mask, per_item.shape[1]) * per_item).sum(axis=1)


def np_order(cost_me, value_partner):
    ratio = value_partner / np.maximum(cost_me, 1e-12)
    return np.argsort(-ratio, axis=1, kind="stable")


def np_best_gives(count, cost_me, value_partner):
    k = cost_me.shape[1]
    if k == 1:
        return (count > 0).astype(np.int64)
    order = np_order(cost_me, value_partner)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(k)[None, :], axis=1)
    return np_to_mask(ranks < count[:, None])


def np_gives_matching(target, cost_me, value_partner):
    if cost_me.shape[1] == 1:
        return (target > 0).astype(np.int64)
    order = np_order(cost_me, value_partner)
    vals = np.take_along_axis(value_partner, order, axis=1)
    before = np.cumsum(vals, axis=1) - vals
    take_sorted = (before < target[:, None]) & (target[:, None] > 0)
    chosen = np.zeros_like(take_sorted)
    np.put_along_axis(chosen, order, take_sorted, axis=1)
    return np_to_mask(chosen)


# ------------------------------------------------------------------ draws


def draw(k: int, integers: bool, d: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed + 100 * k + integers)
    if integers:
        cost = rng.integers(0, 4, (d, k)).astype(float)
        value = rng.integers(0, 6, (d, k)).astype(float)
    else:
        cost = rng.gamma(2.0, 1.0, (d, k)) * 10 ** rng.uniform(-2, 2, (d, k))
        value = rng.gamma(2.0, 3.0, (d, k)) * 10 ** rng.uniform(-2, 2, (d, k))
    mask = rng.integers(0, 1 << k, d, dtype=np.int64)
    target = np.where(rng.random(d) < 0.1, 0.0, rng.uniform(-1, 1.5, d) * value.sum(axis=1))
    count = rng.integers(0, k + 2, d)
    return cost, value, mask, target, count


@pytest.fixture(params=[(k, i) for k in ITEM_COUNTS for i in (False, True)], ids=str)
def deals(request):
    return draw(*request.param)


# ------------------------------------------------------------------ checks


def test_totals_are_numpys_row_sums(deals):
    cost, value, mask, _, _ = deals
    for per_item in (cost, value, -value):
        assert np.array_equal(items.totals(mask, per_item), np_total(mask, per_item))


def test_best_gives_rank_as_a_stable_sort(deals):
    cost, value, _, _, count = deals
    assert np.array_equal(items.best_gives(count, cost, value), np_best_gives(count, cost, value))
    one = np.ones(len(cost), dtype=np.int64)
    assert np.array_equal(items.best_gives(one, cost, value), np_best_gives(one, cost, value))


def test_gives_matching_takes_the_same_items(deals):
    cost, value, _, target, _ = deals
    got = items.gives_matching(target, cost, value)
    assert np.array_equal(got, np_gives_matching(target, cost, value))


def test_cheapest_and_best_ask_are_argmin_and_argmax(deals):
    cost, value, _, _, _ = deals
    cheapest = np.left_shift(np.int64(1), np.argmin(cost, axis=1))
    assert np.array_equal(items.cheapest(cost), cheapest)
    ratio = value / np.maximum(cost, 1e-12)
    ask, ask_ratio = items.best_asks(value, cost)
    k = np.argmax(ratio, axis=1)
    assert np.array_equal(ask, np.left_shift(np.int64(1), k))
    assert np.array_equal(ask_ratio, ratio[np.arange(len(cost)), k])


def test_a_matching_give_reaches_its_target():
    # What the choice means, apart from how numpy made it: the items taken
    # reach the target, and dropping the last-ranked one would not.
    cost, value, _, target, _ = draw(5, False, d=500, seed=7)
    got = items.gives_matching(target, cost, value)
    given = items.totals(got, value)
    positive = target > 0
    assert (got[~positive] == 0).all()
    reachable = positive & (value.sum(axis=1) >= target)
    assert (given[reachable] >= target[reachable]).all()
