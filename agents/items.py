"""Choosing items and adding them up, one deal at a time, compiled (numba).

Items are bitmasks (bit k set = item k). Each `*_of` function here decides
for one deal from that deal's rows (`cost_me[d]`, `value_partner[d]`, ...):
the built-in strategies call them inside their own compiled loops, and
`DealView`'s batch helpers call them through the loops at the end of this
module, so a choice is made by the same code wherever it is made.

The arithmetic is numpy's, to the last bit: a give's ratio is
`value / max(cost, 1e-12)`; items are ranked best ratio first, equal ratios
in item order (a stable sort); running totals are `np.cumsum`'s; the total of
a set of items is the sum `np.sum` makes of a row (one after another below 8
terms, numpy's pairwise scheme from 8 on). tests/agents/test_items.py keeps
the numpy forms these replaced and checks every function against them.
"""

from __future__ import annotations

import numpy as np

from environments.compiled import compiled, inlined

TINY_COST = 1e-12  # a free item's cost in a ratio, so that the ratio stays finite


@inlined
def best_of(num: np.ndarray, den: np.ndarray) -> tuple[int, float]:
    """The item with the highest `num / den` ratio (the first of equals), and that ratio."""
    best, top = 0, num[0] / max(den[0], TINY_COST)
    for k in range(1, len(num)):
        ratio = num[k] / max(den[k], TINY_COST)
        if ratio > top:
            best, top = k, ratio
    return best, top


@inlined
def next_best_of(num: np.ndarray, den: np.ndarray, taken: int) -> int:
    """The best-ratio item not in the mask `taken`: item after item, the order of a stable sort."""
    best, top = -1, 0.0
    for k in range(len(num)):
        if (taken >> k) & 1:
            continue
        ratio = num[k] / max(den[k], TINY_COST)
        if best < 0 or ratio > top:
            best, top = k, ratio
    return best


@inlined
def best_gives_of(count: int, cost_me: np.ndarray, value_partner: np.ndarray) -> int:
    """The `count` items with the best partner-value / own-cost ratio."""
    if count <= 0:
        return 0
    if len(cost_me) == 1:
        return 1
    if count == 1:
        return 1 << best_of(value_partner, cost_me)[0]
    mask = 0
    for _ in range(min(count, len(cost_me))):
        mask |= 1 << next_best_of(value_partner, cost_me, mask)
    return mask


@inlined
def gives_matching_of(target: float, cost_me: np.ndarray, value_partner: np.ndarray) -> int:
    """The fewest best-ratio items whose value to the partner reaches `target` (none if target <= 0).

    Items are taken best ratio first while the value of those taken before
    stays below the target (computed as numpy's `cumsum - value`).
    """
    if not target > 0:
        return 0
    if len(cost_me) == 1:
        return 1
    taken, mask, running = 0, 0, 0.0
    for i in range(len(cost_me)):
        k = next_best_of(value_partner, cost_me, taken)
        taken |= 1 << k
        value = value_partner[k]
        running = value if i == 0 else running + value
        if running - value < target:
            mask |= 1 << k
    return mask


@inlined
def cheapest_of(cost_me: np.ndarray) -> int:
    """The single item that costs me least (the first of equals): a small test give."""
    best = 0
    for k in range(1, len(cost_me)):
        if cost_me[k] < cost_me[best]:
            best = k
    return 1 << best


@inlined
def _term(per_item: np.ndarray, mask: int, k: int) -> float:
    """Item k's term of a total: the item times 0 outside the mask, as numpy's term is
    (and a product, unlike a branch on random bits, is never mispredicted)."""
    return per_item[k] * ((mask >> k) & 1)


@inlined
def total_of(mask: int, per_item: np.ndarray) -> float:
    """The sum of `per_item[k]` over the items k in `mask`, added as `np.sum` adds a row."""
    k_items = len(per_item)
    if k_items < 8:  # numpy adds fewer than 8 terms one after another
        total = _term(per_item, mask, 0)
        for k in range(1, k_items):
            total += _term(per_item, mask, k)
        return total
    # numpy's pairwise sum (K <= 32 < its 128-term block): eight running
    # sums over the terms in strides of eight, combined as a tree, then the
    # remainder one after another.
    whole = k_items - k_items % 8
    acc = np.zeros(8)
    for k in range(whole):
        acc[k % 8] += _term(per_item, mask, k)
    total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    for k in range(whole, k_items):
        total += _term(per_item, mask, k)
    return total


# ---------------------------------------------------------------- over a batch of deals


@compiled
def totals(mask: np.ndarray, per_item: np.ndarray) -> np.ndarray:
    """`total_of` for every deal: row d of `per_item` over the items of `mask[d]`."""
    out = np.empty(len(mask))
    for d in range(len(mask)):
        out[d] = total_of(mask[d], per_item[d])
    return out


@compiled
def best_gives(count: np.ndarray, cost_me: np.ndarray, value_partner: np.ndarray) -> np.ndarray:
    """`best_gives_of` for every deal."""
    out = np.empty(len(count), dtype=np.int64)
    for d in range(len(count)):
        out[d] = best_gives_of(count[d], cost_me[d], value_partner[d])
    return out


@compiled
def gives_matching(
    target: np.ndarray, cost_me: np.ndarray, value_partner: np.ndarray
) -> np.ndarray:
    """`gives_matching_of` for every deal."""
    out = np.empty(len(target), dtype=np.int64)
    for d in range(len(target)):
        out[d] = gives_matching_of(target[d], cost_me[d], value_partner[d])
    return out


@compiled
def cheapest(cost_me: np.ndarray) -> np.ndarray:
    """`cheapest_of` for every deal."""
    out = np.empty(len(cost_me), dtype=np.int64)
    for d in range(len(cost_me)):
        out[d] = cheapest_of(cost_me[d])
    return out


@compiled
def best_asks(value_me: np.ndarray, cost_partner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per deal, the single item to ask for (best value to me per unit of the partner's cost), and that ratio."""
    ask = np.empty(len(value_me), dtype=np.int64)
    ratio = np.empty(len(value_me))
    for d in range(len(value_me)):
        k, ratio[d] = best_of(value_me[d], cost_partner[d])
        ask[d] = 1 << k
    return ask, ratio
