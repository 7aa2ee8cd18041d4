"""Each teaching preset of the classroom dashboard shows its lesson, headless.

A preset is a promise to an instructor: press Play and within 40 steps the
page shows the point its sentence makes. These tests run each preset as the
page builds it (the `DashboardModel`, the page's default population) on a few
fixed seeds and check that point qualitatively, with margins wide enough to
hold on any seed rather than on the three chosen. Where the lesson is a
contrast ("move this slider and the order flips"), the contrast is checked
too, on the same seeds.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

pytest.importorskip("solara", reason="the dashboard needs the viz extra")

from analysis.dashboard import PRESETS, DashboardModel  # noqa: E402

SEEDS = (1, 2, 3)
STEPS = 40


def run_preset(name: str, seed: int, **changes: Any) -> dict[str, dict[str, float]]:
    """Whole-run figures by strategy after STEPS steps of preset `name` (with `changes`)."""
    model = DashboardModel({**PRESETS[name].settings, **changes}, seed=seed)
    model.run(STEPS)
    out = {row["strategy"]: dict(row) for row in model.totals_by_strategy().iter_rows(named=True)}
    extra = (
        model.agents_frame()
        .group_by("strategy")
        .agg(pl.col("reputation").mean(), pl.col("referrals_received").mean())
    )
    for strategy, reputation, referrals in extra.iter_rows():
        out[strategy]["reputation"] = reputation
        out[strategy]["referrals_received"] = referrals
    model.release()
    return out


def test_every_preset_has_a_sentence_and_builds_a_model():
    assert set(PRESETS) == {
        "gift to a reciprocal partner",
        "gift to an exploiter",
        "one-off market",
        "strong BATNA reads as weakness",
        "word of mouth",
        "precedent",
    }
    for preset in PRESETS.values():
        assert preset.sentence.endswith(".") and preset.look_for
        model = DashboardModel(preset.settings, seed=1)
        assert 20 <= model.n <= 100, "a classroom population stays small"
        model.release()


@pytest.mark.parametrize("seed", SEEDS)
def test_gift_to_a_reciprocal_partner_pays(seed):
    out = run_preset("gift to a reciprocal partner", seed)
    holdout = out["holdout"]["payoff_per_deal"]
    assert out["strategic"]["payoff_per_deal"] > 1.5 * holdout
    assert out["reciprocal"]["payoff_per_deal"] > 1.5 * holdout
    assert out["strategic"]["reciprocation_rate"] > 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_gift_to_an_exploiter_earns_less_than_holding_out(seed):
    out = run_preset("gift to an exploiter", seed)
    assert out["naive"]["payoff_per_deal"] < 0.85 * out["holdout"]["payoff_per_deal"]
    assert out["naive"]["reciprocation_rate"] < 0.5
    assert out["exploitative"]["gives_per_deal"] == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_one_off_market_holdouts_out_earn_givers_and_repetition_flips_it(seed):
    one_off = run_preset("one-off market", seed)
    assert one_off["holdout"]["payoff_per_deal"] > one_off["reciprocal"]["payoff_per_deal"] + 0.3
    repeated = run_preset("one-off market", seed, continuation=0.9)
    assert repeated["reciprocal"]["payoff_per_deal"] > 1.5 * repeated["holdout"]["payoff_per_deal"]


@pytest.mark.parametrize("seed", SEEDS)
def test_strong_batna_turns_gifts_into_weakness(seed):
    name = "strong BATNA reads as weakness"
    strong = run_preset(name, seed)
    none = run_preset(name, seed, batna=0.0)
    for giver in ("strategic", "reciprocal"):
        assert strong[giver]["reciprocation_rate"] < 0.6 * none[giver]["reciprocation_rate"]
        assert strong[giver]["payoff_per_deal"] < 0.75 * none[giver]["payoff_per_deal"]
    assert strong["strategic"]["walk_rate"] > none["strategic"]["walk_rate"]


@pytest.mark.parametrize("seed", SEEDS)
def test_word_of_mouth_rewards_givers(seed):
    out = run_preset("word of mouth", seed)
    for giver in ("strategic", "reciprocal"):
        for taker in ("exploitative", "holdout"):
            assert out[giver]["reputation"] > out[taker]["reputation"] + 0.2
        assert out[giver]["referrals_received"] > 3.0
    assert out["exploitative"]["referrals_received"] < 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_precedent_stops_referrals_for_unframed_gifts(seed):
    out = run_preset("precedent", seed)
    assert out["naive"]["referrals_received"] < 0.5 * out["strategic"]["referrals_received"]
    # The cause is the expectation catching up with the gift: slower, and it does not.
    slower = run_preset("precedent", seed, expectation_rate=0.5)
    assert slower["naive"]["referrals_received"] > 0.8 * slower["strategic"]["referrals_received"]
    assert slower["naive"]["referrals_received"] > 2 * out["naive"]["referrals_received"]
