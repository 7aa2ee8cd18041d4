"""The bulk edge-list reader against the line-by-line one: the same graph, or it steps aside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from environments import network
from environments.config import ConfigError
from environments.edge_list import read_plain

LABELS = [
    "0", "1", "2", "10", "007", "7", "+7", "-3", "99999999999999999999", "\u0663",
    "alice", "Bob", "New York", "caf\u00e9", " pad ", "a\u00a0b", "#tag", "x#",
]  # fmt: skip

# Every character Python's str.strip() removes, but those that end a line or are
# separators (\x1c-\x1f), which the bulk reader leaves to the line-by-line one.
PADDING = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\n\r\x1c\x1d\x1e\x1f"
)


def _line_by_line(path: Path) -> network.Graph | str:
    """The graph the line-by-line reader makes of `path`, or its error."""
    try:
        src, dst = network._read_edge_list(path)
        return network._assemble(path, src, dst, nodes=[], attrs={})
    except ConfigError as exc:
        return str(exc)


def _bulk(path: Path) -> network.Graph | str | None:
    """The graph the bulk reader makes of `path`, its error, or None when it steps aside."""
    plain = read_plain(path)
    if plain is None:
        return None
    try:
        return network._graph(path, *plain)
    except ConfigError as exc:
        return str(exc)


def _same(a: network.Graph | str, b: network.Graph | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (
        a.n == b.n
        and np.array_equal(a.edges, b.edges)
        and list(a.labels) == list(b.labels)
        and all(isinstance(x, str) for x in a.labels)
    )


def _rarely(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """`common` nine times in ten, else `rare`."""
    return st.integers(0, 9).flatmap(lambda i: rare if i == 0 else common)


@st.composite
def edge_lists(draw) -> bytes:
    """Edge-list files: mostly plain, with the rarer things the line-by-line reader handles."""
    delimiter = draw(st.sampled_from([",", "\t", " ", ", ", "  "]))
    label = _rarely(st.sampled_from(LABELS), st.text('ab1 ,\t#"\x1c\u2028\r', max_size=3))
    edge = st.tuples(label, label).map(lambda e: delimiter.join(e))
    odd = st.sampled_from(["", "  ", ",,", ",,x", "# a comment", "  # indented, comment", "a"])
    names = st.sampled_from([("source", "target"), ("Source", "Target"), ("FROM", "to")])
    header = names.map(lambda h: delimiter.join(h)) | st.just("from,to,weight")
    line = _rarely(edge | edge.map(lambda e: e + delimiter + "0.5"), odd | header)
    lines = draw(st.lists(line, min_size=1, max_size=8))
    if draw(st.booleans()):
        lines.insert(0, draw(header))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 19)) == 0:
        data += b"\xff,x\n"  # not UTF-8 after the first line
    return data


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=edge_lists())
def test_the_bulk_reader_gives_the_line_by_line_readers_graph_or_steps_aside(tmp_path, data):
    path = tmp_path / "edges.csv"
    path.write_bytes(data)
    bulk = _bulk(path)
    if bulk is not None:
        assert _same(bulk, _line_by_line(path)), data


@pytest.mark.parametrize(
    "text",
    [
        "source,target\n0,1\n0,2\n2,10\n",  # as write_edge_list writes it
        "# Nodes: 4 Edges: 3\n# FromNodeId\tToNodeId\n3466\t937\n937\t5\n5\t3466\n",  # SNAP
        "alice bob {}\nbob carol {'weight': 2}\n",  # networkx.write_edgelist
        "\ufeffFrom,To\r\nNew York,Boston\r\n\r\nBoston,New York\r\n",  # a spreadsheet's CSV
        "a,b\n  # a note\n,,\n c , d \n7,7\n",
        f"{PADDING}x{PADDING},{PADDING}y{PADDING}\na,b\n",  # stripped alike
    ],
)
def test_common_files_are_read_in_bulk(tmp_path, text):
    path = tmp_path / "edges.csv"
    path.write_text(text, encoding="utf-8")
    bulk = _bulk(path)
    assert bulk is not None
    assert _same(bulk, _line_by_line(path))


@pytest.mark.parametrize(
    "text",
    [
        'a,"b,c"\n',  # quoting: the csv module's rules
        "a,b\nc\n",  # a row with one label: the line-by-line reader names line 2
        "a,b\n,,x\n",  # empty labels, something after them
        "a  b\nc d\n",  # a run of spaces between the labels
        "x y\n a b\n",  # a space before the first label
        "a\u00a0b alice\n",  # str.split() splits at a no-break space: a, b, alice
        "a\x0bb c\n",  # ... and at a vertical tab
        "a,b\rc,d\r",  # old Mac line ends
    ],
)
def test_files_that_are_not_plain_are_left_to_the_line_by_line_reader(tmp_path, text):
    path = tmp_path / "edges.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert read_plain(path) is None


def test_load_graph_reads_a_large_plain_file_in_bulk(tmp_path):
    """Through `load_graph`: the bulk reader's graph is the one the line-by-line reader makes."""
    graph = network.build_graph(
        network.NetworkConfig(kind="barabasi_albert", m=3), 2_000, np.random.default_rng(3)
    )
    path = tmp_path / "ba.csv"
    network.write_edge_list(graph, path)
    assert read_plain(path) is not None
    loaded = network.load_graph(path)
    assert _same(loaded, _line_by_line(path))
    assert np.array_equal(loaded.edges, graph.edges)
