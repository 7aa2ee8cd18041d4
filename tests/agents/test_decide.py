"""The round's compiled loop (agents/decide.py) decides exactly as the strategies' batch methods.

Each model is run twice with the same seed: as built (built-in strategies
decide in `decide.open_all` / `respond_all`) and with every strategy asked
through its views (`Rules.kind` all `ASKED`, the general path). Every table
must be identical, bit for bit, and so must the generator's state: the same
rules and the same draws in the same order.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents import decide
from agents.strategies import Exploitative, Reciprocal
from environments.model import ConcessionModel

NOISY = {"noise": 0.05, "perception_noise": 0.07, "batna": {"low": 0.0, "high": 0.6}}
# Every parameter of the rules away from its default at least once.
PARAMS = (
    {},
    {
        "reciprocal": {"generosity": 0.3, "discriminating": True, "standing": 0.45, "frames": True},
        "naive": {"gives_per_deal": 2},
        "transactional": {"min_gain": 1.5, "offers_trades": False},
        "strategic": {"checklist_min": 2, "one_time": False, "tests_unknown": False, "pause": 0},
        "exploitative": {"renege_prob": 0.8, "walk_tolerance": 0.3},
    },
    {
        "reciprocal": {"generosity": 0.1, "walks": False},
        "transactional": {"walks": False, "min_gain": 0.5},
        "strategic": {
            "conditional": False,
            "frames": False,
            "walks": False,
            "trust": 0.3,
            "patience": 4,
            "ratio_min": 1.5,
            "repeat_min": 0.97,
            "avoid_below": 0.3,
        },
        "naive": {"gives_per_deal": 5},
    },
)


def config(params: dict, protocol: str, items: int) -> dict:
    return {
        "population": {"n": 200},
        "strategies": params,
        "items": {"count": items},
        "deal": {**NOISY, "protocol": protocol, "continuation": 0.95},
        "behaviour": {"weakness_sensitivity": 0.6},
        "reputation": {"gossip_prob": 0.1, "referral_prob": 0.03},
    }


def asked(model: ConcessionModel) -> ConcessionModel:
    """The model with every strategy asked through its views instead of the compiled loop."""
    for move, rules in model._rules.items():
        model._rules[move] = decide.Rules(
            np.full_like(rules.kind, decide.ASKED), rules.settings, rules.draws, rules.chances
        )
    return model


def tables(model: ConcessionModel) -> list:
    return [model.steps_frame(), model.agents_frame(), model.strategy_frame(), model.last_deals()]


@pytest.mark.parametrize("params", PARAMS, ids=["defaults", "changed", "changed-2"])
@pytest.mark.parametrize("protocol", ["offer-response", "simultaneous"])
@pytest.mark.parametrize("items", [1, 4])
def test_compiled_loop_decides_as_the_batch_methods(params, protocol, items):
    cfg = config(params, protocol, items)
    fast = ConcessionModel(cfg, rng=7)
    assert (fast._rules["open"].kind > decide.HOLDOUT).any()  # the loop is what runs
    fast.run(12)
    slow = asked(ConcessionModel(cfg, rng=7)).run(12)
    for x, y in zip(tables(fast), tables(slow), strict=True):
        assert x.equals(y)
    assert fast.rng.bit_generator.state == slow.rng.bit_generator.state
    assert int(fast.steps_frame()["gives"].sum()) > 0  # the runs did something


def test_strategies_asked_through_views_draw_in_their_turn():
    # A reciprocal asked through views between built-in ones whose rules draw in the loop: the
    # generator must move strategy by strategy, as when every strategy is asked.
    mix = {"reciprocal": 0.3, "tests.helpers.asked:AskedReciprocal": 0.3, "exploitative": 0.4}
    for protocol in ("offer-response", "simultaneous"):
        cfg = {**config(PARAMS[1], protocol, 3), "population": {"n": 200, "mix": mix}}
        fast = ConcessionModel(cfg, rng=11)
        assert decide.ASKED in fast._rules["open"].kind.tolist()
        fast.run(12)
        slow = asked(ConcessionModel(cfg, rng=11)).run(12)
        for x, y in zip(tables(fast), tables(slow), strict=True):
            assert x.equals(y)
        assert fast.rng.bit_generator.state == slow.rng.bit_generator.state


def test_only_built_in_classes_have_compiled_rules():
    class Mine(Reciprocal):  # a user's variant may change any rule
        pass

    strategies = [Reciprocal(), Mine()]
    for move in ("open", "respond"):
        rules = decide.rules_for(strategies, move)
        assert rules.kind.tolist() == [decide.RECIPROCAL, decide.ASKED]
        assert rules.draws.tolist() == [True, False]
    # exploitative's answer reads a renege chance that numpy computes beforehand
    rules = decide.rules_for([Exploitative(), Reciprocal()], "respond")
    assert rules.kind.tolist() == [decide.EXPLOITATIVE, decide.RECIPROCAL]
    assert rules.chances.tolist() == [True, False]
    assert decide.rules_for([Exploitative()], "open").kind.tolist() == [decide.EXPLOITATIVE]
