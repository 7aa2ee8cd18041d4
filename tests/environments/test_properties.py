"""Property-based checks over random valid configurations."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from environments.config import BUILTIN_STRATEGIES
from environments.model import ConcessionModel

unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def configs(draw):
    n = draw(st.integers(6, 40))
    names = draw(st.lists(st.sampled_from(BUILTIN_STRATEGIES), min_size=1, max_size=6, unique=True))
    weights = np.array(
        draw(st.lists(st.integers(1, 5), min_size=len(names), max_size=len(names))), float
    )
    shares = weights / weights.sum()
    mix = {name: float(s) for name, s in zip(names, shares, strict=True)}
    mix[names[-1]] = 1.0 - sum(list(mix.values())[:-1])
    kind = draw(
        st.sampled_from(
            ["barabasi_albert", "watts_strogatz", "erdos_renyi", "ring", "complete", "communities"]
        )
    )
    low = draw(st.floats(0.0, 2.0))
    return {
        "population": {
            "n": n,
            "mix": mix,
            "placement": draw(st.sampled_from(["random", "hubs_first", "hubs_last"])),
        },
        "network": {
            "kind": kind,
            "m": draw(st.integers(1, 3)),
            "k": 2 * draw(st.integers(1, 2)),
            "mean_degree": 2.0,
            "blocks": 2,
        },
        "items": {
            "count": draw(st.integers(1, 4)),
            "asymmetry": draw(st.floats(0.5, 8.0)),
            "dispersion": draw(st.floats(0.0, 1.0)),
        },
        "deal": {
            "protocol": draw(st.sampled_from(["offer-response", "simultaneous"])),
            "matching": draw(st.sampled_from(["edges", "initiator"])),
            "deals_per_step": draw(st.integers(1, 3)),
            "continuation": draw(unit),
            "noise": draw(st.floats(0.0, 0.2)),
            "perception_noise": draw(st.floats(0.0, 0.2)),
            "recognition": draw(unit),
            "batna": {"low": low, "high": low + draw(st.floats(0.0, 1.0))},
        },
        "behaviour": {
            "expectation_rate": draw(unit),
            "loss_aversion": draw(st.floats(1.0, 4.0)),
            "desperation_threshold": draw(st.integers(0, 3)),
            "weakness_sensitivity": draw(st.floats(0.0, 2.0)),
        },
        "reputation": {
            "gossip_prob": draw(unit),
            "assessment": draw(
                st.sampled_from(["image_scoring", "simple_standing", "stern_judging", "shunning"])
            ),
            "perception_noise": draw(st.floats(0.0, 0.3)),
            "referral_prob": draw(st.floats(0.0, 0.5)),
            "contact_decay": draw(st.floats(0.0, 0.5)),
        },
        "evolution": {
            "rule": draw(st.sampled_from(["none", "imitation", "death-birth", "birth-death"])),
            "update_every": 3,
            "mutation_rate": draw(st.floats(0.0, 0.1)),
        },
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), seed=st.integers(0, 2**31))
def test_random_valid_configs_run_cleanly(cfg, seed):
    model = ConcessionModel(cfg, rng=seed).run(8)
    rel = model.relationships
    size = rel.size
    assert np.isfinite(model.wealth).all()
    assert np.isfinite(model.cost_given).all() and np.isfinite(model.value_received).all()
    beliefs = np.concatenate([rel.belief[:size].ravel(), model.heard.about()[1]])
    assert ((beliefs >= 0) & (beliefs <= 1)).all()
    assert (rel.expectation[:size] >= 0).all() and (rel.demand[:size] >= 0).all()
    assert (rel.streak[:size] >= 0).all()
    for frame in (model.steps_frame(), model.strategy_frame()):
        for col in ("cooperation_rate", "walk_rate", "share"):
            if col in frame.columns:
                values = frame[col].drop_nulls().drop_nans().to_numpy()
                assert ((values >= 0) & (values <= 1)).all(), col
    assert model.steps_frame().height == 8


def state_bytes(n: int, m: int = 3) -> tuple[int, int]:
    config = {
        "steps": 3,  # what the memory check is told: a short run
        "population": {"n": n},
        "network": {"kind": "barabasi_albert", "m": m},
        "reputation": {"gossip_prob": 0.5, "referral_prob": 0.1},
    }
    model = ConcessionModel(config, rng=1).run(3)
    arrays = sum(a.nbytes for a in vars(model).values() if isinstance(a, np.ndarray))
    return (
        arrays + model.relationships.nbytes() + model.heard.nbytes(),
        model.relationships.size + model.n + len(model.heard),
    )


def test_memory_grows_with_negotiators_and_contacts_not_their_square():
    small, small_units = state_bytes(500)
    large, large_units = state_bytes(4000)
    # 8x the negotiators: about 8x the memory (an N x N table would be 64x).
    assert large / small < 1.5 * large_units / small_units
    assert large / small < 16
