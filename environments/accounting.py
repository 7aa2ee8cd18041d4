"""What a round of deals adds to the per-negotiator and per-step-and-strategy counters.

Both tables count, per side of a deal, one of a few *measures* (a deal, a
closed deal, a give, the cost given, the payoff, ...). `add_deals` adds a
round's deals to a table of counters, side a of every deal first, then side
b, each side's figures summed per row in deal order and then added once to
the running totals: the floating-point sums come out exactly as a
`numpy.bincount` per counter and side would make them (results are pinned by
golden runs). The loop is compiled (numba): it runs once per round over
every deal.
"""

from __future__ import annotations

import numpy as np

from environments.compiled import compiled
from environments.relationships import popcount

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
MEASURES = 15  # the number of measures: a scratch table's width

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


@compiled
def add_deals(
    totals, scratch, measure, who_a, who_b,
    give_a, give_b, walked, walked_a, walked_b, reneged, referral,
    cost_a, cost_b, value_a, value_b, payoff_a, payoff_b, half_surplus,
):  # fmt: skip
    """Add a round's deals to `totals` (row x counter): row `who_a[i]` for side a of deal i, `who_b[i]` for side b.

    `measure[c]` says what counter c counts. Per deal: the item masks each
    side gave, whether the deal did not close, whether each side walked
    away, whether the responder reneged, whether the deal closed on a
    referral contact, each side's cost given, true value received and
    payoff; `half_surplus` is S / 2. `scratch` is zeros shaped (rows,
    `MEASURES`), and is left so.
    """
    counters = len(measure)
    touched = np.empty(len(who_a), np.int64)  # rows with deals on this side, each once
    for side in range(2):
        who = who_a if side == 0 else who_b
        mine, theirs = (give_a, give_b) if side == 0 else (give_b, give_a)
        walked_own = walked_a if side == 0 else walked_b
        cost = cost_a if side == 0 else cost_b
        value = value_a if side == 0 else value_b
        payoff = payoff_a if side == 0 else payoff_b
        # Each measure summed per row in deal order (scratch is by measure, not by counter, so
        # each add goes to a fixed place: no lookup per counter and deal).
        n_touched = 0
        for i in range(len(who)):
            r = who[i]
            touched[n_touched] = r
            n_touched += scratch[r, DEAL] == 0.0  # kept only at a row's first deal on this side
            closed, gave, got = not walked[i], mine[i] != 0, theirs[i] != 0
            on_referral = 1.0 if referral[i] else 0.0
            scratch[r, DEAL] += 1.0
            scratch[r, CLOSED] += 1.0 if closed else 0.0
            scratch[r, WALKED] += 0.0 if closed else 1.0
            scratch[r, WALKED_AWAY] += 1.0 if walked_own[i] else 0.0
            scratch[r, GIVES] += popcount(mine[i])
            scratch[r, GIVING] += 1.0 if gave else 0.0
            scratch[r, COST] += cost[i]
            scratch[r, VALUE] += value[i]
            scratch[r, PAYOFF] += payoff[i]
            scratch[r, RECIPROCATED] += 1.0 if (closed and gave and got) else 0.0
            scratch[r, RENEGED] += 1.0 if (side == 1 and reneged[i]) else 0.0
            scratch[r, REFERRAL_DEAL] += on_referral
            scratch[r, REFERRAL_PAYOFF] += payoff[i] * on_referral
            scratch[r, REFERRAL_SURPLUS] += on_referral * half_surplus
        # Each touched row's sums for this side, added once to its running totals.
        for j in range(n_touched):
            r = touched[j]
            for c in range(counters):
                totals[r, c] += scratch[r, measure[c]]
            for m in range(MEASURES):
                scratch[r, m] = 0.0
