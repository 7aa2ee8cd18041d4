"""What a round of deals adds to the per-negotiator and per-step-and-strategy counters.

Both tables count, per side of a deal, one of a few *measures* (a deal, a
closed deal, a give, the cost given, the payoff, ...). `add_deals` adds a
round's deals to a table of counters, side a of every deal first, then side
b, each side's figures summed in deal order and then added to the running
totals: the floating-point sums come out exactly as a `numpy.bincount` per
counter and side would make them (results are pinned by golden runs). The
loop is compiled (numba): it runs once per round over every deal.
"""

from __future__ import annotations

import numba
import numpy as np

# What a side of a deal adds to a counter.
(
    NOTHING,  # not counted from deals (referrals sent and received are counted where made)
    DEAL,  # 1 per deal
    CLOSED,  # 1 per closed deal
    WALKED,  # 1 per deal that did not close (either side walked away)
    WALKED_AWAY,  # 1 per deal this side walked away from
    GIVES,  # items this side gave
    GIVING,  # 1 per deal in which this side gave something
    COST,  # the cost of what this side gave
    VALUE,  # the true value this side received
    PAYOFF,  # this side's payoff
    RECIPROCATED,  # 1 per closed deal in which both sides gave
    RENEGED,  # 1 per deal in which this side (the responder) reneged
    REFERRAL_DEAL,  # 1 per closed deal on a contact made by referral
    REFERRAL_PAYOFF,  # this side's payoff in such a deal
    REFERRAL_SURPLUS,  # this side's share of the base surplus in such a deal
) = range(15)

# Counters kept per negotiator over the whole run (the agents frame), and what each counts.
AGENT_COUNTERS: dict[str, int] = {
    "wealth": PAYOFF,
    "deals": DEAL,
    "closed": CLOSED,
    "walked": WALKED,
    "gives": GIVES,
    "cost_given": COST,
    "value_received": VALUE,
    "reneged": RENEGED,
    "gives_reciprocated": RECIPROCATED,
    "giving_deals": GIVING,
    "referral_surplus": REFERRAL_SURPLUS,
    "referrals_sent": NOTHING,
    "referrals_received": NOTHING,
    "referral_deals": REFERRAL_DEAL,
    "referral_payoff": REFERRAL_PAYOFF,
    "period_payoff": PAYOFF,
}

# Counters summed per step and strategy (the strategy frame), and what each counts.
STEP_COUNTERS: dict[str, int] = {
    "deals": DEAL,
    "closed": CLOSED,
    "walked": WALKED,
    "walked_away": WALKED_AWAY,
    "gives": GIVES,
    "giving_sides": GIVING,
    "cost_given": COST,
    "value_received": VALUE,
    "payoff": PAYOFF,
    "reciprocated": RECIPROCATED,
    "reneged": RENEGED,
    "referral_deals": REFERRAL_DEAL,
    "referral_payoff": REFERRAL_PAYOFF,
}


def measures(counters: dict[str, int]) -> np.ndarray:
    """The measure of each counter, in order, for `add_deals`."""
    return np.array(list(counters.values()), dtype=np.int64)


@numba.njit(cache=True)
def add_deals(
    totals, measure, who_a, who_b,
    give_a, give_b, walked, walked_a, walked_b, reneged, referral,
    cost_a, cost_b, value_a, value_b, payoff_a, payoff_b, half_surplus,
):  # fmt: skip
    """Add a round's deals to `totals` (counter x row), row `who_a[i]` for side a of deal i, `who_b[i]` for side b.

    `measure[c]` says what counter c counts. Per deal: the item masks each
    side gave, whether the deal did not close and whether each side walked away, whether the responder reneged,
    whether the deal closed on a referral contact, each side's cost given,
    true value received and payoff; `half_surplus` is S / 2.
    """
    scratch = np.zeros(totals.shape[1])
    weight = np.empty(len(who_a))
    for c in range(len(measure)):
        if measure[c] == NOTHING:
            continue
        for side in range(2):
            who = who_a if side == 0 else who_b
            _weights(
                measure[c], side, weight, give_a, give_b, walked, walked_a, walked_b, reneged,
                referral, cost_a, cost_b, value_a, value_b, payoff_a, payoff_b, half_surplus,
            )  # fmt: skip
            for i in range(len(who)):
                scratch[who[i]] += weight[i]
            # Each row's sum for this side, added once to the running total.
            for i in range(len(who)):
                totals[c, who[i]] += scratch[who[i]]
                scratch[who[i]] = 0.0


@numba.njit(cache=True)
def _weights(
    m, side, out, give_a, give_b, walked, walked_a, walked_b, reneged, referral,
    cost_a, cost_b, value_a, value_b, payoff_a, payoff_b, half_surplus,
):  # fmt: skip
    """What side `side` of each deal adds to a counter of measure `m`, into `out`."""
    mine, theirs = (give_a, give_b) if side == 0 else (give_b, give_a)
    walked_own = walked_a if side == 0 else walked_b
    cost = cost_a if side == 0 else cost_b
    value = value_a if side == 0 else value_b
    payoff = payoff_a if side == 0 else payoff_b
    for i in range(len(out)):
        if m == DEAL:
            out[i] = 1.0
        elif m == CLOSED:
            out[i] = 0.0 if walked[i] else 1.0
        elif m == WALKED:
            out[i] = 1.0 if walked[i] else 0.0
        elif m == WALKED_AWAY:
            out[i] = 1.0 if walked_own[i] else 0.0
        elif m == GIVES:
            count, mask = 0, mine[i]
            while mask:
                mask &= mask - 1
                count += 1
            out[i] = count
        elif m == GIVING:
            out[i] = 1.0 if mine[i] != 0 else 0.0
        elif m == COST:
            out[i] = cost[i]
        elif m == VALUE:
            out[i] = value[i]
        elif m == PAYOFF:
            out[i] = payoff[i]
        elif m == RECIPROCATED:
            out[i] = 1.0 if (not walked[i] and mine[i] != 0 and theirs[i] != 0) else 0.0
        elif m == RENEGED:
            out[i] = 1.0 if (side == 1 and reneged[i]) else 0.0
        elif m == REFERRAL_DEAL:
            out[i] = 1.0 if referral[i] else 0.0
        elif m == REFERRAL_PAYOFF:
            out[i] = payoff[i] * (1.0 if referral[i] else 0.0)
        else:  # REFERRAL_SURPLUS
            out[i] = (1.0 if referral[i] else 0.0) * half_surplus
