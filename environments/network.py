"""The referral graph: generators, graph files, and where each strategy sits.

A `Graph` is a number of nodes and an array of undirected edges: one row
``(u, v)`` per edge with ``u < v``, rows unique and sorted, no self-loops.
Node ids are ``0 .. n-1``; a negotiator is a node.

Why numpy and not networkx. The model runs populations of up to millions of
negotiators. networkx stores a graph as dicts of dicts (several hundred bytes
per edge) and its generators loop in Python per edge, so a Barabasi-Albert
graph of 10^6 nodes takes about a minute and gigabytes of memory there. The
generators below build the same random graph models as networkx directly as
edge arrays, vectorised with numpy: a million nodes in about a second and a
few hundred MB at most. Their statistics are checked against networkx's
generators in the tests. networkx is still used where it is good: reading
GraphML and GML files.

Randomness comes only from the `numpy.random.Generator` passed in, drawn in a
fixed order, so the same seed gives the same graph.

Graph files (`load_graph`):

- Edge list (``.csv``, ``.tsv``, ``.txt``, ``.edgelist``): one edge per row,
  the first two columns are the source and target labels; further columns
  (weights, types) are ignored. The delimiter is a comma if the first data
  line has one, else a tab if it has one, else whitespace. Blank lines and
  lines starting with ``#`` are skipped. The first row is a header, and is
  skipped, exactly when its first two fields are ``source, target`` or
  ``from, to`` (any case); any other first row is an edge, so labels may be
  words. An edge list cannot name an isolated node.
- GraphML (``.graphml``) and GML (``.gml``) through networkx. A GML node is
  named by its ``label`` when every node has a distinct one, else by its
  ``id``. Node attributes are kept in `Graph.attributes`.
- Edges are undirected: a directed GraphML (``edgedefault="directed"``) or
  GML (``directed 1``) graph is refused, because reciprocity and referral
  need a relationship both sides see. An edge list is read as undirected
  (``a,b`` and ``b,a`` are the same edge).
- Self-loops are dropped (nobody negotiates with itself; the node is kept).
  Duplicate edges are merged into one. Isolated nodes are kept: they hold a
  place in the population but deal with nobody (a referral goes to a contact
  of someone who dealt, so it never reaches them).
- Nodes are renumbered ``0 .. n-1`` by sorting their labels: numerically if
  every label is an integer, else as strings. `Graph.labels` keeps the
  original labels (as strings) by node id.

Every problem with a parameter or a file is a `ConfigError` naming the key
or the file and what is allowed, never a traceback.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from environments.compiled import compiled
from environments.config import ConfigError, NetworkConfig
from environments.edge_list import HEADERS, INT_LABEL, delimiter_of, read_plain

#: A complete graph of this many nodes already has about 2 * 10^8 edges.
MAX_COMPLETE_N = 20_000

EDGE_LIST_SUFFIXES = (".csv", ".tsv", ".txt", ".edgelist")
GRAPHML_SUFFIXES = (".graphml",)
GML_SUFFIXES = (".gml",)


@dataclass(frozen=True, eq=False)
class Graph:
    """An undirected referral graph on nodes ``0 .. n-1``.

    `edges` is an int64 array of shape (E, 2), each row ``u < v``, rows unique
    and sorted lexicographically. `labels` are the original node labels of a
    loaded file (strings, by node id), None for a generated graph.
    `attributes` are a file's node attributes (object arrays by node id, None
    where a node has no value); empty for a generated graph.
    """

    n: int
    edges: np.ndarray
    labels: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    def degree(self) -> np.ndarray:
        """The number of neighbours of each node, as int64 by node id."""
        return np.bincount(self.edges.ravel(), minlength=self.n).astype(np.int64, copy=False)

    def node_name(self, node: int) -> str:
        """How a person recognises `node`: its label in the file, else its id."""
        return str(self.labels[node]) if self.labels is not None else str(node)


# ----------------------------------------------------------------------------
# Building


def build_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> Graph:
    """Build the referral graph `cfg` describes on `n` nodes, drawing from `rng`.

    For ``kind = "file"`` the graph is loaded from ``cfg.path`` and `n` is
    ignored: the file decides the population size (``graph.n``).
    """
    kind = cfg.kind
    if kind == "file":
        if not cfg.path:
            raise ConfigError("network.kind = 'file' needs network.path = '...'")
        return load_graph(cfg.path)
    check_graph_params(cfg, n)
    if kind == "barabasi_albert":
        u, v = _barabasi_albert(n, cfg.m, rng)
    elif kind == "ring":
        u, v = _ring(n, cfg.k)
    elif kind == "watts_strogatz":
        u, v = _watts_strogatz(n, cfg.k, cfg.p, rng)
    elif kind == "erdos_renyi":
        u, v = _erdos_renyi(n, cfg.mean_degree / (n - 1), rng)
    elif kind == "complete":
        return Graph(n=n, edges=_complete(n))
    elif kind == "communities":
        u, v = _communities(n, cfg.blocks, cfg.mean_degree, cfg.mixing, rng)
    else:  # pragma: no cover - the config only admits the kinds above
        raise ConfigError(f"network.kind = {kind!r} is not a known graph kind")
    return Graph(n=n, edges=_canonical(n, u, v))


def check_graph_params(cfg: NetworkConfig, n: int) -> None:
    """Refuse a generated network that cannot exist on `n` nodes (m >= n, k >= n, ...).

    Cheap (nothing is drawn), so a configuration is checked when it is read,
    and `build_graph` checks again. A ``file`` network is not checked here:
    its file decides the size.
    """
    kind = cfg.kind
    if kind == "file":
        return
    if n < 2:
        raise ConfigError(f"population.n = {n}: a referral network needs at least 2 negotiators")
    if kind == "barabasi_albert" and cfg.m >= n:
        raise ConfigError(
            f"network.m = {cfg.m} must be smaller than population.n = {n} "
            "(each new node attaches to m existing ones)"
        )
    if kind in ("ring", "watts_strogatz") and cfg.k >= n:
        raise ConfigError(
            f"network.k = {cfg.k} must be smaller than population.n = {n} "
            "(each node joins k/2 neighbours on each side)"
        )
    if kind == "erdos_renyi" and cfg.mean_degree > n - 1:
        raise ConfigError(
            f"network.mean_degree = {cfg.mean_degree:g} must be at most "
            f"population.n - 1 = {n - 1} (a node has at most n - 1 neighbours)"
        )
    if kind == "complete" and n > MAX_COMPLETE_N:
        raise ConfigError(
            f"network.kind = 'complete' with population.n = {n} would have "
            f"{n * (n - 1) // 2:,} edges; a complete graph is limited to "
            f"population.n <= {MAX_COMPLETE_N:,} (for a dense large population use "
            "erdos_renyi with a high mean_degree)"
        )
    if kind == "communities":
        _check_communities(n, cfg.blocks, cfg.mean_degree, cfg.mixing)


def estimate_edges(cfg: NetworkConfig, n: int) -> int:
    """The expected number of undirected edges `build_graph(cfg, n, ...)` makes.

    Meant for a memory estimate before building; nothing is drawn. For
    ``kind = "file"`` it is an upper bound counted from the file's edge
    records (lines of an edge list, ``edge`` elements of GraphML/GML).
    """
    kind = cfg.kind
    if kind == "barabasi_albert":
        return cfg.m * max(n - cfg.m, 0)
    if kind in ("ring", "watts_strogatz"):
        return n * cfg.k // 2
    if kind == "complete":
        return n * (n - 1) // 2
    if kind in ("erdos_renyi", "communities"):
        return round(n * min(cfg.mean_degree, n - 1) / 2)
    if kind == "file":
        return _count_edge_records(_existing(cfg.path))
    raise ConfigError(f"network.kind = {kind!r} is not a known graph kind")  # pragma: no cover


def _canonical(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Edges as sorted unique rows ``u < v``: self-loops dropped, duplicates merged."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    lo = np.minimum(u, v)
    hi = np.maximum(u, v)
    keep = lo != hi
    # One int64 key per edge sorts lexicographically by (lo, hi) and is
    # cheaper to sort and deduplicate than rows; n^2 fits int64 up to 3e9 nodes.
    # (Sort and compare rather than np.unique, which is ten times slower here.)
    keys = np.sort(lo[keep] * n + hi[keep])
    if keys.size > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    edges = np.empty((keys.size, 2), dtype=np.int64)
    np.divmod(keys, n, out=(edges[:, 0], edges[:, 1]))
    return edges


def _keys(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One int64 key per undirected pair, independent of its orientation."""
    return np.minimum(u, v) * n + np.maximum(u, v)


def _member(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of `x` is in the sorted array `sorted_keys`."""
    if sorted_keys.size == 0:
        return np.zeros(x.shape, dtype=bool)
    i = np.searchsorted(sorted_keys, x)
    i[i == sorted_keys.size] = 0
    return sorted_keys[i] == x


def _barabasi_albert(n: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Linear preferential attachment, the model of networkx's `barabasi_albert_graph`.

    Start from a star of m + 1 nodes (node 0 the centre). Each new node t
    attaches to m distinct existing nodes, each drawn with probability
    proportional to its degree, by drawing uniformly from the list R of edge
    endpoints so far and redrawing a repeat (networkx's rejection rule).

    R has a fixed layout: the star's 2m endpoints, then for each new node t a
    block of 2m entries, its m targets followed by t itself m times. So the
    length of R before node t is known in advance (2m(t - m)), and a draw is
    an index into R: an index into a block's second half *is* that block's
    node; an index into its first half points at an earlier node's target.
    Nodes are processed in chunks a quarter the size of the graph so far:
    all of a chunk's indices are drawn at once and resolved, repeatedly,
    as the targets they point to become final, so most of the work is
    vectorised while every node still sees exactly the graph before it.
    """
    n_new = n - m - 1
    R = np.empty(2 * m * (n - m), dtype=np.int64)
    R[:m] = 0
    R[m : 2 * m] = np.arange(1, m + 1)
    blocks = R[2 * m :].reshape(n_new, 2 * m)
    blocks[:, m:] = np.arange(m + 1, n, dtype=np.int64)[:, None]
    targets = blocks[:, :m]  # a view: targets written here are visible through R
    a = m + 1
    while a < n:
        b = min(n, a + max(1, (a - m) // 4))
        _attach_chunk(R, targets, a, b, m, rng)
        a = b
    u = np.concatenate([np.zeros(m, np.int64), np.repeat(np.arange(m + 1, n, dtype=np.int64), m)])
    v = np.concatenate([np.arange(1, m + 1, dtype=np.int64), targets.ravel()])
    return u, v


def _attach_chunk(
    R: np.ndarray, targets: np.ndarray, a: int, b: int, m: int, rng: np.random.Generator
) -> None:
    """Choose the m targets of each new node a .. b-1 (see `_barabasi_albert`)."""
    c = b - a
    row0 = a - m - 1  # row of node a in `targets`
    start = 2 * m * (a - m)  # everything in R before this is final
    length = 2 * m * (np.arange(a, b, dtype=np.int64) - m)  # len(R) before each node
    idx = rng.integers(0, length[:, None], size=(c, m))
    vals = np.full((c, m), -1, dtype=np.int64)
    final = np.zeros(c, dtype=bool)
    open_rows = np.arange(c)
    while open_rows.size:
        v = vals[open_rows]
        todo = v < 0
        pos = idx[open_rows][todo]
        rel = pos - start
        # A drawn entry is known if it lies before the chunk, in a node's own
        # half of its block, or among the targets of a chunk node already final.
        known = (rel < 0) | (rel % (2 * m) >= m)
        known[~known] = final[rel[~known] // (2 * m)]
        v[todo] = np.where(known, R[pos], -1)
        vals[open_rows] = v
        complete = (v >= 0).all(axis=1)
        rows, cv = open_rows[complete], v[complete]
        dup = _later_repeats(cv)
        ok = ~dup.any(axis=1)
        targets[row0 + rows[ok]] = cv[ok]
        final[rows[ok]] = True
        # A repeated target is redrawn from the same list (networkx's rule).
        bad, bad_dup = rows[~ok], dup[~ok]
        if bad.size:
            cv = cv[~ok]
            cv[bad_dup] = -1
            vals[bad] = cv
            bidx = idx[bad]
            high = np.broadcast_to(length[bad, None], bad_dup.shape)[bad_dup]
            bidx[bad_dup] = rng.integers(0, high)
            idx[bad] = bidx
        open_rows = np.flatnonzero(~final)


def _later_repeats(rows: np.ndarray) -> np.ndarray:
    """Mark, in each row, every entry equal to an earlier entry of the same row."""
    dup = np.zeros(rows.shape, dtype=bool)
    if rows.shape[1] < 2 or rows.shape[0] == 0:
        return dup
    order = np.argsort(rows, axis=1, kind="stable")
    srt = np.take_along_axis(rows, order, axis=1)
    np.put_along_axis(dup, order[:, 1:], srt[:, 1:] == srt[:, :-1], axis=1)
    return dup


def _ring(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each node joined to its k/2 nearest neighbours on each side, in networkx's order."""
    half = k // 2
    u = np.tile(np.arange(n, dtype=np.int64), half)
    v = (u + np.repeat(np.arange(1, half + 1, dtype=np.int64), n)) % n
    return u, v


def _watts_strogatz(
    n: int, k: int, p: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A ring whose edges' far endpoints are rewired with probability p (networkx's model).

    As in networkx's `watts_strogatz_graph`, each ring edge (u, u + j) is
    chosen with probability p and its far end moved to a uniformly drawn node
    w, redrawn while w is u or already a neighbour of u; a node already joined
    to everyone keeps its edge. networkx rewires one edge at a time; here all
    chosen edges propose at once and a proposal that collides with an edge of
    the current graph, or with an earlier edge's proposal, is redrawn. The
    two differ only in which of two colliding rewirings is redrawn.
    """
    u, v = _ring(n, k)
    chosen = np.flatnonzero(rng.random(u.size) < p)
    if chosen.size == 0:
        return u, v
    cu, cv = u[chosen], v[chosen].copy()
    kept = np.ones(u.size, dtype=bool)
    kept[chosen] = False
    kept_keys = np.sort(_keys(n, u[kept], v[kept]))
    degree = np.full(n, k, dtype=np.int64)
    done_keys = np.empty(0, dtype=np.int64)  # edges already rewired (or left alone)
    pending = np.arange(chosen.size)
    w = rng.integers(0, n, size=chosen.size)
    while pending.size:
        pu, pw = cu[pending], w[pending]
        prop = _keys(n, pu, pw)
        bad = (pw == pu) | _member(prop, kept_keys) | _member(prop, np.sort(done_keys))
        # Edges still waiting to be rewired are in the graph, including the edge itself.
        bad |= _member(prop, np.sort(_keys(n, pu, cv[pending])))
        bad |= _later_repeats(prop[None, :])[0]
        good = pending[~bad]
        np.subtract.at(degree, cv[good], 1)
        np.add.at(degree, w[good], 1)
        cv[good] = w[good]
        stuck = pending[bad & (degree[pu] >= n - 1)]
        pending = pending[bad & (degree[pu] < n - 1)]
        done_keys = np.concatenate(
            [done_keys, _keys(n, cu[good], cv[good]), _keys(n, cu[stuck], cv[stuck])]
        )
        w[pending] = rng.integers(0, n, size=pending.size)
    v = v.copy()
    v[chosen] = cv
    return u, v


def _bernoulli_positions(total: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """The positions in ``0 .. total-1`` kept when each is kept independently with probability p.

    Draws the gaps between kept positions (geometric), so the cost is in the
    number kept, not in `total` (Batagelj and Brandes 2005; the same method as
    networkx's `fast_gnp_random_graph`). Equivalent to drawing the count from
    Binomial(total, p) and then that many distinct positions uniformly.
    """
    if total <= 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(total, dtype=np.int64)
    parts = []
    last = -1
    while True:
        mean = (total - 1 - last) * p
        size = int(min(mean + 6.0 * math.sqrt(mean) + 16.0, 1 << 24))
        pos = last + np.cumsum(rng.geometric(p, size=size))
        cut = int(np.searchsorted(pos, total))
        parts.append(pos[:cut])
        if cut < size:
            break
        last = int(pos[-1])
    return np.concatenate(parts)


def _triangle_pairs(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pair (u, v), u < v, at position k of the row-major upper triangle of n x n."""
    b = 2 * n - 1
    # Row u starts at u(2n - u - 1)/2; invert with the quadratic formula in
    # float, then correct the rounding with exact integer arithmetic.
    disc = (b * b - 8 * k).astype(np.float64)
    u = np.floor((b - np.sqrt(disc)) / 2).astype(np.int64)
    np.clip(u, 0, max(n - 2, 0), out=u)
    for _ in range(4):
        u -= u * (b - u) // 2 > k
        u += (u + 1) * (b - u - 1) // 2 <= k
    v = k - u * (b - u) // 2 + u + 1
    return u, v


def _erdos_renyi(n: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """G(n, p): each of the n(n-1)/2 pairs is an edge independently with probability p."""
    return _triangle_pairs(_bernoulli_positions(n * (n - 1) // 2, p, rng), n)


def _complete(n: int) -> np.ndarray:
    """Every pair of nodes, as canonical edge rows (built in place: these are many)."""
    edges = np.empty((n * (n - 1) // 2, 2), dtype=np.int64)
    start = 0
    for u in range(n - 1):
        stop = start + n - 1 - u
        edges[start:stop, 0] = u
        edges[start:stop, 1] = np.arange(u + 1, n)
        start = stop
    return edges


def _communities(
    n: int, blocks: int, mean_degree: float, mixing: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A stochastic block model of `blocks` near-equal blocks of consecutive nodes.

    A node expects ``mean_degree * (1 - mixing)`` neighbours in its own block
    and ``mean_degree * mixing`` in the others. Block sizes differ by at most
    one; the within-block probability is set per size so the first holds
    exactly. With a single block there is no other block, so `mixing` is
    ignored and the graph is G(n, mean_degree / (n - 1)).
    """
    _check_communities(n, blocks, mean_degree, mixing)
    if blocks == 1:
        mixing = 0.0
    q, r = divmod(n, blocks)
    inside = mean_degree * (1.0 - mixing)
    outside = mean_degree * mixing
    others = n - n / blocks
    us, vs = [], []
    # Within blocks: first the r blocks of q + 1 nodes, then those of q.
    for size, count, first in ((q + 1, r, 0), (q, blocks - r, r * (q + 1))):
        pairs = size * (size - 1) // 2
        if count == 0 or pairs == 0:
            continue
        pos = _bernoulli_positions(count * pairs, inside / (size - 1), rng)
        block, pos = np.divmod(pos, pairs)
        a, b = _triangle_pairs(pos, size)
        offset = first + block * size
        us.append(offset + a)
        vs.append(offset + b)
    # Between blocks: G(n, p_out) over all pairs, keeping the pairs that
    # straddle two blocks (those inside a block were drawn above).
    if blocks > 1 and outside > 0.0:
        a, b = _triangle_pairs(_bernoulli_positions(n * (n - 1) // 2, outside / others, rng), n)
        straddle = _block_of(a, q, r) != _block_of(b, q, r)
        us.append(a[straddle])
        vs.append(b[straddle])
    if not us:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(us), np.concatenate(vs)


def _check_communities(n: int, blocks: int, mean_degree: float, mixing: float) -> None:
    """Refuse block sizes that cannot hold the asked-for neighbours (see `_communities`)."""
    if blocks > n:
        raise ConfigError(
            f"network.blocks = {blocks} must be at most population.n = {n} "
            "(a block needs at least one node)"
        )
    if blocks == 1:
        mixing = 0.0
    q = n // blocks
    inside = mean_degree * (1.0 - mixing)
    if inside > q - 1:
        raise ConfigError(
            f"network.mean_degree = {mean_degree:g} with network.mixing = {mixing:g} asks for "
            f"{inside:g} neighbours inside a node's block, but population.n / network.blocks "
            f"= {n} / {blocks} leaves blocks of {q} nodes (at most {q - 1} neighbours); "
            "lower mean_degree or blocks, or raise mixing"
        )
    outside = mean_degree * mixing
    others = n - n / blocks
    if blocks > 1 and outside > others:
        raise ConfigError(
            f"network.mean_degree = {mean_degree:g} with network.mixing = {mixing:g} asks for "
            f"{outside:g} neighbours outside a node's block, but only {others:g} nodes are "
            "outside it; lower mean_degree or mixing"
        )


def _block_of(node: np.ndarray, q: int, r: int) -> np.ndarray:
    """The block of each node when r blocks of q + 1 nodes come before blocks of q."""
    big = r * (q + 1)
    return np.where(node < big, node // (q + 1), r + (node - big) // max(q, 1))


# ----------------------------------------------------------------------------
# Files


def load_graph(path: str | Path) -> Graph:
    """Read an undirected referral graph from an edge list, GraphML or GML file.

    The format follows the suffix (see the module docstring for the rules on
    headers, delimiters, renumbering, self-loops, duplicates and isolated
    nodes). Any problem is a `ConfigError` naming the file.

    Plain edge lists (one delimiter, no quoting; most files) are read in
    bulk (`environments.edge_list`), others line by line: the same graph.

    The last graph read is kept (its arrays read-only) while the file is
    unchanged: a file checked before a run, or read by run after run in a
    sweep's worker, is parsed once.
    """
    path = _existing(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if _last_loaded and _last_loaded[0] == key:
        return _last_loaded[1]
    graph = _load_graph(path)
    for array in (graph.edges, graph.labels, *graph.attributes.values()):
        if array is not None:
            array.flags.writeable = False  # shared by every model built from it
    _last_loaded[:] = [key, graph]
    return graph


_last_loaded: list = []  # [(path, mtime, size), Graph] of the last file read


def _load_graph(path: Path) -> Graph:
    suffix = path.suffix.lower()
    if suffix in EDGE_LIST_SUFFIXES:
        plain = read_plain(path)  # most files; the others line by line
        if plain is not None:
            return _graph(path, *plain)
        src, dst = _read_edge_list(path)
        return _assemble(path, src, dst, nodes=[], attrs={})
    if suffix in GRAPHML_SUFFIXES or suffix in GML_SUFFIXES:
        return _from_networkx(path, gml=suffix in GML_SUFFIXES)
    allowed = ", ".join(EDGE_LIST_SUFFIXES + GRAPHML_SUFFIXES + GML_SUFFIXES)
    raise ConfigError(f"{path}: unknown graph file type {suffix or '(none)'!r}; allowed: {allowed}")


def write_edge_list(graph: Graph, path: str | Path) -> None:
    """Write `graph` as a CSV edge list with a ``source,target`` header.

    Nodes are written by label when the graph has labels, else by id.
    Isolated nodes and attributes cannot be expressed in an edge list and are lost.
    """
    names = graph.labels if graph.labels is not None else np.arange(graph.n)
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("source", "target"))
        writer.writerows(zip(names[graph.edges[:, 0]], names[graph.edges[:, 1]], strict=True))


def _existing(path: str | Path | None) -> Path:
    if path is None:
        raise ConfigError("network.path is not set; give an edge-list CSV, GraphML or GML file")
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ConfigError(f"{path}: the file is empty; a referral graph needs at least one edge")
    return path


def _read_edge_list(path: Path) -> tuple[list[str], list[str]]:
    """The source and target labels of every edge row of an edge-list file."""
    src: list[str] = []
    dst: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            delimiter = None
            for line in fh:
                text = line.strip()
                if text and not text.startswith("#"):
                    delimiter = delimiter_of(text)
                    break
            fh.seek(0)
            if delimiter is None:
                rows = ((i, line.split()) for i, line in enumerate(fh, 1))
            else:
                reader = csv.reader(fh, delimiter=delimiter)
                rows = ((reader.line_num, row) for row in reader)
            first = True
            for line_no, row in rows:
                fields = [f.strip() for f in row]
                if not any(fields) or fields[0].startswith("#"):
                    continue
                if first:
                    first = False
                    if len(fields) >= 2 and (fields[0].lower(), fields[1].lower()) in HEADERS:
                        continue
                if len(fields) < 2 or not fields[0] or not fields[1]:
                    raise ConfigError(
                        f"{path}, line {line_no}: expected two columns, source and target, "
                        f"found {row!r}"
                    )
                src.append(fields[0])
                dst.append(fields[1])
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; expected an edge list") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: malformed edge list: {exc}") from None
    return src, dst


def _from_networkx(path: Path, gml: bool) -> Graph:
    """Read GraphML or GML through networkx and convert it to a `Graph`."""
    import networkx as nx  # only file loading needs networkx; keep it off the import path

    kind = "GML" if gml else "GraphML"
    try:
        if gml:
            try:
                # label=None: nodes by id, the label kept as an attribute; we
                # choose between the two below.
                g = nx.read_gml(path, label=None)
            except nx.NetworkXError as exc:
                if not re.search(r"edge #\d+ .* is duplicated", str(exc)):
                    raise
                # networkx refuses repeated edges unless the file says
                # "multigraph 1"; we merge them, so read it as a multigraph.
                text = path.read_text(encoding="utf-8")
                g = nx.parse_gml(
                    re.sub(r"\bgraph\s*\[", "graph [ multigraph 1 ", text, count=1), label=None
                )
        else:
            g = nx.read_graphml(path)
    except Exception as exc:  # any parser failure is the file's problem, not a crash
        raise ConfigError(f"{path}: not a readable {kind} file: {exc}") from None
    if g.is_directed():
        how, fix = (
            ("directed 1", "directed 0")
            if gml
            else ('edgedefault="directed"', 'edgedefault="undirected"')
        )
        raise ConfigError(
            f"{path}: the graph is directed ({how}); the model needs an undirected referral "
            f"graph, a relationship both sides take part in: declare it undirected ({fix}) "
            "once each edge stands for a relationship"
        )
    nodes = list(g.nodes)
    names: list = nodes
    if gml:
        given = [g.nodes[x].get("label") for x in nodes]
        if all(x is not None for x in given) and len({str(x) for x in given}) == len(given):
            names = given
    name_of = dict(zip(nodes, names, strict=True))
    src = [name_of[a] for a, _ in g.edges()]
    dst = [name_of[b] for _, b in g.edges()]
    attrs: dict[str, dict] = {}
    for x in nodes:
        for key, value in g.nodes[x].items():
            attrs.setdefault(key, {})[name_of[x]] = value
    return _assemble(path, src, dst, nodes=names, attrs=attrs)


def _assemble(path: Path, src: list, dst: list, nodes: list, attrs: dict[str, dict]) -> Graph:
    """Renumber labelled edges and nodes to ``0 .. n-1`` and build the `Graph`."""
    if not src:
        raise ConfigError(f"{path}: no edges; a referral graph needs at least one edge")
    names = {str(x) for x in nodes}
    names.update(map(str, src))
    names.update(map(str, dst))
    if len(names) < len(set(nodes)):
        raise ConfigError(f"{path}: two nodes have the same label once written as text")
    if all(INT_LABEL.match(x) for x in names):
        labels = sorted(names, key=lambda x: (int(x), x))
    else:
        labels = sorted(names)
    node_id = {x: i for i, x in enumerate(labels)}
    u = np.fromiter((node_id[str(x)] for x in src), dtype=np.int64, count=len(src))
    v = np.fromiter((node_id[str(x)] for x in dst), dtype=np.int64, count=len(dst))
    attributes = {}
    for key, values in attrs.items():
        column = np.full(len(labels), None, dtype=object)
        for name, value in values.items():
            column[node_id[str(name)]] = value
        attributes[key] = column
    return _graph(path, np.array(labels, dtype=object), u, v, attributes)


def _graph(
    path: Path, labels: np.ndarray, u: np.ndarray, v: np.ndarray, attributes: dict | None = None
) -> Graph:
    """The `Graph` of nodes `labels` (by node id) and edge rows (u, v): self-loops dropped, repeats merged."""
    edges = _canonical(len(labels), u, v)
    if edges.size == 0:
        raise ConfigError(f"{path}: no edges besides self-loops; a referral graph needs an edge")
    return Graph(n=len(labels), edges=edges, labels=labels, attributes=attributes or {})


def _count_edge_records(path: Path) -> int:
    """An upper bound on the edges in a graph file, from counting its records cheaply."""
    suffix = path.suffix.lower()
    count = 0
    with path.open("rb") as fh:
        if suffix in GRAPHML_SUFFIXES:
            pattern = re.compile(rb"<edge[\s/>]")
        elif suffix in GML_SUFFIXES:
            pattern = re.compile(rb"\bedge\s*\[")
        else:
            last = b"\n"
            while chunk := fh.read(1 << 24):
                count += chunk.count(b"\n")
                last = chunk[-1:]
            return count + (last != b"\n")
        for line in fh:
            count += len(pattern.findall(line))
    return count


# ----------------------------------------------------------------------------
# Placement


def strategy_counts(mix: dict[str, float], n: int) -> np.ndarray:
    """How many of n negotiators play each strategy of `mix`, in mix order.

    Largest-remainder rounding of ``share * n``: the counts sum to n and each
    is within one of its share; ties in the remainder go to the earlier
    strategy in the mix.
    """
    shares = np.array(list(mix.values()), dtype=np.float64)
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    left = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: max(left, 0)]] += 1
    return counts


def place_strategies(
    graph: Graph,
    mix: dict[str, float],
    placement: str,
    attribute: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """The strategy of each node, as an int64 index into ``list(mix)``.

    ``random``: exactly `strategy_counts` of each strategy, on nodes drawn at
    random. ``hubs_first``: the first strategy of the mix on the
    highest-degree nodes, the next on the next ones, and so on (ties in
    degree broken at random). ``hubs_last``: the same from the lowest degree.
    ``attribute``: each node plays the strategy its file attribute
    `attribute` names; the shares of the mix are then not used.
    """
    names = list(mix)
    if not names:
        raise ConfigError("population.mix names no strategy; give at least one")
    if placement == "attribute":
        return _place_by_attribute(graph, names, attribute)
    counts = strategy_counts(mix, graph.n)
    ids = np.repeat(np.arange(len(names), dtype=np.int64), counts)
    if placement == "random":
        return rng.permutation(ids)
    if placement in ("hubs_first", "hubs_last"):
        degree = graph.degree()
        shuffled = rng.permutation(graph.n)  # a random order breaks ties in degree
        key = -degree[shuffled] if placement == "hubs_first" else degree[shuffled]
        order = shuffled[np.argsort(key, kind="stable")]
        out = np.empty(graph.n, dtype=np.int64)
        out[order] = ids
        return out
    raise ConfigError(
        f"population.placement = {placement!r} is not known; allowed: "
        "random, hubs_first, hubs_last, attribute"
    )


def _place_by_attribute(graph: Graph, names: list[str], attribute: str) -> np.ndarray:
    allowed = ", ".join(names)
    column = graph.attributes.get(attribute)
    if column is None:
        has = ", ".join(graph.attributes) or "none"
        raise ConfigError(
            f"population.placement = 'attribute' reads the node attribute "
            f"population.attribute = {attribute!r}, but the graph has no such attribute "
            f"(its node attributes: {has}); only a GraphML or GML file carries node attributes"
        )
    index = {name: i for i, name in enumerate(names)}
    out = np.empty(graph.n, dtype=np.int64)
    for node, value in enumerate(column):
        i = index.get(str(value)) if value is not None else None
        if i is None:
            what = (
                "has no value" if value is None else f"= {value!r}, which is not in population.mix"
            )
            raise ConfigError(
                f"node {graph.node_name(node)!r}: attribute {attribute!r} {what}; "
                f"allowed strategy names: {allowed}"
            )
        out[node] = i
    return out


# --------------------------------------------------------------------------- referral dynamics
#
# Contacts change during a run (referrals add them, decay drops them); the
# model keeps them in `Relationships` and asks for their adjacency here.


def adjacency(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adjacency of an undirected contact list, CSR-style: (indptr, neighbours, contact).

    The neighbours of node i are `neighbours[indptr[i]:indptr[i + 1]]`;
    `contact` gives, for each of those slots, the index of the contact in (u, v).
    """
    return _adjacency(n, u, v)


@compiled
def _adjacency(n, u, v):
    # Each node's neighbours in the order a stable sort of the contacts' ends
    # (u's of every contact, then v's) would give them, by a counting sort in
    # time linear in the contacts (rebuilt whenever referrals change the
    # contacts, most steps).
    m = len(u)
    order, indptr = group_by_key(np.concatenate((u, v)), n)
    contact = np.where(order < m, order, order - m)
    return indptr, np.concatenate((v, u))[order], contact


@compiled
def group_by_key(keys, k):
    """Positions grouped by key (keys in 0..k-1), in order within each: (order, start).

    Key j's positions are `order[start[j]:start[j + 1]]`, ascending (a
    stable counting sort, linear in the keys).
    """
    start = np.zeros(k + 1, dtype=np.int64)
    for key in keys:
        start[key + 1] += 1
    for j in range(k):
        start[j + 1] += start[j]
    order = np.empty(len(keys), dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(len(keys)):
        order[fill[keys[i]]] = i
        fill[keys[i]] += 1
    return order, start


def pick_other_contact(
    adj: tuple[np.ndarray, ...],
    who: np.ndarray,
    besides: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """A contact of each `who` drawn uniformly, other than `besides`; -1 where there is none."""
    indptr, nbrs = adj[0], adj[1]
    deg = indptr[who + 1] - indptr[who]
    pos = _position(nbrs, indptr, who, besides)
    present = pos < deg
    slots = deg - present
    r = (rng.random(len(who)) * slots).astype(np.int64)
    idx = r + (present & (r >= pos))  # skip over `besides`
    return np.where(slots > 0, nbrs[indptr[who] + np.minimum(idx, np.maximum(deg - 1, 0))], -1)


def _position(
    nbrs: np.ndarray, indptr: np.ndarray, who: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Index of `target` within each `who`'s neighbour list (the list's length where absent)."""
    deg = indptr[who + 1] - indptr[who]
    row = np.repeat(np.arange(len(who)), deg)
    offset = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
    hit = nbrs[indptr[who][row] + offset] == target[row]
    out = deg.copy()
    out[row[hit]] = offset[hit]
    return out
