"""How long reading a graph file takes, bulk and line by line, and how much memory.

    .venv/bin/python benchmarks/graph_files.py [--n N]

Writes a Barabasi-Albert graph (m = 3) of N nodes (default 1,000,000: three
million edges) to a temporary folder in three edge-list layouts: CSV as
`write_edge_list` writes it, tab-separated with `#` comments (as SNAP
publishes its networks), and space-separated. Then reads each file twice, each
time in a fresh process: through `load_graph` (plain files are read in bulk,
`environments.edge_list`) and through the line-by-line reader alone (what
`load_graph` did before the bulk reader, and still does for any file that is
not plain). Prints seconds and the process's peak memory per read, and checks
that both readers gave the same graph. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.workloads import emit, machine_line  # noqa: E402


def write_layouts(n: int, folder: Path) -> dict[str, Path]:
    """The graph in each layout; returns layout name -> file."""
    from environments.config import NetworkConfig
    from environments.network import build_graph, write_edge_list

    graph = build_graph(NetworkConfig(kind="barabasi_albert", m=3), n, np.random.default_rng(1))
    csv = folder / "ba.csv"
    write_edge_list(graph, csv)
    tsv = folder / "ba.tsv"
    with tsv.open("w") as fh:
        edges = len(graph.edges)
        fh.write(f"# Barabasi-Albert, m = 3\n# Nodes: {n} Edges: {edges}\n# FromNodeId\tToNodeId\n")
        np.savetxt(fh, graph.edges, fmt="%d", delimiter="\t")
    txt = folder / "ba.txt"
    np.savetxt(txt, graph.edges, fmt="%d", delimiter=" ")
    return {"csv": csv, "tab, comments": tsv, "space": txt}


def read_once(path: Path, reader: str) -> None:
    """Read `path` with `reader` ("bulk": load_graph; "lines": the line-by-line reader); print JSON."""
    from environments import network

    start = time.perf_counter()
    if reader == "bulk":
        graph = network.load_graph(path)
    else:
        graph = network._assemble(path, *network._read_edge_list(path), nodes=[], attrs={})
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    digest = int(graph.edges.sum() % 1_000_003), graph.n, len(graph.edges)
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "digest": digest}))


def main() -> None:
    """Write the layouts, read each in fresh processes both ways, print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="nodes (edges: about 3 n)")
    parser.add_argument("--one", nargs=2, metavar=("PATH", "READER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        read_once(Path(args.one[0]), args.one[1])
        return
    print(machine_line())
    print(f"graph files: Barabasi-Albert m = 3, n = {args.n:,}")
    print(f"  {'layout':<15} {'reader':<8} {'seconds':>8} {'peak MiB':>9}")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout, path in write_layouts(args.n, Path(tmp)).items():
            digests = set()
            for reader in ("bulk", "lines"):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(path), reader],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out.splitlines()[-1])
                digests.add(tuple(r["digest"]))
                figures[f"{layout} {reader}"] = r
                print(f"  {layout:<15} {reader:<8} {r['seconds']:>8.2f} {r['peak_mib']:>9.0f}")
            same = "the same graph" if len(digests) == 1 else "DIFFERENT GRAPHS"
            print(
                f"  {layout}: {same} from both readers; {path.stat().st_size / 2**20:.0f} MiB file"
            )
    emit({"workload": "graph_files", "n": args.n, "reads": figures})


if __name__ == "__main__":
    main()
