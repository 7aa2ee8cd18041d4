"""The compiled accounting adds a round's deals exactly as numpy's bincount per counter and side would."""

from __future__ import annotations

import numpy as np
import pytest

from environments import accounting as acc


def reference(totals, measure, who_a, who_b, deals, half_surplus):
    """The plain numpy form: per side, one `np.bincount` per counter, added to the totals."""
    give_a, give_b, walked, walked_a, walked_b, reneged, referral = deals[:7]
    cost_a, cost_b, value_a, value_b, payoff_a, payoff_b = deals[7:]
    out = totals.copy()
    closed = ~walked
    for side in range(2):
        who = who_a if side == 0 else who_b
        mine, theirs = (give_a, give_b) if side == 0 else (give_b, give_a)
        payoff = payoff_a if side == 0 else payoff_b
        on_referral = referral.astype(np.float64)
        adds = {
            acc.NOTHING: np.zeros(len(who)),
            acc.DEAL: np.ones(len(who)),
            acc.CLOSED: closed.astype(np.float64),
            acc.WALKED: walked.astype(np.float64),
            acc.WALKED_AWAY: (walked_a if side == 0 else walked_b).astype(np.float64),
            acc.GIVES: np.array([bin(int(m)).count("1") for m in mine], np.float64),
            acc.GIVING: (mine != 0).astype(np.float64),
            acc.COST: cost_a if side == 0 else cost_b,
            acc.VALUE: value_a if side == 0 else value_b,
            acc.PAYOFF: payoff,
            acc.RECIPROCATED: (closed & (mine != 0) & (theirs != 0)).astype(np.float64),
            acc.RENEGED: (reneged & (side == 1)).astype(np.float64),
            acc.REFERRAL_DEAL: on_referral,
            acc.REFERRAL_PAYOFF: payoff * on_referral,
            acc.REFERRAL_SURPLUS: on_referral * half_surplus,
        }
        for c, m in enumerate(measure):
            out[:, c] += np.bincount(who, weights=adds[int(m)], minlength=len(totals))
    return out


@pytest.mark.parametrize("table", ["agents", "steps"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_add_deals_matches_bincount_bit_for_bit(table, seed):
    rng = np.random.default_rng(seed)
    counters = acc.AGENT_COUNTERS if table == "agents" else acc.STEP_COUNTERS
    rows = 50 if table == "agents" else 4  # few rows: each appears in many deals on each side
    d = 400
    who_a, who_b = rng.integers(0, rows, d), rng.integers(0, rows, d)
    k = 5
    deals = (
        rng.integers(0, 2**k, d) * (rng.random(d) < 0.7),
        rng.integers(0, 2**k, d) * (rng.random(d) < 0.7),
        rng.random(d) < 0.2,
        rng.random(d) < 0.1,
        rng.random(d) < 0.1,
        rng.random(d) < 0.1,
        rng.random(d) < 0.3,
        *(rng.normal(size=d) * 10.0 ** rng.integers(-3, 4, d) for _ in range(6)),
    )
    measure = acc.measures(counters)
    totals = rng.normal(size=(rows, len(counters))) * 100.0  # running totals from earlier rounds
    expected = reference(totals, measure, who_a, who_b, deals, 0.75)
    scratch = np.zeros((rows, acc.MEASURES))
    acc.add_deals(totals, scratch, measure, who_a, who_b, *deals, 0.75)
    assert np.array_equal(totals.view(np.int64), expected.view(np.int64))
    assert not scratch.any()  # left as zeros for the next round
