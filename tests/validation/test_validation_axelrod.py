"""Cross-check against the Axelrod library: the same matches give the same scores.

Fast (apart from importing axelrod): runs in the default test run.
"""

from __future__ import annotations

import pytest

from analysis import validation as V

axl = pytest.importorskip("axelrod")


@pytest.fixture(scope="module")
def rows() -> list[V.Check]:
    return V.axelrod_checks(V.QUICK)


def test_every_cross_check_is_within_tolerance(rows):
    bad = [r for r in rows if not r.ok]
    assert not bad, "\n".join(f"{r.result}: {r.theory} vs {r.measured}" for r in bad)


def test_deterministic_matches_give_identical_scores(rows):
    exact = [r for r in rows if r.result.startswith("same scores")]
    assert len(exact) == 9
    for r in exact:
        for pair in r.values["pairs"]:
            assert pair["model"] == pytest.approx(pair["axelrod"], abs=1e-12)


def test_tit_for_tat_against_defector_by_hand():
    b, c, turns = 5.0, 2.0, 9
    match = axl.Match(
        (axl.TitForTat(), axl.Defector()), turns=turns, game=axl.Game(r=b - c, s=-c, t=b, p=0)
    )
    match.play()
    model = V._two_player_model("reciprocal", "holdout", V._single_item_game(b, c), seed=3)
    model.run(turns)
    ours = V._wealth_by_side(model, "reciprocal", "holdout")
    model.release()
    assert [x / turns for x in ours] == pytest.approx(list(match.final_score_per_turn()))
    assert ours == pytest.approx((-c, b))


def test_noisy_and_probabilistic_end_rows_compare_means(rows):
    noisy = [r for r in rows if "noise" in r.setup and "z" in r.values]
    assert len(noisy) == 8
    for r in noisy:
        assert max(abs(z) for z in r.values["z"]) <= V.Z_TOLERANCE
