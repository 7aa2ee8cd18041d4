"""The model: accounting identities, determinism, walking away, reneging, precedent, over-giving."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from agents.strategy import Action, DealStrategy, mask_bits
from environments.model import ConcessionModel
from experiments.workers import SINGLE_THREAD_ENV
from tests.helpers.fresh import printed_in_fresh_process

SMALL = {"population": {"n": 60}, "network": {"kind": "barabasi_albert", "m": 2}}


def traced_run(steps: int = 15, **sections) -> tuple[ConcessionModel, pl.DataFrame]:
    """Run step by step, keeping every deal (the trace)."""
    model = ConcessionModel(**{**SMALL, **sections}, rng=7)
    deals = []
    for _ in range(steps):
        model.step()
        deals.append(model.last_deals())
    return model, pl.concat(deals)


@pytest.mark.parametrize("protocol", ["offer-response", "simultaneous"])
@pytest.mark.parametrize("matching", ["edges", "initiator"])
def test_every_cost_and_value_is_traced_to_one_give_and_wealth_sums_payoffs(protocol, matching):
    model, deals = traced_run(
        deal={"protocol": protocol, "matching": matching, "noise": 0.05, "deals_per_step": 2}
    )
    n, k = model.n, model.cost.shape[1]
    cost_given, value_received, wealth = np.zeros(n), np.zeros(n), np.zeros(n)
    for giver, receiver, give, pay in (
        ("initiator", "responder", "give_initiator", "payoff_initiator"),
        ("responder", "initiator", "give_responder", "payoff_responder"),
    ):
        g, r = deals[giver].to_numpy(), deals[receiver].to_numpy()
        bits = mask_bits(deals[give].to_numpy(), k)
        np.add.at(cost_given, g, (bits * model.cost[g]).sum(axis=1))
        np.add.at(value_received, r, (bits * model.value[r]).sum(axis=1))
        np.add.at(wealth, g, deals[pay].to_numpy())
    assert deals.height == model.steps_frame()["deals"].sum()
    assert np.allclose(cost_given, model.cost_given)
    assert np.allclose(value_received, model.value_received)
    assert np.allclose(wealth, model.wealth)
    # Payoff identity per negotiator: S/2 per closed deal + value - cost + BATNA per walked deal.
    s = model.config.deal.surplus
    expected = (
        s / 2 * model.closed + model.value_received - model.cost_given + model.batna * model.walked
    )
    assert np.allclose(model.wealth, expected)
    # Walked deals move nothing.
    walked = deals.filter(pl.col("outcome") == "walked away")
    assert (walked["give_initiator"] == 0).all() and (walked["give_responder"] == 0).all()


def test_same_config_and_seed_give_identical_frames():
    cfg = {
        **SMALL,
        "reputation": {"gossip_prob": 0.3, "referral_prob": 0.2},
        "deal": {"noise": 0.05},
    }
    runs = [ConcessionModel(cfg, rng=11).run(20) for _ in range(2)]
    for frame in ("steps_frame", "strategy_frame", "agents_frame"):
        assert_frame_equal(getattr(runs[0], frame)(), getattr(runs[1], frame)())
    other = ConcessionModel(cfg, rng=12).run(20)
    assert not other.agents_frame()["wealth"].equals(runs[0].agents_frame()["wealth"])


def test_results_do_not_depend_on_how_many_threads_numpy_and_polars_use():
    """The runs-table outcomes and the Gini coefficient, bit for bit, with 1 and 8 threads.

    A sweep's workers run with one thread each, a user's own script with as
    many as the machine has: a polars group_by or a BLAS dot product would
    add up partial sums per thread and change the last bits.
    """
    one, eight = (
        printed_in_fresh_process("threads_run.py", dict.fromkeys(SINGLE_THREAD_ENV, threads))
        for threads in ("1", "8")
    )
    assert [k for k in one if one[k] != eight[k]] == []


def two(a: str, b: str, steps: int = 10, **sections) -> ConcessionModel:
    mix = {a: 0.5, b: 0.5}
    base = {
        "population": {"n": 2, "mix": mix},
        "network": {"kind": "complete"},
        "items": {"explicit": [{"cost": 1.0, "value": 3.0}]},
        "deal": {"recognition": 1.0, "batna": {"low": 0.0, "high": 0.0}, "continuation": 1.0},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return ConcessionModel(base, rng=3).run(steps)


def row(model: ConcessionModel, strategy: str) -> dict:
    return model.agents_frame().filter(pl.col("strategy") == strategy).row(0, named=True)


def test_a_strong_batna_makes_negotiators_walk_away_and_both_get_their_batna():
    model = two(
        "reciprocal", "strategic", deal={"batna": {"low": 1.5, "high": 1.5}, "surplus": 2.0}
    )
    for s in ("reciprocal", "strategic"):
        r = row(model, s)
        assert r["walked"] == r["deals"] == 10
        assert r["wealth"] == pytest.approx(10 * 1.5)


def test_a_weak_batna_keeps_them_dealing():
    model = two(
        "reciprocal", "strategic", deal={"batna": {"low": 0.2, "high": 0.2}, "surplus": 2.0}
    )
    assert row(model, "reciprocal")["walked"] == 0


def test_an_exploiter_reneges_on_a_conditional_trade_and_the_giver_walks_away_after():
    class Trader(DealStrategy):
        """Always offers item 0 conditional on item 0 back; walks from a partner who reneged."""

        def decide(self, deal):
            if deal.role == "open":
                return Action(
                    give=(0,), ask=(0,), conditional=True, walk=bool(deal.memory["reneged"])
                )
            return Action()

    import sys
    import types

    mod = types.ModuleType("trader_mod")
    mod.Trader = Trader
    sys.modules["trader_mod"] = mod
    model = ConcessionModel(
        population={"n": 2, "mix": {"trader_mod:Trader": 0.5, "exploitative": 0.5}},
        network={"kind": "complete"},
        items={"explicit": [{"cost": 1.0, "value": 3.0}]},
        deal={"batna": {"low": 0.0, "high": 0.0}, "continuation": 1.0},
        strategies={"exploitative": {"renege_prob": 1.0}},
        rng=1,
    ).run(6)
    exploiter, trader = row(model, "exploitative"), row(model, "trader_mod:Trader")
    assert exploiter["reneged"] >= 1
    assert exploiter["gives"] == 0  # it took the item and kept its own
    assert trader["cost_given"] == pytest.approx(exploiter["value_received"] / 3.0)
    # After the first renege the trader walks away whenever it opens.
    assert trader["walked"] >= 1


def expectation_of(model: ConcessionModel, holder: str) -> float:
    rel = model.relationships
    idx = int(np.flatnonzero(model.strategy == model.strategy_names.index(holder))[0])
    side = 0 if rel.u[0] == idx else 1
    return float(rel.expectation[0, side])


def test_precedent_expectation_follows_what_was_received_and_one_time_framing_moves_it_less():
    eta, t, b = 0.3, 6, 3.0
    # A naive giver (never frames) against a holdout: the holdout's expectation
    # of it is an exponential average of what it received.
    plain = two(
        "naive",
        "holdout",
        steps=t,
        behaviour={"expectation_rate": eta},
        deal={"protocol": "simultaneous"},
    )
    assert expectation_of(plain, "holdout") == pytest.approx(b * (1 - (1 - eta) ** t))

    class OneTimeGiver(DealStrategy):
        def decide(self, deal):
            return Action(give=(0,), framed=True, one_time=True)

    import sys
    import types

    mod = types.ModuleType("onetime_mod")
    mod.OneTimeGiver = OneTimeGiver
    sys.modules["onetime_mod"] = mod
    w = 0.25
    framed = two(
        "onetime_mod:OneTimeGiver",
        "holdout",
        steps=t,
        behaviour={"expectation_rate": eta, "exception_weight": w},
        deal={"protocol": "simultaneous"},
    )
    assert expectation_of(framed, "holdout") == pytest.approx(b * (1 - (1 - eta * w) ** t))


def demand_of(model: ConcessionModel, holder: str) -> float:
    rel = model.relationships
    idx = int(np.flatnonzero(model.strategy == model.strategy_names.index(holder))[0])
    return float(rel.demand[0, 0 if rel.u[0] == idx else 1])


def test_over_giving_raises_the_receivers_demand():
    beh = {"desperation_threshold": 2, "weakness_sensitivity": 0.0}
    deal = {"protocol": "simultaneous"}
    items = {"explicit": [{"cost": 1.0, "value": 3.0}] * 3}
    # Three items a deal (> 2): every deal signals desperation.
    many = two(
        "naive",
        "holdout",
        steps=5,
        behaviour=beh,
        deal=deal,
        items=items,
        strategies={"naive": {"gives_per_deal": 3}},
    )
    assert demand_of(many, "holdout") == pytest.approx(5)
    # One item a deal: desperation once the unreturned run exceeds 2 (deals 3, 4, 5).
    run = two("naive", "holdout", steps=5, behaviour=beh, deal=deal, items=items)
    assert demand_of(run, "holdout") == pytest.approx(3)
    # Reciprocated gives never signal desperation.
    fair = two("naive", "reciprocal", steps=5, behaviour=beh, deal=deal, items=items)
    assert demand_of(fair, "reciprocal") == 0


def test_a_gift_to_an_exploiter_is_read_as_weakness_and_escalates_its_demand():
    model = two("naive", "exploitative", steps=4, behaviour={"desperation_threshold": 10})
    assert demand_of(model, "exploitative") == pytest.approx(4)


def test_strong_batna_receivers_read_gifts_as_weakness_and_return_less():
    def reciprocation(batna: float) -> float:
        m = ConcessionModel(
            population={"n": 200, "mix": {"naive": 0.5, "reciprocal": 0.5}},
            deal={"batna": {"low": batna, "high": batna}, "surplus": 4.0},
            behaviour={"weakness_sensitivity": 1.0},
            rng=5,
        ).run(10)
        return m.totals_by_strategy().filter(pl.col("strategy") == "naive")["reciprocation_rate"][0]

    assert reciprocation(1.8) < reciprocation(0.0) - 0.2


def test_reciprocation_rate_counts_deals_not_items():
    model = two(
        "naive",
        "reciprocal",
        steps=5,
        deal={"protocol": "simultaneous"},
        items={"explicit": [{"cost": 1.0, "value": 3.0}] * 2},
        strategies={"naive": {"gives_per_deal": 2}},
    )
    totals = model.totals_by_strategy()
    assert totals.filter(pl.col("strategy") == "naive")["reciprocation_rate"][0] == 1.0
