"""Bad input through the CLI: exit code 2, one clear line naming the key or file, nothing written.

Every case goes through both `concession run FILE --out DIR` (the bad
configuration as the file) and `concession sweep SPEC --out DIR` (the bad
configuration as the spec's `[base]`, or the bad file as the spec), in real
subprocesses. The commands of all cases are started together (module
fixture) so that the file takes seconds, not minutes.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from experiments.spec import dumps_toml
from tests.reliability.faulty import assert_refused, cli

GOOD = {
    "seed": 1,
    "steps": 4,
    "population": {"n": 30, "mix": {"strategic": 0.5, "reciprocal": 0.5}},
    "network": {"kind": "barabasi_albert", "m": 2},
}

# Graph files, written by the fixture: name -> content.
GRAPHS = {
    "empty.csv": "",
    "one-column.csv": "source,target\na\nb,c\n",
    "binary.csv": b"\xff\xfe\x00\x81 not text",
    "not-xml.graphml": "<graphml><graph edgedefault='undirected'><node id='a'",
    "directed.graphml": (
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<graph edgedefault="directed"><node id="a"/><node id="b"/><node id="c"/>'
        '<edge source="a" target="b"/><edge source="b" target="c"/></graph></graphml>'
    ),
    "directed.gml": "graph [ directed 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]",
    "loops-only.csv": "a,a\nb,b\n",
    "broken.gml": "graph [ node [ id 0 ",
    "graph.xyz": "a,b\n",
}


def network_file(name: str) -> dict[str, Any]:
    """A configuration change: the network read from graph file `name` (in the case's folder)."""
    return {"network": {"kind": "file", "path": "{dir}/" + name}}


# (case id, change to GOOD (None: the TOML text below), what the error line must hold)
CASES: list[tuple[str, dict[str, Any] | str, tuple[str, ...]]] = [
    ("unknown-key", {"population": {"nn": 10}}, ("'population.nn'", "did you mean 'n'")),
    ("unknown-section", {"netwrok": {"m": 2}}, ("'netwrok'", "did you mean 'network'")),
    ("unknown-nested-key", {"deal": {"batna": {"hi": 1.0}}}, ("'deal.batna.hi'", "'high'")),
    ("wrong-type-word", {"population": {"n": "ten"}}, ("population.n", "'ten'")),
    ("wrong-type-quoted", {"deal": {"continuation": "0.5"}}, ("deal.continuation", "string")),
    ("wrong-type-bool", {"reputation": {"gossip_prob": True}}, ("reputation.gossip_prob",)),
    ("wrong-type-table", {"population": 5}, ("population = 5",)),
    (
        "out-of-range-prob",
        {"deal": {"continuation": 1.5}},
        ("deal.continuation = 1.5", "allowed: a number in [0, 1]"),
    ),
    (
        "out-of-range-n",
        {"population": {"n": -5}},
        ("population.n = -5", "a whole number in [2, 50,000,000]"),
    ),
    ("out-of-range-items", {"items": {"count": 99}}, ("items.count = 99", "[1, 32]")),
    ("batna-order", {"deal": {"batna": {"low": 0.8, "high": 0.2}}}, ("batna.high", "below")),
    (
        "shares-not-1",
        {"population": {"mix": {"strategic": 0.5, "naive": 0.4}}},
        ("population.mix", "sum to 0.9", "must sum to 1"),
    ),
    (
        "share-out-of-range",
        {"population": {"mix": {"strategic": 1.5, "naive": -0.5}}},
        ("population.mix", "[0, 1]"),
    ),
    (
        "unknown-strategy",
        {"population": {"mix": {"stratgic": 1.0}}},
        ("unknown strategy 'stratgic'", "did you mean 'strategic'", "built-ins"),
    ),
    (
        "unimportable-module",
        {"population": {"mix": {"nosuch.module:Generous": 1.0}}},
        ("'nosuch.module:Generous'", "cannot import module 'nosuch.module'"),
    ),
    (
        "missing-class",
        {"population": {"mix": {"agents.strategy:Generous": 1.0}}},
        ("'agents.strategy:Generous'", "has no 'Generous'"),
    ),
    (
        "not-a-strategy",
        {"population": {"mix": {"os:getcwd": 1.0}}},
        ("'os:getcwd'", "not a Strategy subclass"),
    ),
    (
        "unknown-strategy-param",
        {"strategies": {"strategic": {"patiense": 2}}},
        ("strategies.strategic.patiense", "did you mean 'patience'"),
    ),
    ("m-at-least-n", {"population": {"n": 3}, "network": {"m": 3}}, ("network.m = 3", "n = 3")),
    (
        "k-at-least-n",
        {"population": {"n": 4}, "network": {"kind": "ring", "k": 4}},
        ("network.k = 4", "population.n = 4"),
    ),
    (
        "degree-too-high",
        {"population": {"n": 10}, "network": {"kind": "erdos_renyi", "mean_degree": 20.0}},
        ("network.mean_degree = 20", "population.n - 1 = 9"),
    ),
    (
        "blocks-too-many",
        {"population": {"n": 10}, "network": {"kind": "communities", "blocks": 20}},
        ("network.blocks = 20", "population.n = 10"),
    ),
    (
        "attribute-placement-without-file",
        {"population": {"placement": "attribute"}},
        ("population.placement = 'attribute'", "network.kind = 'file'"),
    ),
    ("graph-path-missing", {"network": {"kind": "file"}}, ("network", "needs path")),
    ("graph-missing", network_file("nowhere.csv"), ("nowhere.csv", "no such file")),
    ("graph-empty", network_file("empty.csv"), ("empty.csv", "empty")),
    ("graph-malformed-csv", network_file("one-column.csv"), ("one-column.csv", "line 2")),
    ("graph-not-text", network_file("binary.csv"), ("binary.csv", "not a UTF-8")),
    ("graph-malformed-graphml", network_file("not-xml.graphml"), ("not-xml.graphml",)),
    ("graph-malformed-gml", network_file("broken.gml"), ("broken.gml", "GML")),
    ("graph-directed-graphml", network_file("directed.graphml"), ("directed.graphml", "directed")),
    ("graph-directed-gml", network_file("directed.gml"), ("directed.gml", "directed 1")),
    ("graph-only-self-loops", network_file("loops-only.csv"), ("loops-only.csv", "self-loops")),
    ("graph-unknown-type", network_file("graph.xyz"), ("graph.xyz", "'.xyz'", ".graphml")),
    (
        "toml-syntax",
        "seed = 1\n[population]\nn = 30\nmix = { strategic = 0.5, reciprocal = }\n",
        ("TOML syntax error", "line 4, column"),
    ),
    ("toml-duplicate-key", "seed = 1\nseed = 2\n", ("TOML syntax error", "line 2")),
    (
        "memory",
        {"population": {"n": 50_000_000}, "network": {"m": 3}},
        ("population.n = 50,000,000", "network.m = 3", "needs about", "GiB available"),
    ),
]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "mix":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _fill(data: Any, folder: Path) -> Any:
    if isinstance(data, dict):
        return {k: _fill(v, folder) for k, v in data.items()}
    if isinstance(data, str):
        return data.replace("{dir}", str(folder))
    return data


def _case_files(folder: Path, change: dict[str, Any] | str) -> tuple[Path, Path]:
    """Write the case's configuration and a sweep spec using it as [base]; returns both paths."""
    for name, content in GRAPHS.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    config, spec = folder / "config.toml", folder / "spec.toml"
    if isinstance(change, str):  # a file that is not valid TOML: the same text for both
        config.write_text(change)
        spec.write_text(change)
        return config, spec
    cfg = _fill(_merge(GOOD, change), folder)
    config.write_text(dumps_toml(cfg))
    base = {k: v for k, v in cfg.items() if k not in ("seed", "steps")}
    spec.write_text(
        dumps_toml(
            {
                "name": "bad",
                "replicates": 1,
                "steps": 4,
                "seed": 1,
                "base": base,
                "sweep": {"parameters": {"deal.continuation": [0.5]}},
            }
        )
    )
    return config, spec


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[tuple[str, str], tuple[Any, Path, set[str]]]:
    """Run every case through `run` and `sweep` at once; (case, command) -> (result, out, files)."""
    jobs = {}
    for case, change, _ in CASES:
        folder = tmp_path_factory.mktemp(case)
        config, spec = _case_files(folder, change)
        before = {p.name for p in folder.iterdir()}
        jobs[(case, "run")] = (folder, before, ["run", str(config), "--out", str(folder / "out")])
        jobs[(case, "sweep")] = (
            folder,
            before,
            ["sweep", str(spec), "--out", str(folder / "sweep-out"), "--no-progress"],
        )
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(cli, *args) for key, (_, _, args) in jobs.items()}
        return {
            key: (futures[key].result(), folder, before)
            for key, (folder, before, _) in jobs.items()
        }


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize(
    ("case", "needles"), [(c, n) for c, _, n in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(outcomes, case, needles, command):
    result, folder, before = outcomes[(case, command)]
    assert_refused(result, *needles)
    assert {p.name for p in folder.iterdir()} == before, "something was written"


def test_the_good_configuration_runs_through_both_commands(tmp_path):
    """The cases above differ from this one by one change only."""
    config, spec = _case_files(tmp_path, {})
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    result = cli("sweep", str(spec), "--out", str(tmp_path / "sweep"), "--workers", "0")
    assert result.returncode == 0, result.stderr


def test_self_loops_are_dropped_and_isolated_nodes_kept(tmp_path):
    """Handled, not refused (docs/reliability.md): a loop is no relationship; a loner deals with nobody."""
    graph = tmp_path / "g.graphml"
    graph.write_text(
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<graph edgedefault="undirected">'
        + "".join(f'<node id="n{i}"/>' for i in range(6))
        + '<edge source="n0" target="n1"/><edge source="n1" target="n2"/>'
        '<edge source="n2" target="n0"/><edge source="n3" target="n4"/>'
        '<edge source="n4" target="n4"/><edge source="n1" target="n1"/>'
        "</graph></graphml>"
    )
    config = tmp_path / "c.toml"
    config.write_text(dumps_toml(_merge(GOOD, {"network": {"kind": "file", "path": str(graph)}})))
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    agents = pl.read_parquet(tmp_path / "out" / "agents.parquet")
    assert agents.height == 6  # n5 has no edge at all: it is kept
    assert agents["degree"].to_list() == [2, 2, 2, 1, 1, 0]  # loops are not counted
    steps = pl.read_parquet(tmp_path / "out" / "steps.parquet")
    assert steps["deals"].max() <= 4  # four relationships, no loop deals with itself


def test_bad_options_exit_2(tmp_path):
    config, spec = _case_files(tmp_path, {})
    assert_refused(cli("run", str(config), "--steps", "-3"), "--steps = -3")
    (tmp_path / "file").write_text("x")
    assert_refused(cli("run", str(config), "--out", str(tmp_path / "file")), "not a folder")
    assert_refused(
        cli("run", str(config), "--out", str(tmp_path / "file" / "sub")), "is not a folder"
    )
    assert_refused(
        cli("sweep", str(spec), "--out", str(tmp_path / "file"), "--no-progress"),
        "not a folder",
    )
    assert_refused(
        cli("sweep", str(spec), "--out", str(tmp_path / "s"), "--workers", "-1"), "--workers"
    )
    assert not (tmp_path / "s").exists()
