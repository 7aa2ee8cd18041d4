"""The statistical validations (direct, network and indirect reciprocity) in their reduced form.

Marked slow: the CI form of `concession validate --quick`; `--full` runs them in full.
"""

from __future__ import annotations

import dataclasses

import pytest

from analysis import validation as V

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pool():
    with V.Pool(2) as p:
        yield p


@pytest.fixture(scope="module")
def direct(pool) -> list[V.Check]:
    return V.direct_reciprocity(V.QUICK, pool=pool)


@pytest.fixture(scope="module")
def network(pool) -> list[V.Check]:
    return V.network_reciprocity(V.QUICK, pool=pool)


@pytest.fixture(scope="module")
def indirect(pool) -> list[V.Check]:
    return V.indirect_reciprocity(V.QUICK, pool=pool)


def explain(rows: list[V.Check]) -> str:
    return "\n".join(f"{r.result}: {r.theory} | {r.measured}" for r in rows if not r.ok)


def test_reciprocal_negotiators_resist_holdouts_exactly_when_w_exceeds_c_over_b(direct):
    assert all(r.ok for r in direct), explain(direct)
    points = [r.values for r in direct if "delta" in r.values]
    assert len(points) == 4
    for p in points:
        # Nowak (2006): a rare holdout earns less than reciprocal negotiators iff w > c/b.
        assert (p["delta"] < 0) == (p["w"] > p["c"] / p["b"])
    thresholds = [r.values for r in direct if "root" in r.values]
    assert [t["b"] for t in thresholds] == [2.0, 4.0]


def test_death_birth_favours_a_cooperator_above_the_finite_population_threshold(network):
    assert all(r.ok for r in network), explain(network)
    for r in network:
        v = r.values
        favoured = v["ratio"] > V.critical_ratio(v["n"], v["k"])
        # Ohtsuki et al. (2006), with the finite-N threshold: rho vs 1/N.
        assert (v["rho"] > 1 / v["n"]) == favoured
        # And the simulation agrees with the exact Markov chain of the same rule.
        se = (v["exact"] * (1 - v["exact"]) / v["runs"]) ** 0.5
        assert abs(v["rho"] - v["exact"]) <= V.Z_TOLERANCE * se


def test_discriminators_hold_against_holdouts_exactly_when_q_exceeds_c_over_b(indirect):
    assert all(r.ok for r in indirect), explain(indirect)
    points = [r.values for r in indirect if "delta" in r.values]
    for p in points:
        assert (p["delta"] < 0) == (p["q"] > p["c"] / p["b"])
    # Without gossip only first-hand experience informs: too little to hold.
    controls = [p for p in points if p["control"]]
    assert len(controls) == 2
    assert all(p["q"] < 0.1 and p["delta"] > 0 for p in controls)
    # First-hand knowledge (direct reciprocity through beliefs) stays small.
    assert all(p["q_own"] < 0.06 for p in points)


def test_results_do_not_depend_on_the_number_of_workers(pool):
    tiny = dataclasses.replace(V.QUICK, direct_factors=(1.2,), direct_replicates=2)
    inline = V.direct_reciprocity(tiny, seed=5, pool=V.Pool(0))
    parallel = V.direct_reciprocity(tiny, seed=5, pool=pool)
    assert [r.values for r in inline] == [r.values for r in parallel]
