"""The repeated donation game as a special case (MODEL.md's reduction), exactly."""

from __future__ import annotations

import numpy as np
import pytest

from environments.model import ConcessionModel

B, C, S, T = 3.0, 1.0, 2.0, 25


def donation_game(
    a: str, b: str, *, w: float = 1.0, steps: int = T, seed: int = 1
) -> ConcessionModel:
    mix = {a: 0.5, b: 0.5} if a != b else {a: 1.0}
    model = ConcessionModel(
        population={"n": 2, "mix": mix},
        network={"kind": "complete"},
        items={"explicit": [{"cost": C, "value": B}]},
        deal={
            "surplus": S,
            "protocol": "simultaneous",
            "matching": "edges",
            "continuation": w,
            "noise": 0.0,
            "recognition": 1.0,
            "batna": {"low": 0.0, "high": 0.0},
        },
        rng=seed,
    )
    return model.run(steps)


def wealth_of(model: ConcessionModel, strategy: str) -> float:
    df = model.agents_frame()
    return float(df.filter(df["strategy"] == strategy)["wealth"][0])


# Textbook per-step payoffs on top of S/2: R = b - c, S = -c, T = b, P = 0.
@pytest.mark.parametrize(
    ("a", "b", "wealth_a", "wealth_b"),
    [
        ("reciprocal", "holdout", T * S / 2 - C, T * S / 2 + B),  # TFT vs ALLD: S once, then P
        ("reciprocal", "reciprocal", T * (S / 2 + B - C), T * (S / 2 + B - C)),  # R every step
        ("naive", "holdout", T * (S / 2 - C), T * (S / 2 + B)),  # S and T every step
        ("reciprocal", "naive", T * (S / 2 + B - C), T * (S / 2 + B - C)),
        ("holdout", "holdout", T * S / 2, T * S / 2),
        ("naive", "naive", T * (S / 2 + B - C), T * (S / 2 + B - C)),
    ],
)
def test_donation_game_payoffs_are_textbook(a, b, wealth_a, wealth_b):
    model = donation_game(a, b)
    assert wealth_of(model, a) == pytest.approx(wealth_a, abs=1e-12)
    assert wealth_of(model, b) == pytest.approx(wealth_b, abs=1e-12)


def test_with_continuation_each_fresh_start_costs_tit_for_tat_one_give():
    """Against always-defect, TFT gives on the first step and after every relationship end."""
    w = 0.7
    fresh_total = 0
    for seed in range(40):
        model = donation_game("reciprocal", "holdout", w=w, steps=T, seed=seed)
        steps = model.steps_frame()
        ends_before_last = int(steps["fresh_starts"][:-1].sum())
        assert wealth_of(model, "reciprocal") == pytest.approx(
            T * S / 2 - C * (1 + ends_before_last)
        )
        assert wealth_of(model, "holdout") == pytest.approx(T * S / 2 + B * (1 + ends_before_last))
        fresh_total += int(steps["fresh_starts"].sum())
    # Expected fresh starts: one deal a step, each ends with probability 1 - w.
    expected = 40 * T * (1 - w)
    sd = np.sqrt(40 * T * w * (1 - w))
    assert abs(fresh_total - expected) < 4 * sd


def test_one_off_market_tit_for_tat_gives_every_step():
    model = donation_game("reciprocal", "holdout", w=0.0)
    assert wealth_of(model, "reciprocal") == pytest.approx(T * (S / 2 - C))
