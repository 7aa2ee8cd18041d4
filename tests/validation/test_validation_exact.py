"""The exact part of the validation: MODEL.md's reduction to the donation game, and the theory helpers.

Fast: runs in the default test run.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from analysis import validation as V


@pytest.fixture(scope="module")
def exact_rows() -> list[V.Check]:
    return V.donation_game_checks(V.QUICK)


def test_every_donation_game_payoff_is_the_textbook_one(exact_rows):
    # 6 pairings without continuation, one population of one of each, 6 pairings with.
    assert len(exact_rows) == 13
    bad = [r for r in exact_rows if not r.ok]
    assert not bad, "\n".join(f"{r.result}: {r.theory} vs {r.measured}" for r in bad)


def test_tit_for_tat_against_always_defect_loses_one_gift(exact_rows):
    row = next(r for r in exact_rows if r.result == "donation game: reciprocal vs holdout")
    # 20 steps, S = 2, b = 3, c = 1: S on the first step, then P every step.
    assert row.values["measured"] == pytest.approx((20 - 1, 20 + 3), abs=1e-12)


def test_with_continuation_tit_for_tat_gives_again_after_every_end(exact_rows):
    row = next(
        r for r in exact_rows if r.result == "donation game: reciprocal vs holdout, continuation"
    )
    w, steps = row.values["w"], 20
    fresh = 1 + (steps - 1) * (1 - w)
    assert row.values["theory"] == pytest.approx((steps - fresh, steps + 3 * fresh))
    assert row.ok


@pytest.mark.parametrize(
    ("me", "other", "gives"),
    [
        ("reciprocal", "reciprocal", 10),
        ("reciprocal", "naive", 10),
        ("reciprocal", "holdout", 1 + 9 * 0.5),
        ("naive", "holdout", 10),
        ("holdout", "naive", 0),
    ],
)
def test_expected_gives(me, other, gives):
    assert V.expected_gives(me, other, 10, 0.5) == pytest.approx(gives)


def test_pairs_model_plays_each_pairing_on_its_own_pair():
    pairings = [("reciprocal", "holdout"), ("naive", "naive")]
    model, which = V.pairs_model(pairings, 3, V._single_item_game(3.0, 1.0), seed=1)
    names = np.array(model.strategy_names)[model.strategy]
    for p, k in enumerate(which):
        assert (names[2 * p], names[2 * p + 1]) == pairings[k]
    assert model.graph.edges.tolist() == [[2 * p, 2 * p + 1] for p in range(len(which))]
    model.run(4)
    # Tit-for-tat gives once to the holdout; naive pairs give every step.
    assert model.gives.tolist() == [1, 0] * 3 + [4, 4] * 3
    model.release()


def test_seeds_are_keyed_by_part_point_and_replicate():
    assert V.seed_for(1, 2, 3, 4) == V.seed_for(1, 2, 3, 4)
    seeds = {
        V.seed_for(1, part, point, rep) for part, point, rep in itertools.product(*[range(3)] * 3)
    }
    assert len(seeds) == 27


# --------------------------------------------------------------------------- the exact chain


def full_chain(n: int, k: int, b: float, c: float, beta: float) -> float:
    """The same fixation probability without the symmetry reduction: one unknown per state."""
    nbrs = V._ring_neighbours(n, k)
    states = np.arange(2**n)
    coop = ((states[:, None] >> np.arange(n)) & 1).astype(float)
    payoff = b * coop[:, nbrs].sum(axis=2) - c * k * coop
    fit = np.exp(beta * payoff)
    p_coop = (fit[:, nbrs] * coop[:, nbrs]).sum(axis=2) / fit[:, nbrs].sum(axis=2)
    flip = np.where(coop == 1, 1 - p_coop, p_coop) / n
    P = np.zeros((2**n, 2**n))
    for i in range(n):
        P[states, states ^ (1 << i)] += flip[:, i]
    P[states, states] += 1 - flip.sum(axis=1)
    A, rhs = np.eye(2**n) - P, np.zeros(2**n)
    for s, v in ((0, 0.0), (2**n - 1, 1.0)):
        A[s] = 0
        A[s, s] = 1
        rhs[s] = v
    return float(np.linalg.solve(A, rhs)[1])


@pytest.mark.parametrize(("n", "k"), [(8, 2), (9, 2), (10, 4)])
def test_symmetry_reduced_chain_equals_the_full_chain(n, k):
    for ratio, beta in ((1.5, 0.3), (6.0, 0.05)):
        assert V.fixation_probability(n, k, ratio, 1.0, beta) == pytest.approx(
            full_chain(n, k, ratio, 1.0, beta), rel=1e-9
        )


def test_without_selection_a_single_cooperator_fixes_with_probability_one_over_n():
    assert V.fixation_probability(12, 2, 5.0, 1.0, 0.0) == pytest.approx(1 / 12, rel=1e-10)


@pytest.mark.parametrize(("n", "k"), [(12, 2), (16, 4)])
def test_weak_selection_threshold_is_the_finite_population_one(n, k):
    # Taylor, Day & Wild (2007): (N - 2) / (N/k - 2), not k, for a small population.
    threshold = V.critical_ratio(n, k)
    assert threshold > k
    below = V.fixation_probability(n, k, threshold * 0.95, 1.0, 1e-4)
    above = V.fixation_probability(n, k, threshold * 1.05, 1.0, 1e-4)
    assert below < 1 / n < above


def test_critical_ratio_tends_to_k():
    assert V.critical_ratio(12, 2) == pytest.approx(2.5)
    assert V.critical_ratio(16, 4) == pytest.approx(7.0)
    assert V.critical_ratio(10**6, 4) == pytest.approx(4, rel=1e-4)
    assert math.isinf(V.critical_ratio(8, 4))


# --------------------------------------------------------------------------- helpers


def test_gossip_for_inverts_the_knowledge_probability():
    for g in (0.005, 0.02, 0.1):
        q = V.knowledge_probability(g)
        assert V.gossip_for(q) == pytest.approx(g, rel=1e-6)
    assert V.gossip_for(0.0) == 0.0


def test_wilson_interval_contains_the_estimate():
    lo, hi = V.wilson_interval(10, 100)
    assert lo < 0.1 < hi
    assert V.wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-12)


def test_line_root_of_an_exact_line():
    x = np.array([0.1, 0.2, 0.4])
    root, se = V._line_root(x, 2.0 - 5.0 * x, np.full(3, 0.01))
    assert root == pytest.approx(0.4)
    assert se > 0
