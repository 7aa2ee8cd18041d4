"""The referral graph: builders against networkx, graph files, strategy placement."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from environments.config import ConfigError, NetworkConfig
from environments.network import (
    MAX_COMPLETE_N,
    Graph,
    build_graph,
    estimate_edges,
    load_graph,
    place_strategies,
    strategy_counts,
    write_edge_list,
)

RANDOM_KINDS = {
    "barabasi_albert": {"m": 3},
    "erdos_renyi": {"mean_degree": 6.0},
    "watts_strogatz": {"k": 6, "p": 0.2},
    "communities": {"blocks": 4, "mean_degree": 6.0, "mixing": 0.2},
}
ALL_KINDS = {**RANDOM_KINDS, "ring": {"k": 4}, "complete": {}}


def build(kind: str, n: int, seed: int = 0, **params) -> Graph:
    return build_graph(NetworkConfig(kind=kind, **params), n, np.random.default_rng(seed))


def degrees(g: nx.Graph) -> np.ndarray:
    return np.array([d for _, d in g.degree()])


def as_networkx(graph: Graph) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(graph.n))
    g.add_edges_from(graph.edges.tolist())
    return g


def ks(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov p-value of two pooled degree samples."""
    return stats.ks_2samp(a, b, method="asymp").pvalue


def pooled(kind: str, n: int, seeds: range, **params) -> np.ndarray:
    return np.concatenate([build(kind, n, s, **params).degree() for s in seeds])


# ---------------------------------------------------------------------------
# Invariants and determinism


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_edges_are_canonical(kind):
    graph = build(kind, 300, **ALL_KINDS[kind])
    e = graph.edges
    assert graph.n == 300 and graph.labels is None and graph.attributes == {}
    assert e.dtype == np.int64 and e.ndim == 2 and e.shape[1] == 2 and len(e) > 0
    assert (e[:, 0] < e[:, 1]).all()  # u < v, so no self-loops
    assert e.min() >= 0 and e.max() < graph.n
    keys = e[:, 0] * graph.n + e[:, 1]
    assert (np.diff(keys) > 0).all()  # sorted lexicographically and unique
    assert graph.degree().dtype == np.int64 and graph.degree().sum() == 2 * len(e)


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_same_seed_same_graph_other_seed_other_graph(kind):
    params = RANDOM_KINDS[kind]
    a, b, c = (
        build(kind, 500, 7, **params),
        build(kind, 500, 7, **params),
        build(kind, 500, 8, **params),
    )
    assert np.array_equal(a.edges, b.edges)
    assert not np.array_equal(a.edges, c.edges)


def test_randomness_comes_only_from_the_generator_given():
    rng = np.random.default_rng(3)
    first = build_graph(NetworkConfig(kind="barabasi_albert"), 400, rng)
    second = build_graph(NetworkConfig(kind="barabasi_albert"), 400, rng)
    assert not np.array_equal(first.edges, second.edges)  # the generator moved on
    rng = np.random.default_rng(3)
    build_graph(NetworkConfig(kind="barabasi_albert"), 400, rng)
    again = build_graph(NetworkConfig(kind="barabasi_albert"), 400, rng)
    assert np.array_equal(second.edges, again.edges)


def test_network_module_does_not_import_mesa():
    code = "import sys, environments.network; assert 'mesa' not in sys.modules, 'mesa imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# Builders against their networkx counterparts


def test_barabasi_albert_first_attachment_has_the_exact_probabilities():
    # n = 4, m = 2: the star 0-1, 0-2, then node 3 takes two distinct targets
    # drawn by degree (weights 2, 1, 1) with repeats redrawn. Exactly:
    # P{1,2} = 2 * (1/4 * 1/3) = 1/6 and P{0,1} = P{0,2} = 5/12.
    seen = Counter()
    for seed in range(1200):
        edges = build("barabasi_albert", 4, seed, m=2).edges
        seen[tuple(int(u) for u, v in edges if v == 3)] += 1
    expected = {(0, 1): 5 / 12, (0, 2): 5 / 12, (1, 2): 1 / 6}
    assert set(seen) == set(expected)
    observed = [seen[key] for key in expected]
    p = stats.chisquare(observed, [1200 * q for q in expected.values()]).pvalue
    assert p > 0.001, (seen, p)


def test_barabasi_albert_matches_networkx():
    n, m = 2000, 3
    ours = [build("barabasi_albert", n, s, m=m) for s in range(8)]
    theirs = [nx.barabasi_albert_graph(n, m, seed=s) for s in range(8)]
    # Same number of edges exactly: m per new node plus the star's m.
    assert {len(g.edges) for g in ours} == {g.number_of_edges() for g in theirs} == {m * (n - m)}
    ours_deg = np.concatenate([g.degree() for g in ours])
    theirs_deg = np.concatenate([degrees(g) for g in theirs])
    assert ours_deg.min() == theirs_deg.min() == m
    assert ks(ours_deg, theirs_deg) > 0.01
    # The heavy tail: hubs as big as networkx's (max degree ~ m sqrt(n)) ...
    ours_max = np.mean([g.degree().max() for g in ours])
    theirs_max = np.mean([degrees(g).max() for g in theirs])
    assert ours_max == pytest.approx(theirs_max, rel=0.2)
    # ... and the oldest nodes are the hubs, as in preferential attachment.
    assert np.mean([g.degree()[:10].mean() for g in ours]) > 10 * m
    # The same comparison tells BA from a random graph with the same edges.
    er = pooled("erdos_renyi", n, range(8), mean_degree=2 * m * (n - m) / n)
    assert ks(ours_deg, er) < 1e-6


def test_erdos_renyi_matches_networkx():
    n, mean_degree = 1000, 6.0
    p = mean_degree / (n - 1)
    counts = [len(build("erdos_renyi", n, s, mean_degree=mean_degree).edges) for s in range(20)]
    expected, sd = n * (n - 1) / 2 * p, np.sqrt(n * (n - 1) / 2 * p * (1 - p))
    assert abs(np.mean(counts) - expected) < 4 * sd / np.sqrt(20)
    assert np.std(counts) == pytest.approx(sd, rel=0.5)
    ours = pooled("erdos_renyi", n, range(8), mean_degree=mean_degree)
    theirs = np.concatenate([degrees(nx.gnp_random_graph(n, p, seed=s)) for s in range(8)])
    assert ks(ours, theirs) > 0.01
    # Poisson-like degrees, not a regular graph.
    assert ours.var() == pytest.approx(mean_degree, rel=0.2)


def test_erdos_renyi_at_the_densest_is_complete():
    graph = build("erdos_renyi", 30, mean_degree=29.0)
    assert len(graph.edges) == 30 * 29 // 2


def test_ring_is_networkx_ring():
    for n, k in [(10, 2), (11, 4), (50, 6), (7, 6)]:
        ours = build("ring", n, k=k)
        theirs = nx.watts_strogatz_graph(n, k, 0.0)
        assert {tuple(e) for e in ours.edges.tolist()} == {tuple(sorted(e)) for e in theirs.edges}
    # Ring lattice clustering is 3(k - 2) / (4(k - 1)).
    assert nx.average_clustering(as_networkx(build("ring", 200, k=6))) == pytest.approx(0.6)


def test_watts_strogatz_matches_networkx():
    n, k = 600, 6
    ring_clustering = 3 * (k - 2) / (4 * (k - 1))
    for p in (0.1, 1.0):
        ours = [build("watts_strogatz", n, s, k=k, p=p) for s in range(4)]
        theirs = [nx.watts_strogatz_graph(n, k, p, seed=s) for s in range(4)]
        assert {len(g.edges) for g in ours} == {n * k // 2}  # rewiring keeps the edge count
        assert all(g.degree().min() >= k // 2 for g in ours)  # a node keeps its own k/2 edges
        c_ours = np.mean([nx.average_clustering(as_networkx(g)) for g in ours])
        c_theirs = np.mean([nx.average_clustering(g) for g in theirs])
        assert c_ours == pytest.approx(c_theirs, abs=0.02), p
        d_ours = np.concatenate([g.degree() for g in ours])
        d_theirs = np.concatenate([degrees(g) for g in theirs])
        assert ks(d_ours, d_theirs) > 0.01
    # p = 0.1 leaves most triangles: about ring_clustering * (1 - p)^3.
    c = nx.average_clustering(as_networkx(build("watts_strogatz", n, 1, k=k, p=0.1)))
    assert c == pytest.approx(ring_clustering * 0.9**3, abs=0.04)


def test_watts_strogatz_on_a_full_ring_leaves_it_alone():
    # n = 5, k = 4 is already complete: no edge can move anywhere (networkx skips).
    assert len(build("watts_strogatz", 5, 1, k=4, p=1.0).edges) == 10
    assert len(build("watts_strogatz", 7, 1, k=4, p=1.0).edges) == 14


def test_communities_match_networkx_block_model():
    n, blocks, mean_degree, mixing = 800, 4, 8.0, 0.25
    size = n // blocks
    p_in = mean_degree * (1 - mixing) / (size - 1)
    p_out = mean_degree * mixing / (n - size)
    probs = [[p_in if i == j else p_out for j in range(blocks)] for i in range(blocks)]
    block = np.repeat(np.arange(blocks), size)
    ours = [
        build("communities", n, s, blocks=blocks, mean_degree=mean_degree, mixing=mixing)
        for s in range(6)
    ]
    theirs = [nx.stochastic_block_model([size] * blocks, probs, seed=s) for s in range(6)]
    share_ours = np.mean([np.mean(block[g.edges[:, 0]] == block[g.edges[:, 1]]) for g in ours])
    share_theirs = np.mean([np.mean([block[u] == block[v] for u, v in g.edges]) for g in theirs])
    assert share_ours == pytest.approx(1 - mixing, abs=0.02)
    assert share_ours == pytest.approx(share_theirs, abs=0.02)
    mean_ours = np.mean([g.degree().mean() for g in ours])
    assert mean_ours == pytest.approx(np.mean([degrees(g).mean() for g in theirs]), rel=0.03)
    assert mean_ours == pytest.approx(mean_degree, rel=0.03)
    d_ours = np.concatenate([g.degree() for g in ours])
    d_theirs = np.concatenate([degrees(g) for g in theirs])
    assert ks(d_ours, d_theirs) > 0.01


def test_communities_with_unequal_blocks_keep_the_mean_degree():
    graph = build("communities", 1003, 2, blocks=10, mean_degree=6.0, mixing=0.0)
    sizes = [101, 101, 101] + [100] * 7
    block = np.repeat(np.arange(10), sizes)
    assert (block[graph.edges[:, 0]] == block[graph.edges[:, 1]]).all()  # mixing 0: no bridges
    assert graph.degree().mean() == pytest.approx(6.0, rel=0.05)


def test_complete_is_networkx_complete():
    graph = build("complete", 40)
    assert np.array_equal(graph.edges, np.array(sorted(nx.complete_graph(40).edges)))


# ---------------------------------------------------------------------------
# Parameter errors


@pytest.mark.parametrize(
    ("kind", "params", "n", "message"),
    [
        ("barabasi_albert", {"m": 5}, 5, "network.m = 5 must be smaller than population.n = 5"),
        ("ring", {"k": 6}, 6, "network.k = 6 must be smaller than population.n = 6"),
        ("watts_strogatz", {"k": 8}, 4, "network.k = 8 must be smaller than population.n = 4"),
        (
            "erdos_renyi",
            {"mean_degree": 10.0},
            5,
            "network.mean_degree = 10 must be at most population.n - 1 = 4",
        ),
        ("communities", {"blocks": 6}, 5, "network.blocks = 6 must be at most population.n = 5"),
        (
            "communities",
            {"blocks": 4, "mean_degree": 30.0, "mixing": 0.0},
            40,
            "network.mean_degree = 30",
        ),
        ("communities", {"blocks": 2, "mean_degree": 9.0, "mixing": 1.0}, 10, "network.mixing = 1"),
        ("complete", {}, MAX_COMPLETE_N + 1, "population.n <= 20,000"),
    ],
)
def test_impossible_parameters_are_config_errors(kind, params, n, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        build(kind, n, **params)


def test_estimate_edges():
    for kind, params in ALL_KINDS.items():
        cfg = NetworkConfig(kind=kind, **params)
        built = len(build_graph(cfg, 1000, np.random.default_rng(1)).edges)
        assert estimate_edges(cfg, 1000) == pytest.approx(built, rel=0.05), kind
    assert estimate_edges(NetworkConfig(kind="complete"), 10**6) == 10**6 * (10**6 - 1) // 2


# ---------------------------------------------------------------------------
# Graph files


def edge_set(graph: Graph) -> set[tuple[str, str]]:
    return {tuple(sorted((graph.labels[u], graph.labels[v]))) for u, v in graph.edges}


def test_edge_list_round_trip(tmp_path):
    graph = build("barabasi_albert", 200, 4)
    write_edge_list(graph, tmp_path / "g.csv")
    assert (tmp_path / "g.csv").read_text().startswith("source,target\n")
    loaded = load_graph(tmp_path / "g.csv")
    assert loaded.n == graph.n and np.array_equal(loaded.edges, graph.edges)
    assert list(loaded.labels) == [str(i) for i in range(200)]  # ordered numerically


def test_edge_list_rules(tmp_path):
    path = tmp_path / "referrals.csv"
    path.write_text(
        "# exported from the CRM\n"
        "Source,Target,weight\n"
        "10,2,0.5\n"
        "\n"
        "2,10,1.0\n"  # the same edge the other way: merged
        "2,1,1\n"
        "7,7,1\n"  # a self-loop: dropped, node 7 kept
    )
    graph = load_graph(path)
    assert list(graph.labels) == ["1", "2", "7", "10"]  # numeric order, not "10" < "2"
    assert graph.edges.tolist() == [[0, 1], [1, 3]]
    assert graph.degree().tolist() == [1, 2, 0, 1]


def test_edge_list_without_header_words_and_whitespace(tmp_path):
    (tmp_path / "a.csv").write_text("alice,bob\nbob,carol\n")
    graph = load_graph(tmp_path / "a.csv")
    assert edge_set(graph) == {("alice", "bob"), ("bob", "carol")}  # first row is an edge
    assert list(graph.labels) == ["alice", "bob", "carol"]
    g = nx.Graph([("x", "y"), ("y", "z")])
    nx.write_edgelist(g, tmp_path / "b.edgelist")  # "x y {}": whitespace, a third column
    assert edge_set(load_graph(tmp_path / "b.edgelist")) == {("x", "y"), ("y", "z")}
    (tmp_path / "c.tsv").write_text("from\tto\nNew York\tBoston\n")
    assert edge_set(load_graph(tmp_path / "c.tsv")) == {("Boston", "New York")}


def test_graphml_round_trip_with_strategy_attribute(tmp_path):
    g = nx.Graph()
    g.add_node("acme", strategy="reciprocal", size=12)
    g.add_node("bolt", strategy="holdout")
    g.add_node("cord")  # no strategy
    g.add_node("dusk", strategy="naive")  # isolated: kept
    g.add_edges_from([("acme", "bolt"), ("bolt", "cord"), ("cord", "cord")])
    nx.write_graphml(g, tmp_path / "firms.graphml")
    graph = load_graph(tmp_path / "firms.graphml")
    assert graph.n == 4 and list(graph.labels) == ["acme", "bolt", "cord", "dusk"]
    assert graph.edges.tolist() == [[0, 1], [1, 2]]  # the self-loop dropped
    assert list(graph.attributes["strategy"]) == ["reciprocal", "holdout", None, "naive"]
    assert list(graph.attributes["size"]) == [12, None, None, None]
    assert graph.attributes["strategy"].dtype == object


def test_gml_by_label_or_by_id(tmp_path):
    g = nx.Graph()
    g.add_node("x", strategy="naive")
    g.add_node("y", strategy="holdout")
    g.add_edge("x", "y")
    nx.write_gml(g, tmp_path / "labelled.gml")
    graph = load_graph(tmp_path / "labelled.gml")
    assert list(graph.labels) == ["x", "y"] and list(graph.attributes["strategy"]) == [
        "naive",
        "holdout",
    ]
    # Without labels nodes are named by id; a repeated edge is merged.
    (tmp_path / "ids.gml").write_text(
        "graph [\n node [ id 3 ]\n node [ id 12 ]\n node [ id 5 ]\n"
        " edge [ source 3 target 12 ]\n edge [ source 12 target 3 ]\n"
        " edge [ source 5 target 3 ]\n]\n"
    )
    graph = load_graph(tmp_path / "ids.gml")
    assert list(graph.labels) == ["3", "5", "12"]
    assert graph.edges.tolist() == [[0, 1], [0, 2]]


def test_file_kind_ignores_n(tmp_path):
    (tmp_path / "g.csv").write_text("a,b\nb,c\n")
    graph = build_graph(
        NetworkConfig(kind="file", path=str(tmp_path / "g.csv")), 999, np.random.default_rng(0)
    )
    assert graph.n == 3
    assert estimate_edges(NetworkConfig(kind="file", path=str(tmp_path / "g.csv")), 999) >= 2


DIRECTED_GRAPHML = (
    '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
    '<graph edgedefault="directed"><node id="a"/><node id="b"/><edge source="a" target="b"/>'
    "</graph></graphml>"
)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", "", "empty"),
        ("header_only.csv", "# nothing yet\nsource,target\n", "no edges"),
        ("loops.csv", "a,a\nb,b\n", "no edges besides self-loops"),
        ("short.csv", "a,b\nc\n", "line 2: expected two columns"),
        ("blank_field.csv", "a,\n", "line 1: expected two columns"),
        ("latin1.csv", b"caf\xe9,bar\n", "not a UTF-8 text file"),
        ("broken.graphml", "<graphml><graph", "not a readable GraphML file"),
        ("directed.graphml", DIRECTED_GRAPHML, "directed.*needs an undirected"),
        ("broken.gml", "graph [ node [ id 0 ", "not a readable GML file"),
        (
            "directed.gml",
            "graph [ directed 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]",
            "directed 1.*needs an undirected",
        ),
        ("no_edges.gml", "graph [ node [ id 0 ] node [ id 1 ] ]", "no edges"),
        ("graph.xlsx", "a,b\n", "unknown graph file type '.xlsx'"),
    ],
)
def test_bad_files_are_config_errors_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as err:
        load_graph(path)
    assert name in str(err.value)
    with pytest.raises(ConfigError, match=name):
        build_graph(NetworkConfig(kind="file", path=str(path)), 10, np.random.default_rng(0))


# ---------------------------------------------------------------------------
# Strategy placement

MIX = {"strategic": 0.25, "reciprocal": 0.25, "holdout": 0.5}


def test_counts_are_exact_largest_remainder():
    assert strategy_counts(MIX, 10).tolist() == [3, 2, 5]  # tie in remainder: first in mix
    assert strategy_counts({"a": 0.34, "b": 0.33, "c": 0.33}, 100).tolist() == [34, 33, 33]
    assert strategy_counts({"a": 0.5, "b": 0.5, "c": 0.0}, 7).tolist() == [4, 3, 0]
    for n in (2, 11, 997, 10**6):
        assert strategy_counts({"a": 0.15, "b": 0.2, "c": 0.65}, n).sum() == n


def test_random_placement_counts_and_determinism():
    graph = build("ring", 1000, k=4)
    a = place_strategies(graph, MIX, "random", "strategy", np.random.default_rng(1))
    b = place_strategies(graph, MIX, "random", "strategy", np.random.default_rng(1))
    c = place_strategies(graph, MIX, "random", "strategy", np.random.default_rng(2))
    assert a.dtype == np.int64 and np.bincount(a).tolist() == [250, 250, 500]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, np.sort(a))  # shuffled, not in blocks


def test_hubs_first_puts_the_first_strategy_on_the_hubs():
    graph = build("barabasi_albert", 2000, 5, m=2)
    degree = graph.degree()
    placed = place_strategies(graph, MIX, "hubs_first", "strategy", np.random.default_rng(0))
    assert np.bincount(placed).tolist() == [500, 500, 1000]
    assert degree[placed == 0].min() >= degree[placed == 1].max()
    assert degree[placed == 1].min() >= degree[placed == 2].max()
    assert placed[np.argmax(degree)] == 0
    last = place_strategies(graph, MIX, "hubs_last", "strategy", np.random.default_rng(0))
    assert degree[last == 0].max() <= degree[last == 1].min()
    assert last[np.argmax(degree)] == 2


def test_hubs_ties_are_broken_at_random():
    graph = build("ring", 100, k=4)  # every degree equal
    a = place_strategies(
        graph, {"x": 0.5, "y": 0.5}, "hubs_first", "strategy", np.random.default_rng(1)
    )
    b = place_strategies(
        graph, {"x": 0.5, "y": 0.5}, "hubs_first", "strategy", np.random.default_rng(2)
    )
    assert not np.array_equal(a, b) and not np.array_equal(a, np.sort(a))


def test_attribute_placement(tmp_path):
    g = nx.Graph([("a", "b"), ("b", "c")])
    nx.set_node_attributes(g, {"a": "holdout", "b": "strategic", "c": "holdout"}, "role")
    nx.write_graphml(g, tmp_path / "roles.graphml")
    graph = load_graph(tmp_path / "roles.graphml")
    placed = place_strategies(graph, MIX, "attribute", "role", np.random.default_rng(0))
    assert placed.tolist() == [2, 0, 2]


def test_attribute_placement_errors(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="population.attribute = 'strategy'.*no such attribute"):
        place_strategies(build("ring", 10), MIX, "attribute", "strategy", rng)
    g = nx.Graph([("acme", "bolt")])
    g.nodes["acme"]["strategy"] = "holdout"
    nx.write_graphml(g, tmp_path / "partial.graphml")
    with pytest.raises(ConfigError, match="node 'bolt': attribute 'strategy' has no value"):
        place_strategies(
            load_graph(tmp_path / "partial.graphml"), MIX, "attribute", "strategy", rng
        )
    g.nodes["bolt"]["strategy"] = "titfortat"
    nx.write_graphml(g, tmp_path / "typo.graphml")
    with pytest.raises(ConfigError) as err:
        place_strategies(load_graph(tmp_path / "typo.graphml"), MIX, "attribute", "strategy", rng)
    assert "'bolt'" in str(err.value) and "'titfortat'" in str(err.value)
    assert "strategic, reciprocal, holdout" in str(err.value)


def test_unknown_placement_is_a_config_error():
    with pytest.raises(ConfigError, match="population.placement = 'clustered'"):
        place_strategies(build("ring", 10), MIX, "clustered", "strategy", np.random.default_rng(0))
