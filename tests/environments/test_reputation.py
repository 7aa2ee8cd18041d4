"""Beliefs, gossip, assessment rules, referrals and word of mouth."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from environments.model import ConcessionModel, bernoulli_positions
from environments.relationships import ORIGIN_REFERRAL
from environments.reputation import ASSESSMENT, HeardBeliefs, assess

# (gave, recipient good) -> assessment of the actor, as docs/model.md tabulates.
TABLES = {
    "image_scoring": {(1, 1): 1, (1, 0): 1, (0, 1): 0, (0, 0): 0},
    "simple_standing": {(1, 1): 1, (1, 0): 1, (0, 1): 0, (0, 0): 1},
    "stern_judging": {(1, 1): 1, (1, 0): 0, (0, 1): 0, (0, 0): 1},
    "shunning": {(1, 1): 1, (1, 0): 0, (0, 1): 0, (0, 0): 0},
}


@pytest.mark.parametrize("rule", sorted(TABLES))
def test_assessment_rule_follows_its_table(rule):
    assert set(ASSESSMENT) == set(TABLES)
    for (gave, good), expected in TABLES[rule].items():
        recipient_belief = np.array([0.9 if good else 0.1])
        assert assess(rule, np.array([bool(gave)]), recipient_belief)[0] == expected, (gave, good)


def test_heard_beliefs_store_last_story_wins_and_pop():
    store = HeardBeliefs(n=10, initial=0.5, capacity=4)
    store.set(np.array([1, 1, 2]), np.array([3, 3, 4]), np.array([0.1, 0.9, 0.2]))
    assert store.get(np.array([1, 2, 5]), np.array([3, 4, 6])).tolist() == [0.9, 0.2, 0.5]
    assert len(store) == 2
    assert store.pop(np.array([1]), np.array([3])).tolist() == [0.9]
    assert len(store) == 1 and store.get(np.array([1]), np.array([3])).tolist() == [0.5]
    assert store.pop(np.array([1]), np.array([3])).tolist() == [0.5]  # nothing held: initial


def test_heard_beliefs_forget_the_least_recently_heard_of_when_full():
    store = HeardBeliefs(n=10, initial=0.5, capacity=3)
    holder = np.zeros(3, dtype=np.int64)
    store.set(holder, np.array([1, 2, 3]), np.array([0.1, 0.2, 0.3]))
    store.set(np.array([0]), np.array([1]), np.array([0.15]))  # 1 is heard of again: now newest
    store.set(np.array([0]), np.array([4]), np.array([0.4]))  # full: 2, the stalest, goes
    assert store.known(np.zeros(4, np.int64), np.array([1, 2, 3, 4])).tolist() == [
        True,
        False,
        True,
        True,
    ]
    assert store.get(np.zeros(3, np.int64), np.array([1, 3, 4])).tolist() == [0.15, 0.3, 0.4]
    assert len(store) == 3 and store.nbytes() < 10 * 3 * 16
    # Others' memories are untouched; capacity 0 remembers no one.
    assert store.get(np.array([5]), np.array([1])).tolist() == [0.5]
    empty = HeardBeliefs(n=10, initial=0.5, capacity=0)
    empty.set(np.array([0]), np.array([1]), np.array([0.9]))
    assert len(empty) == 0 and empty.get(np.array([0]), np.array([1])).tolist() == [0.5]


def test_heard_beliefs_forget_drops_beliefs_held_by_and_about_newcomers():
    store = HeardBeliefs(n=6, initial=0.5, capacity=4)
    store.set(np.array([0, 0, 0, 2, 3]), np.array([1, 2, 3, 1, 4]), np.linspace(0.1, 0.5, 5))
    store.forget(np.array([2, 4]))
    target, belief = store.about()
    assert sorted(target.tolist()) == [1, 3] and len(belief) == 2
    assert store.get(np.array([0, 0]), np.array([1, 3])).tolist() == pytest.approx([0.1, 0.3])
    assert not store.known(np.array([2]), np.array([1]))[0]


def test_heard_memory_is_bounded_by_capacity_in_a_gossiping_model():
    model = ConcessionModel(
        population={"n": 300},
        network={"kind": "barabasi_albert", "m": 4},
        reputation={"gossip_prob": 0.5, "referral_prob": 0.05, "heard_capacity": 5},
        rng=3,
    ).run(20)
    assert model.heard.count.max() == 5  # some memories filled up, none overflowed
    assert len(model.heard) <= 5 * model.n


def gossip_model(q: float, **extra) -> ConcessionModel:
    return ConcessionModel(
        population={"n": 150, "mix": {"reciprocal": 0.5, "exploitative": 0.5}},
        network={"kind": "barabasi_albert", "m": 3},
        reputation={"gossip_prob": q, **extra},
        rng=2,
    ).run(30)


def test_gossip_gives_exploiters_a_worse_reputation_than_reciprocal_negotiators():
    df = gossip_model(0.9).agents_frame().group_by("strategy").agg(pl.col("reputation").mean())
    rep = dict(df.iter_rows())
    assert rep["exploitative"] < rep["reciprocal"] - 0.2


def test_without_gossip_or_referrals_no_belief_changes_without_direct_experience():
    model = ConcessionModel(
        population={"n": 120},
        deal={"matching": "initiator"},
        reputation={"gossip_prob": 0.0, "referral_prob": 0.0},
        rng=4,
    ).run(3)
    rel = model.relationships
    assert len(model.heard) == 0
    never = rel.deals[: rel.size, 0] == 0
    assert never.any()  # some contacts never dealt in three steps
    assert (rel.belief[: rel.size][never] == model.config.reputation.initial_belief).all()
    assert not rel.heard[: rel.size][never].any()


def test_gossip_reaches_only_contacts_of_participants_and_stays_in_range():
    model = gossip_model(1.0, perception_noise=0.1)
    rel = model.relationships
    assert len(model.heard) > 0
    beliefs = np.concatenate([rel.belief[: rel.size].ravel(), model.heard.about()[1]])
    assert ((beliefs >= 0) & (beliefs <= 1)).all()


def test_referrals_create_contacts_and_their_deals_are_counted():
    model = ConcessionModel(
        population={"n": 80, "mix": {"reciprocal": 0.5, "naive": 0.5}},
        network={"kind": "ring", "k": 2},
        reputation={"referral_prob": 0.3},
        deal={"continuation": 1.0},  # relationships never end, so no contact is revived
        rng=9,
    )
    start_contacts = model.relationships.size
    traced = 0
    for _ in range(10):
        model.step()
        deals = model.last_deals()
        origin = model.relationships.origin[deals["pair"].to_numpy()]
        closed = deals["outcome"].to_numpy() != "walked away"
        traced += int(((origin == ORIGIN_REFERRAL) & closed).sum())
    steps = model.steps_frame()
    agents = model.agents_frame()
    rel = model.relationships
    assert steps["new_contacts"].sum() == rel.size - start_contacts > 0
    assert (rel.origin[start_contacts : rel.size] == ORIGIN_REFERRAL).all()
    assert (rel.referrer[start_contacts : rel.size] >= 0).all()
    assert steps["referral_deals"].sum() == traced > 0
    assert agents["referral_deals"].sum() == 2 * traced
    assert (
        agents["referrals_sent"].sum()
        == agents["referrals_received"].sum()
        == steps["referrals"].sum()
    )
    # Return on concessions: (value received + base surplus of referral deals) / cost given.
    s = model.config.deal.surplus
    assert np.allclose(agents["referral_surplus"], s / 2 * agents["referral_deals"])
    given = agents.filter(pl.col("cost_given") > 0)
    expected = (given["value_received"] + given["referral_surplus"]) / given["cost_given"]
    assert np.allclose(given["return_on_concessions"], expected)
    # New contacts start trusting: above the stranger's prior on average.
    assert rel.belief[start_contacts : rel.size].mean() > 0.5


def test_dissatisfied_negotiators_spread_negative_word_of_mouth():
    model = ConcessionModel(
        population={"n": 100, "mix": {"reciprocal": 0.5, "exploitative": 0.5}},
        reputation={"referral_prob": 0.5},
        rng=3,
    ).run(10)
    assert model.steps_frame()["negative_word_of_mouth"].sum() > 0


def test_unused_referral_contacts_decay():
    model = ConcessionModel(
        population={"n": 100, "mix": {"reciprocal": 0.5, "naive": 0.5}},
        deal={"matching": "initiator"},
        reputation={"referral_prob": 0.5, "contact_decay": 0.5},
        rng=3,
    ).run(15)
    assert model.steps_frame()["contacts_dropped"].sum() > 0


def test_a_referral_contact_ends_with_its_relationship_and_a_graph_contact_stays():
    model = ConcessionModel(
        population={"n": 200, "mix": {"reciprocal": 0.5, "naive": 0.5}},
        network={"kind": "barabasi_albert", "m": 3},
        reputation={"referral_prob": 0.05},
        deal={"continuation": 0.8},
        rng=4,
    )
    rel = model.relationships
    graph_pairs = rel.size
    active = []
    for _ in range(120):
        model.step()
        active.append(len(rel.active_pairs()))
    # Every graph contact is still there; referral contacts came and went.
    assert rel.active[:graph_pairs].all()
    referral = rel.origin[: rel.size] == ORIGIN_REFERRAL
    assert referral.sum() > 0 and (~rel.active[: rel.size][referral]).sum() > 0
    # Referrals add at most 2 x 0.05 contacts per deal and 0.2 of them end
    # after each deal: at most about graph_pairs x 0.1 / (0.2 - 0.1) referral
    # contacts, a level instead of geometric growth.
    assert max(active) <= 2.2 * graph_pairs
    assert max(active[60:]) < 1.2 * max(active[30:60])
    added = model.steps_frame()["new_contacts"].to_numpy()
    assert added[-20:].mean() > 0


@pytest.mark.parametrize("q", [1e-300, 0.001, 0.1, 0.5, 1.0])
def test_gossip_hearers_are_independent_bernoulli_draws_over_the_triples(q):
    rng = np.random.default_rng(3)
    total = 200_000
    counts, hits = [], np.zeros(total)
    for _ in range(20):
        pos = bernoulli_positions(total, q, rng)
        assert (np.diff(pos) > 0).all() and (len(pos) == 0 or (pos[0] >= 0 and pos[-1] < total))
        counts.append(len(pos))
        hits[pos] += 1
    # The count is Binomial(total, q): within 5 standard deviations of its mean.
    mean, sd = total * q, np.sqrt(total * q * (1 - q))
    assert abs(np.mean(counts) - mean) <= 5 * sd / np.sqrt(20) + 1e-9
    # No position is favoured: the first and second halves are hit alike.
    if q >= 0.1:
        first, second = hits[: total // 2].sum(), hits[total // 2 :].sum()
        assert abs(first - second) <= 5 * np.sqrt(first + second)
    assert bernoulli_positions(0, q, rng).size == 0
