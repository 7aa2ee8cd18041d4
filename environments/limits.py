"""Will a run fit in memory? An estimate made before anything is built, and the check that uses it.

`estimate_memory(cfg)` is the peak resident memory, in bytes, of one process
that builds and runs the model `cfg` describes and makes its tables. It is
an upper estimate from the population size, the expected number of contacts
(`environments.network.estimate_edges`), the items K, the steps, gossip,
referrals and the agent snapshots, with byte costs MEASURED on this code
(`python -m environments.limits` measures them again and prints the fit):

- peak RSS of a fresh process at n = 10^4, 10^5, 3 x 10^5 (default
  configuration: Barabasi-Albert m = 3, K = 3), at m = 1 and m = 10, with
  K = 32, with `initiator` matching, and with gossip q = 0.2 on;
- a least-squares fit of those peaks on negotiators, contacts and deals,
  and items gave the `BYTES_*` constants below (re-fitted on 2026-11-29
  after heard-of beliefs were bounded and the step's loops compiled); the
  estimate without `SAFETY` is 1.00 to 1.14 times every measured peak
  without gossip, and `SAFETY` adds a fifth on top; with gossip and
  referrals the estimate is above the measured peak by more (contacts are
  counted at their bound, see below): 1.03 times on W1's model at n = 10^4
  over 200 steps, 1.22 at 3 x 10^5 over 10 steps, 1.35-1.42 at 10^6 over
  20 (4.7 GiB against 3.35-3.48 GiB measured on different runs of the same
  day, with 512 contact bits a negotiator and gossip's stories copied into
  hearer order).
- A step's temporaries peak either while its deals are played or while
  their gossip is heard, not both: the estimate takes the larger.

What grows during a run is bounded, not predicted:

- referrals add contacts: at most g = 2 x referral_prob new ones per deal,
  and a referral contact ends with its relationship (1 - w after each
  deal). With `edges` matching (every contact deals each step) the
  referral contacts R grow by at most g (E + R) - (1 - w) R a step: after t
  steps R = g E ((1 + net)^t - 1) / net with net = g - (1 - w), which levels
  off at g E / (1 - w - g) when g < 1 - w, grows linearly when g = 1 - w,
  and otherwise geometrically, up to every pair n (n - 1) / 2;
  with `initiator` matching by 2 q_ref n deals_per_step a step;
- gossip stores a belief per (hearer, target) heard of: at most
  `heard_capacity` per negotiator, at most the sum of squared degrees (each
  contact of a participant hears of each of its partners);
- per-step records (about 7.5 kB a step) and agent snapshots
  (`output.agents_every`, about 400 B per negotiator and snapshot).

So the estimate is conservative, most of all for long runs with referrals on
a large population, where it assumes the worst growth. When it is wrong for
your run, `CONCESSION_MEMORY=64G` (or `off`) overrides what counts as
available, for the command and every worker it starts.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from environments.config import ConfigError, ModelConfig

if TYPE_CHECKING:
    from environments.network import Graph

# Measured on Linux x86-64, Python 3.11, numpy 2, polars 1, mesa 3.3, numba 0.68 (see the
# module docstring). The interpreter, numpy, polars, mesa, pydantic, numba and the compiled
# loops loaded from numba's cache: a process that ran a tiny model.
BYTES_FIXED = 360 * 2**20
BYTES_PER_NEGOTIATOR = 760  # model arrays (64 of contact bits), Mesa agent, agents-table row
BYTES_PER_NEGOTIATOR_ITEM = 16  # cost and value of each item
BYTES_PER_CONTACT = 200  # relationship memory, its hash index, adjacency
BYTES_PER_DEAL = 225  # a step's deal arrays, rounds, payoffs (edges matching: a deal per contact)
BYTES_PER_DEAL_ITEM = 45  # per item of each deal: costs, values, gives, asks
BYTES_PER_GROWN_CONTACT = 150  # a contact added by referral: the copy made when capacity doubles
# Gossip, fitted on W1's model (gossip 0.1, referrals 0.02) at n = 3 x 10^5 (10 steps) and
# n = 10^6 (20 steps: about 16 M hearings a step, 30 M remembered heard-of beliefs at the end).
BYTES_PER_HEARING = 40  # one step's gossip: the arrays made per contact that hears of a deal
BYTES_PER_DEAL_KEPT = 100  # what a step keeps of each deal while its gossip is heard
BYTES_PER_HEARD = 12  # a remembered heard-of belief: its target (int32) and belief (float64)
BYTES_PER_STEP = 7_500  # per-step and per-strategy records and their tables
BYTES_PER_AGENT_ROW = 400  # one negotiator in one snapshot, with the copy made to concatenate
SAFETY = 1.2
MEMORY_ENV = "CONCESSION_MEMORY"
LARGE_RUN = 2**30  # estimated bytes above which freed arrays are returned to the OS at once
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def _sum_squared_degrees(cfg: ModelConfig, n: int, edges: int) -> float:
    """The expected sum over nodes of degree^2 of the generated graph (gossip's triples)."""
    net = cfg.network
    if n <= 1 or edges == 0:
        return 0.0
    mean = 2.0 * edges / n
    if net.kind == "barabasi_albert":
        # Measured: 0.95 .. 0.99 x m (m + 1) ln n per node for m = 1, 3, 10, n = 10^4 .. 3 x 10^5.
        return n * net.m * (net.m + 1) * 1.1 * math.log(n)
    if net.kind in ("ring", "watts_strogatz"):
        return n * (net.k**2 + net.k * net.p + 1.0)
    if net.kind == "complete":
        return float(n) * (n - 1) ** 2
    if net.kind == "file":
        # Unknown degrees: allow hubs, as a scale-free graph of that mean degree would have.
        return n * mean * (mean + 1.0) * max(1.0, math.log(n))
    return n * (mean**2 + mean)  # erdos_renyi, communities: Poisson degrees


def _file_size(cfg: ModelConfig) -> tuple[int, int]:
    """Nodes and edges of a file network without reading it: edges counted, nodes bounded."""
    from environments.network import estimate_edges

    edges = estimate_edges(cfg.network, cfg.population.n)
    return max(2, 2 * edges), edges


def estimate_memory(cfg: ModelConfig, graph: Graph | None = None) -> int:
    """The peak memory, in bytes, of a process that runs `cfg` and makes its tables (an upper estimate).

    `graph`: the network when it is already loaded (a file network), for its
    exact size and degrees; otherwise a file network is bounded from its
    edge records. See the module docstring for what is measured and bounded.
    """
    from environments.network import estimate_edges

    if graph is not None:
        n, edges = graph.n, len(graph.edges)
        sum_sq = float((graph.degree().astype(float) ** 2).sum())
    elif cfg.network.kind == "file":
        n, edges = _file_size(cfg)
        sum_sq = _sum_squared_degrees(cfg, n, edges)
    else:
        n = cfg.population.n
        edges = estimate_edges(cfg.network, n)
        sum_sq = _sum_squared_degrees(cfg, n, edges)
    k = len(cfg.items.explicit) if cfg.items.explicit else cfg.items.count
    steps = cfg.steps
    deal, rep = cfg.deal, cfg.reputation
    all_pairs = n * (n - 1) / 2
    contacts = float(edges)
    if rep.referral_prob > 0 and steps > 0:
        if deal.matching == "edges":
            # Each step referrals add at most g = 2 q_ref contacts per deal (every
            # contact deals) and 1 - w of the referral contacts end: R grows by at
            # most g (E + R) - (1 - w) R a step, so it levels off at g E / (1 - w - g)
            # when g < 1 - w, and is bounded by (1 + g)^steps growth in any case.
            gain, loss = 2 * rep.referral_prob, 1.0 - deal.continuation
            net = gain - loss
            if net == 0:
                grown = gain * steps
            else:  # R_t = g E ((1 + net)^t - 1) / net, rising to g E / -net when net < 0
                grown = (
                    gain * math.expm1(min(700.0, steps * math.log1p(max(net, -1.0 + 1e-12)))) / net
                )
            contacts = min(all_pairs, edges * (1.0 + grown))
        else:
            contacts = min(
                all_pairs, edges + 2 * rep.referral_prob * n * deal.deals_per_step * steps
            )
        contacts = max(contacts, float(edges))
    deals = contacts if deal.matching == "edges" else float(n * deal.deals_per_step)
    total = (
        BYTES_FIXED
        + n * (BYTES_PER_NEGOTIATOR + k * BYTES_PER_NEGOTIATOR_ITEM)
        + contacts * BYTES_PER_CONTACT
        + (contacts - edges) * BYTES_PER_GROWN_CONTACT
        + steps * BYTES_PER_STEP
    )
    # A step's temporaries peak while its deals are played, or later in
    # gossip, when only the closed deals' record is kept from playing.
    playing = deals * (BYTES_PER_DEAL + k * BYTES_PER_DEAL_ITEM)
    gossiping = 0.0
    if rep.gossip_prob > 0 and steps > 0:
        # Degrees grow with the contacts; squared degrees grow with the square of that.
        scale = contacts / edges if edges else 1.0
        sum_sq_end = min(sum_sq * scale**2, float(n) * (n - 1) ** 2)
        # A step's hearings: each (deal, participant, contact) triple hears with
        # probability q. Under `edges` every contact deals, so there are sum of
        # squared degrees of triples; under `initiator` each of the n x
        # deals_per_step deals has its initiator's degree plus its partner's
        # (a random contact, whose degree is sum_sq / (2 contacts) on average).
        if deal.matching == "edges":
            triples = sum_sq_end
        else:
            mean_degree = 2 * contacts / n if n else 0.0
            partner_degree = sum_sq_end / (2 * contacts) if contacts else 0.0
            triples = n * deal.deals_per_step * (mean_degree + partner_degree)
        hearings = rep.gossip_prob * triples
        # A hearer is a contact of one participant, so a hearing stores at most
        # one new belief (about the other); at most one per 2-hop pair in all,
        # and at most `heard_capacity` per negotiator.
        heard = min(sum_sq_end, float(n) * rep.heard_capacity, steps * hearings)
        gossiping = hearings * BYTES_PER_HEARING + deals * BYTES_PER_DEAL_KEPT
        total += heard * BYTES_PER_HEARD
    total += max(playing, gossiping)
    every = cfg.output.agents_every
    snapshots = (steps // every + 1) if every > 0 else 1
    total += snapshots * n * BYTES_PER_AGENT_ROW
    return int(total * SAFETY)


# --------------------------------------------------------------------------- what is available


def parse_size(text: str) -> int:
    """Bytes from '64G', '512M', '2.5GiB', '1000000' (powers of 1024)."""
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        if raw and raw[-1] in units:
            return int(float(raw[:-1]) * units[raw[-1]])
        return int(float(raw))
    except ValueError:
        raise ConfigError(
            f"{MEMORY_ENV}={text!r}: give a size such as 64G or 512M, or 'off'"
        ) from None


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes this process may still use: MemAvailable, or less under a cgroup limit; None if unknown.

    `CONCESSION_MEMORY` overrides it: a size (`64G`) or `off` (None: no check).
    """
    override = os.environ.get(MEMORY_ENV, "").strip()
    if override:
        return None if override.lower() in ("off", "none", "0") else parse_size(override)
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    # A container's limit: cgroup v2, then v1 (v1 reports "no limit" as a huge number).
    for limit_path, usage_path in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        limit, usage = _read_int(limit_path), _read_int(usage_path)
        if limit is not None and usage is not None and limit < 2**60:
            found.append(max(0, limit - usage))
            break
    return min(found) if found else None


def gib(nbytes: float) -> str:
    """A size for a person: '61 GiB', '1.5 GiB', '300 MiB'."""
    if nbytes >= 10 * 2**30:
        return f"{nbytes / 2**30:,.0f} GiB"
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:.1f} GiB"
    return f"{nbytes / 2**20:,.0f} MiB"


def describe_size(cfg: ModelConfig) -> str:
    """What makes a configuration big, in its own keys, for the refusal message."""
    net = cfg.network
    if net.kind == "file":
        parts = [f"network.path = {net.path!r}"]
    else:
        parts = [f"population.n = {cfg.population.n:,}"]
        key = {
            "barabasi_albert": f"network.m = {net.m}",
            "ring": f"network.k = {net.k}",
            "watts_strogatz": f"network.k = {net.k}",
            "erdos_renyi": f"network.mean_degree = {net.mean_degree:g}",
            "communities": f"network.mean_degree = {net.mean_degree:g}",
            "complete": "network.kind = 'complete'",
        }[net.kind]
        parts.append(key)
    if cfg.reputation.referral_prob > 0:
        parts.append(
            f"reputation.referral_prob = {cfg.reputation.referral_prob:g} over {cfg.steps:,} steps "
            "(referrals add contacts)"
        )
    if cfg.reputation.gossip_prob > 0:
        parts.append(f"reputation.gossip_prob = {cfg.reputation.gossip_prob:g}")
    if cfg.output.agents_every > 0:
        parts.append(f"output.agents_every = {cfg.output.agents_every}")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def check_memory(
    cfg: ModelConfig, available: int | None = None, graph: Graph | None = None, where: str = ""
) -> int:
    """Refuse, with a `ConfigError` giving the estimate, a run that would not fit; returns the estimate.

    `available`: bytes (default: `available_memory()`, this machine now);
    nothing is refused when it is unknown or `CONCESSION_MEMORY=off`.
    """
    need = estimate_memory(cfg, graph)
    if available is None:
        available = available_memory()
    if available is not None and need > available:
        prefix = f"{where}: " if where else ""
        has = (
            f"{MEMORY_ENV} allows {gib(available)}"
            if os.environ.get(MEMORY_ENV, "").strip()
            else f"this machine has {gib(available)} available"
        )
        raise ConfigError(
            f"{prefix}{describe_size(cfg)} needs about {gib(need)}; {has}. Lower the size, or "
            f"set {MEMORY_ENV}=<size> if the estimate is too cautious for this run"
        )
    return need


def return_freed_memory(need: int) -> None:
    """For a run estimated above `LARGE_RUN` bytes: large freed arrays go back to the OS at once.

    glibc raises its mmap threshold as large blocks are freed (up to 32 MiB),
    after which a step's temporaries (tens of MiB each at 10^6 negotiators)
    come from the heap and their memory is kept after they are freed: at
    N = 10^6 that held about 0.5 GiB more between steps. A fixed 1 MiB
    threshold keeps every larger array in its own mapping. Process-wide, so
    only for large runs; a no-op off glibc.
    """
    if need < LARGE_RUN:
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


class Preflight:
    """Checks a run's configuration against the world before anything runs: files and memory.

    The configuration itself is valid data by then; what remains is what it
    asks of the machine: a graph file that must load (read once per path and
    kept), strategies placed from its node attributes, and an estimated peak
    memory within what is available (`check_memory`). `available`:
    bytes to compare with (default: this machine now); `check_memory=False`
    estimates without refusing (the runs execute elsewhere, e.g. on Dask).
    """

    def __init__(self, check_memory: bool = True, available: int | None = None) -> None:
        self.check_memory = check_memory
        self.available = available if available is not None else available_memory()
        self.graphs: dict[str, Any] = {}
        self.placements: set[tuple[str, str, tuple[str, ...]]] = set()
        self.peak = 0

    def __call__(self, cfg: ModelConfig) -> int:
        """Check one configuration; returns its estimated peak memory in bytes."""
        graph = None
        if cfg.network.kind == "file":
            graph = self._graph(cfg)
        if self.check_memory:
            need = check_memory(cfg, self.available, graph)
        else:
            need = estimate_memory(cfg, graph)
        self.peak = max(self.peak, need)
        return need

    def _graph(self, cfg: ModelConfig) -> Any:
        from environments.network import load_graph, place_strategies

        path = str(cfg.network.path)
        if path not in self.graphs:
            self.graphs[path] = load_graph(path)
        graph = self.graphs[path]
        pop = cfg.population
        key = (path, pop.attribute, tuple(pop.mix))
        if pop.placement == "attribute" and key not in self.placements:
            place_strategies(graph, pop.mix, "attribute", pop.attribute, np.random.default_rng(0))
            self.placements.add(key)
        return graph


# --------------------------------------------------------------------------- measuring


def _measure_one(config: dict, steps: int) -> dict:  # pragma: no cover - a measurement tool
    """Peak RSS of a fresh process that builds, runs and tabulates `config`."""
    import json
    import subprocess
    import sys

    code = (
        "import json, resource, sys\n"
        "from environments.model import ConcessionModel\n"
        "import polars\n"
        "rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "base = rss()\n"
        "m = ConcessionModel(json.loads(sys.argv[1]), rng=1)\n"
        "m.run(int(sys.argv[2]))\n"
        "m.steps_frame(); m.strategy_frame(); m.agents_frame(); m.outcomes()\n"
        "print(json.dumps({'base': base, 'peak': rss(), 'n': m.n, 'edges': len(m.graph.edges),"
        " 'heard': len(m.heard)}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(config), str(steps)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    return json.loads(out.stdout)


def main() -> None:  # pragma: no cover - a measurement tool
    """Measure peak memory at several sizes and print it next to the estimate."""
    from environments.config import load_config

    cases = [
        ({"population": {"n": 10_000}}, 10),
        ({"population": {"n": 100_000}}, 10),
        ({"population": {"n": 300_000}}, 10),
        ({"population": {"n": 100_000}, "network": {"m": 1}}, 5),
        ({"population": {"n": 100_000}, "network": {"m": 10}}, 5),
        ({"population": {"n": 100_000}, "items": {"count": 32}}, 5),
        ({"population": {"n": 100_000}, "deal": {"matching": "initiator"}}, 10),
        ({"population": {"n": 10_000}, "reputation": {"gossip_prob": 0.2}}, 5),
        ({"population": {"n": 100_000}, "reputation": {"gossip_prob": 0.2}}, 5),
        # W1's model (benchmarks/): gossip and referrals together, a long and a wide run.
        (
            {
                "population": {"n": 10_000},
                "reputation": {"gossip_prob": 0.1, "referral_prob": 0.02},
            },
            200,
        ),
        (
            {
                "population": {"n": 300_000},
                "reputation": {"gossip_prob": 0.1, "referral_prob": 0.02},
            },
            10,
        ),
    ]
    print(f"{'configuration':<70} {'peak':>10} {'estimate':>10}")
    for config, steps in cases:
        got = _measure_one(config, steps)
        est = estimate_memory(load_config({**config, "steps": steps}))
        print(f"{str(config) + f' x {steps} steps':<70} {gib(got['peak']):>10} {gib(est):>10}")


if __name__ == "__main__":  # pragma: no cover
    main()
