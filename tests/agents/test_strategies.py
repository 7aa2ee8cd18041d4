"""Each built-in strategy in small fixed situations: the decision it takes."""

from __future__ import annotations

import numpy as np
import pytest

from agents.strategies import Exploitative, Holdout, Naive, Reciprocal, Strategic, Transactional
from agents.strategy import DealView, mask_count

# Two items: item 0 costs the giver 1 and is worth 4 to the partner (ratio 4);
# item 1 costs 2 and is worth 3 (ratio 1.5). Item 0 is the best give and, for
# the partner, item 0 is the best ask.
COST = [1.0, 2.0]
VALUE = [4.0, 3.0]


def view(d: int = 1, **over) -> DealView:
    """A batch of identical deals, with fields overridden by keyword."""
    base = dict(
        me=np.arange(d),
        partner=np.arange(d) + d,
        rng=np.random.default_rng(0),
        surplus=2.0,
        continuation=0.9,
        recognition=1.0,
        initial_belief=0.5,
        cost_me=np.tile(COST, (d, 1)),
        value_me=np.tile(VALUE, (d, 1)),
        cost_partner=np.tile(COST, (d, 1)),
        value_partner=np.tile(VALUE, (d, 1)),
        batna_me=np.zeros(d),
        met=np.zeros(d, bool),
        last_received=np.zeros(d),
        received_total=np.zeros(d),
        streak=np.zeros(d, np.int32),
        partner_streak=np.zeros(d, np.int32),
        idle=np.zeros(d, np.int32),
        expectation=np.zeros(d),
        demand=np.zeros(d),
        belief=np.full(d, 0.5),
        reneged=np.zeros(d, bool),
        heard=np.zeros(d, bool),
    )
    for key, value in over.items():
        base[key] = (
            np.broadcast_to(value, np.shape(base[key]) if key in base else (d,)).copy()
            if key not in ("rng", "surplus", "continuation", "recognition")
            else value
        )
    return DealView(**base)


def offer(give=0, conditional=False, ask=0, perceived=None, weak=False, **over) -> DealView:
    """A responder's view of an opening."""
    v = view(**over)
    v.offer_give = np.array([give], np.int64)
    v.offer_conditional = np.array([conditional])
    v.offer_ask = np.array([ask], np.int64)
    v.offer_framed = np.array([True])
    v.offer_perceived = np.array(
        [float(VALUE[0] if give and perceived is None else perceived or 0.0)]
    )
    v.reads_weakness = np.array([weak])
    return v


GIVER = dict(met=True, last_received=4.0, belief=1.0)  # a partner who gave last time
HOLDOUT = dict(met=True, last_received=0.0, belief=0.0, streak=1)  # took my give, returned nothing
EXPLOITER = dict(met=True, last_received=0.0, belief=0.0, reneged=True)


class TestReciprocal:
    def test_gives_first_to_a_new_partner(self):
        assert Reciprocal().open(view()).give[0] == 0b01  # the best-ratio item

    def test_matches_a_giver(self):
        assert Reciprocal().open(view(**GIVER)).give[0] != 0

    def test_gives_nothing_after_a_holdout_gave_nothing(self):
        assert Reciprocal().open(view(**HOLDOUT)).give[0] == 0

    def test_generosity_forgives(self):
        assert Reciprocal({"generosity": 1.0}).open(view(**HOLDOUT)).give[0] != 0

    def test_matches_perceived_value_not_item_count(self):
        # The partner gave 7 in perceived value: one item (4) is not enough, both (7) are.
        out = Reciprocal().open(view(met=True, last_received=7.0))
        assert out.give[0] == 0b11
        # A raised demand discounts the match: 7 / (1 + 1) = 3.5 needs one item.
        assert Reciprocal().open(view(met=True, last_received=7.0, demand=1.0)).give[0] == 0b01

    def test_discriminating_gives_first_only_in_good_standing(self):
        strat = Reciprocal({"discriminating": True})
        assert strat.open(view(belief=0.2)).give[0] == 0
        assert strat.open(view(belief=0.8)).give[0] != 0

    def test_reciprocates_a_gift_unless_read_as_weakness(self):
        assert Reciprocal().respond(offer(give=1)).give[0] != 0
        assert Reciprocal().respond(offer(give=1, weak=True)).give[0] == 0
        assert Reciprocal().respond(offer(give=0)).give[0] == 0

    def test_accepts_a_fair_trade_from_a_partner_in_good_standing(self):
        # offered item 0 (worth 4 to me) for my item 0 (costs me 1): fair.
        assert Reciprocal().respond(offer(give=1, conditional=True, ask=1)).accept[0]
        assert not Reciprocal().respond(offer(give=1, conditional=True, ask=1, **HOLDOUT)).accept[0]

    def test_walks_when_the_deal_pays_less_than_its_batna(self):
        assert Reciprocal().open(view(batna_me=1.5)).walk[0]  # S/2 = 1 < 1.5
        assert not Reciprocal().open(view(batna_me=0.5)).walk[0]


class TestTransactional:
    def test_never_gives_unconditionally(self):
        out = Transactional().open(view())
        assert out.give[0] == 0 or out.conditional[0]

    def test_offers_a_trade_that_pays_it(self):
        out = Transactional().open(view())
        assert out.conditional[0] and out.give[0] == 0b01 and out.ask[0] == 0b01

    def test_accepts_a_trade_when_it_gets_more_than_it_gives(self):
        assert Transactional().respond(offer(give=1, conditional=True, ask=1)).accept[0]
        # asked for item 1 (costs 2) against a gift perceived at 1: refuses.
        assert (
            not Transactional()
            .respond(offer(give=1, conditional=True, ask=2, perceived=1.0))
            .accept[0]
        )

    def test_takes_gifts_without_returning_them(self):
        assert Transactional().respond(offer(give=1)).give[0] == 0


class TestExploitative:
    def test_never_gives(self):
        assert Exploitative().open(view(**GIVER)).give[0] == 0
        assert Exploitative().respond(offer(give=1)).give[0] == 0

    def test_reneges_on_trades(self):
        always = Exploitative({"renege_prob": 1.0}).respond(offer(give=1, conditional=True, ask=1))
        assert always.accept[0] and always.renege[0]
        never = Exploitative({"renege_prob": 0.0}).respond(offer(give=1, conditional=True, ask=1))
        assert never.accept[0] and not never.renege[0]

    def test_reneges_more_as_demand_escalates(self):
        strat = Exploitative({"renege_prob": 0.2})
        low = np.mean(
            [
                strat.respond(
                    offer(give=1, conditional=True, ask=1, rng=np.random.default_rng(i))
                ).renege[0]
                for i in range(400)
            ]
        )
        high = np.mean(
            [
                strat.respond(
                    offer(give=1, conditional=True, ask=1, demand=5.0, rng=np.random.default_rng(i))
                ).renege[0]
                for i in range(400)
            ]
        )
        assert high > low + 0.3

    def test_walks_when_the_gifts_stop(self):
        assert Exploitative().open(view(met=True, expectation=3.0, last_received=0.0)).walk[0]
        assert not Exploitative().open(view(met=True, expectation=3.0, last_received=3.0)).walk[0]


class TestStrategic:
    def test_gives_best_ratio_item_framed_to_a_known_good_partner(self):
        out = Strategic().open(view(**GIVER))
        assert out.give[0] == 0b01 and out.framed[0] and out.one_time[0] and not out.conditional[0]

    def test_tests_a_stranger_with_its_cheapest_item(self):
        v = view(cost_me=[2.0, 0.5], value_partner=[8.0, 1.5])  # best ratio item 0, cheapest item 1
        assert Strategic().open(v).give[0] == 0b10

    def test_stops_after_patience_unreturned_gives(self):
        strat = Strategic({"patience": 2, "pause": 0})
        assert strat.open(view(met=True, streak=1, idle=1, belief=0.6)).give[0] != 0
        assert strat.open(view(met=True, streak=2, idle=1, belief=0.6)).give[0] == 0

    def test_pauses_after_an_unreturned_give(self):
        # idle counts the deals since its last give: 0 on the deal right after it.
        strat = Strategic({"pause": 1, "patience": 5})
        assert strat.open(view(met=True, streak=1, idle=0, belief=0.6)).give[0] == 0
        assert strat.open(view(met=True, streak=1, idle=1, belief=0.6)).give[0] != 0
        no_pause = Strategic({"pause": 0, "patience": 5})
        assert no_pause.open(view(met=True, streak=1, idle=0, belief=0.6)).give[0] != 0

    def test_asks_only_after_its_own_give_went_unreturned(self):
        strat = Strategic({"pause": 0})
        assert not strat.open(view(met=True, streak=0, last_received=0.0, belief=0.6)).conditional[
            0
        ]

    def test_frames_its_answers(self):
        out = Strategic().respond(offer(give=1, **GIVER))
        assert out.framed[0] and out.one_time[0]

    def test_asks_for_a_return_after_an_unreturned_give(self):
        out = Strategic({"pause": 0, "patience": 5}).open(
            view(met=True, streak=1, idle=1, belief=0.6)
        )
        assert out.conditional[0] and out.ask[0] != 0

    def test_checklist_failing_means_no_give(self):
        # one-off market, low ratio, no ask, unknown partner with low belief: 1 point (frames) < 3
        v = view(
            continuation=0.0, value_partner=[1.0, 1.0], value_me=[1.0, 1.0], belief=0.2, met=True
        )
        assert Strategic().checklist(v)[0] == 1
        assert Strategic().open(v).give[0] == 0

    def test_walks_away_from_a_reneger(self):
        assert Strategic().open(view(**EXPLOITER)).walk[0]

    def test_reciprocates_a_gift(self):
        assert Strategic().respond(offer(give=1, **GIVER)).give[0] != 0


class TestNaiveAndHoldout:
    def test_naive_gives_every_deal_and_never_walks(self):
        v = view(**HOLDOUT, batna_me=10.0)
        out = Naive().open(v)
        assert out.give[0] != 0 and not out.walk[0] and not out.framed[0]
        assert Naive({"gives_per_deal": 2}).open(v).give[0] == 0b11
        r = Naive().respond(offer(give=0, conditional=True, ask=1))
        assert r.accept[0] and not r.renege[0] and r.give[0] != 0

    def test_holdout_never_gives_nor_walks(self):
        v = view(**GIVER, batna_me=10.0)
        assert Holdout().open(v).give[0] == 0 and not Holdout().open(v).walk[0]
        r = Holdout().respond(offer(give=1, conditional=True, ask=1))
        assert r.give[0] == 0 and not r.accept[0] and not r.walk[0]


@pytest.mark.parametrize(
    "cls", [Reciprocal, Transactional, Exploitative, Strategic, Naive, Holdout]
)
def test_batch_decisions_are_arrays_of_the_batch_length(cls):
    v = view(d=5)
    out = cls().open(v)
    assert all(len(getattr(out, f)) == 5 for f in vars(out))
    assert (mask_count(out.give) <= 2).all()
