"""Experiment specs: designs, seeds, run ids, share renormalisation, sizes, and clear refusals."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from environments.config import ConfigError
from experiments.spec import (
    list_scenarios,
    load_spec,
    renormalize_mix,
    run_seed,
)
from tests.helpers.sweeps import tiny_spec


def test_a_grid_is_the_product_of_its_values_last_name_fastest():
    spec = load_spec(tiny_spec())
    assert [tuple(p.values()) for p in spec.points] == [
        (0.0, 0.0),
        (0.0, 0.5),
        (0.9, 0.0),
        (0.9, 0.5),
    ]
    assert spec.n_runs == 4 * 2 * 2 == len(spec.runs())
    order = [(r.point, r.replicate, r.pair) for r in spec.runs()]
    assert order == sorted(order, key=lambda t: (t[0], t[1], t[2] != "base"))


def test_a_grid_range_gives_evenly_spaced_values_and_log_ranges_geometric_ones():
    params = {
        "items.asymmetry": {"low": 1.0, "high": 100.0, "num": 3, "log": True},
        "deal.recognition": {"low": 0.0, "high": 1.0, "num": 5},
    }
    spec = load_spec(tiny_spec(sweep={"parameters": params}))
    assert sorted({p["items.asymmetry"] for p in spec.points}) == pytest.approx([1.0, 10.0, 100.0])
    assert sorted({p["deal.recognition"] for p in spec.points}) == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("design", ["random", "latin_hypercube"])
def test_drawn_designs_stay_in_their_ranges_and_repeat_from_the_seed(design):
    params = {
        "deal.continuation": {"low": 0.2, "high": 0.8},
        "behaviour.desperation_threshold": {"low": 1, "high": 4},
        "network.kind": ["ring", "erdos_renyi"],
    }
    raw = tiny_spec(sweep={"design": design, "samples": 40, "parameters": params})
    a, b = load_spec(raw), load_spec(raw)
    assert a.points == b.points and len(a.points) == 40
    w = np.array([p["deal.continuation"] for p in a.points])
    assert ((w >= 0.2) & (w < 0.8)).all()
    assert {p["behaviour.desperation_threshold"] for p in a.points} <= {1, 2, 3, 4}
    assert {p["network.kind"] for p in a.points} == {"ring", "erdos_renyi"}
    other = load_spec({**raw, "seed": 8})
    assert other.points != a.points


def test_a_latin_hypercube_puts_one_sample_in_each_stratum():
    raw = tiny_spec(
        sweep={
            "design": "latin_hypercube",
            "samples": 10,
            "parameters": {"deal.continuation": {"low": 0.0, "high": 1.0}},
        }
    )
    w = sorted(p["deal.continuation"] for p in load_spec(raw).points)
    assert [int(x * 10) for x in w] == list(range(10))


def test_seeds_depend_on_point_and_replicate_only_and_pairs_share_them():
    spec = load_spec(tiny_spec())
    runs = spec.runs()
    for run in runs:
        assert run.seed == run_seed(7, run.point, run.replicate) == run.config["seed"]
    base = {(r.point, r.replicate): r.seed for r in runs if r.pair == "base"}
    assert len(set(base.values())) == len(base)
    for r in runs:
        assert r.seed == base[(r.point, r.replicate)]
    # the same (point, replicate) keeps its seed when the sweep grows
    bigger = load_spec(tiny_spec(replicates=5))
    assert {(r.point, r.replicate, r.pair): r.seed for r in bigger.runs() if r.replicate < 2} == {
        (r.point, r.replicate, r.pair): r.seed for r in runs
    }


def test_run_ids_are_stable_unique_and_a_pair_differs_only_by_its_change():
    a, b = load_spec(tiny_spec()).runs(), load_spec(tiny_spec()).runs()
    assert [r.run_id for r in a] == [r.run_id for r in b]
    assert len({r.run_id for r in a}) == len(a)
    base, pair = a[0].config, a[1].config
    assert a[1].pair == "holdout" and pair["population"]["replace"] == {"strategic": "holdout"}
    assert {**pair, "population": {**pair["population"], "replace": {}}} == base


def test_sweeping_a_share_rescales_the_others_proportionally():
    mix = {"strategic": 0.4, "reciprocal": 0.3, "exploitative": 0.3}
    out = renormalize_mix(mix, {"exploitative": 0.5})
    assert out["exploitative"] == 0.5
    assert out["strategic"] == pytest.approx(0.5 * 4 / 7) and out["reciprocal"] == pytest.approx(
        0.5 * 3 / 7
    )
    assert sum(out.values()) == pytest.approx(1.0)
    # others all zero: they split the rest equally; a new strategy is added
    assert renormalize_mix({"a": 1.0, "b": 0.0, "c": 0.0}, {"a": 0.4}) == pytest.approx(
        {"a": 0.4, "b": 0.3, "c": 0.3}
    )
    assert renormalize_mix({"a": 0.5, "b": 0.5}, {"naive": 0.2}) == pytest.approx(
        {"a": 0.4, "b": 0.4, "naive": 0.2}
    )
    with pytest.raises(ConfigError, match="sum to 1.2"):
        renormalize_mix(mix, {"a": 0.6, "b": 0.6})


def test_the_spec_as_run_reads_back_to_the_same_spec():
    spec = load_spec("backfire-map", "quick")
    again = load_spec(tomllib.loads(spec.to_toml()))
    assert again.identity() == spec.identity()
    assert [r.run_id for r in again.runs()] == [r.run_id for r in spec.runs()]
    # a change that matters is another spec
    assert load_spec("backfire-map", "full").identity() != spec.identity()


@pytest.mark.parametrize("name", sorted(list_scenarios()))
def test_every_builtin_scenario_loads_in_both_sizes_with_a_description(name):
    quick, full = load_spec(name, "quick"), load_spec(name, "full")
    assert list_scenarios()[name]
    assert quick.n_runs < full.n_runs
    assert sum(r.config["population"]["n"] * r.config["steps"] for r in quick.runs()) <= 3e6


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"replicas": 3}, "unknown key 'replicas' (did you mean 'replicates'?)"),
        (
            {"sweep": {"parameters": {"deal.contination": [0.5]}}},
            "did you mean 'deal.continuation'?",
        ),
        ({"sweep": {"parameters": {}}}, "the sweep is empty"),
        ({"sweep": None}, "no [sweep]"),
        ({"sweep": {"parameters": {"deal.continuation": []}}}, "empty list"),
        (
            {"sweep": {"parameters": {"population.mix.exploitative": [0.2, 1.5]}}},
            "share 1.5 is out of range",
        ),
        ({"sweep": {"parameters": {"deal.continuation": [1.5]}}}, "deal.continuation = 1.5"),
        (
            {"sweep": {"design": "sobol", "parameters": {"deal.continuation": [0.5]}}},
            "allowed: grid",
        ),
        (
            {"sweep": {"design": "random", "parameters": {"deal.continuation": [0.5]}}},
            "needs samples",
        ),
        ({"sweep": {"parameters": {"deal.batna": [0.5]}}}, "is a section"),
        ({"sweep": {"parameters": {"seed": [1, 2]}}}, "cannot be swept"),
        ({"sweep": {"parameters": {"deal.continuation": {"low": 0.5}}}}, "needs low and high"),
        ({"base": {"deal": {"continuation": 2.0}}}, "[base]: deal.continuation = 2.0"),
        ({"pairs": [{"name": "x", "replace": {"martian": "holdout"}}]}, "martian"),
        ({"pairs": [{"name": "x"}]}, "changes nothing"),
        ({"pairs": [{"name": "x", "swap": {}}]}, "unknown key 'pairs[0].swap'"),
        ({"replicates": 0}, "replicates = 0"),
    ],
)
def test_a_bad_spec_names_the_key_and_what_is_allowed(change, message):
    with pytest.raises(ConfigError) as err:
        load_spec(tiny_spec(**change))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_points_whose_swept_shares_exceed_one_are_refused_naming_the_point():
    params = {"population.mix.exploitative": [0.5, 0.7], "population.mix.strategic": [0.4]}
    with pytest.raises(ConfigError, match=r"point 1 \(.*exploitative = 0.7.*sum to 1.1"):
        load_spec(tiny_spec(sweep={"parameters": params}))


def test_sizes_merge_over_the_file_and_an_unknown_size_is_refused():
    raw = tiny_spec(sizes={"quick": {"replicates": 1, "base": {"population": {"n": 10}}}})
    spec = load_spec(raw)  # quick by default
    assert spec.replicates == 1 and spec.base["population"]["n"] == 10
    assert spec.base["population"]["mix"]["strategic"] == 0.4  # merged, not replaced
    with pytest.raises(ConfigError, match="sizes are quick, base"):
        load_spec(raw, "huge")
    as_written = load_spec(raw, "base")  # no size merged
    assert as_written.replicates == tiny_spec()["replicates"] != 1
    assert as_written.base["population"]["n"] == tiny_spec()["base"]["population"]["n"] != 10
    assert as_written.size == "base" and as_written.identity() != spec.identity()
    with pytest.raises(ConfigError, match="neither a spec file nor a built-in scenario"):
        load_spec("backfire-mop")
