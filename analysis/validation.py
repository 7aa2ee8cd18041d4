"""Validation: the framework reproduces the classic results of reciprocity research.

Five parts, each a list of `Check` rows (result, setup, theory, measured, within
tolerance?), printed by `concession validate` and documented in docs/validation.md:

- ``exact``: MODEL.md's reduction. With one item (cost c, value b), no noise,
  recognition 1, BATNA 0, the `simultaneous` protocol and `edges` matching, every
  payoff is the repeated donation game's (R = b - c, S = -c, T = b, P = 0 on top of
  S/2), for every pair of reciprocal / naive / holdout, with and without a
  continuation probability (then in expectation over independent pairs).
- ``axelrod``: the same matches played by the Axelrod library (tit-for-tat,
  cooperator, defector with ``Game(r=b-c, s=-c, t=b, p=0)``) give the same
  per-turn scores; with noise, and with a probabilistic end, the means agree
  within sampling error.
- ``direct`` (Nowak 2006): reciprocal negotiators resist invasion by holdouts
  exactly when w > c/b.
- ``network`` (Ohtsuki et al. 2006): with death-birth updating on a regular graph
  of degree k, a single cooperator fixes with probability above 1/N when b/c
  exceeds the threshold, which for a small population is (N-2)/(N/k-2) (Taylor,
  Day and Wild 2007; Chen 2013) and tends to k as N grows. The simulation is
  also compared with the exact fixation probability of the same Markov chain.
- ``indirect`` (Nowak and Sigmund 1998, 2005): with image scoring,
  discriminating givers hold against holdouts when the probability q of knowing
  the partner's reputation exceeds c/b.

The statistical parts run replicates on a process pool; every replicate's seed
comes from `numpy.random.SeedSequence` keyed by (part, point, replicate), so the
results do not depend on the number of workers.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import numpy as np

PARTS = ("exact", "axelrod", "direct", "network", "indirect")
STATISTICAL_PARTS = ("direct", "network", "indirect")
# The three strategies of the donation game, and who they are in the Axelrod library.
GAME_STRATEGIES = ("reciprocal", "naive", "holdout")
AXELROD_NAMES = {"reciprocal": "TitForTat", "naive": "Cooperator", "holdout": "Defector"}
DEFAULT_SEED = 2006
# A measured value is "within tolerance" of an expected value when it is
# within this many standard errors: over a table of about 70 rows, a false
# alarm has a probability of about 0.5 %.
Z_TOLERANCE = 4.0
# A sign (resisted / invaded) is judged only when the theory puts the point
# further than this many standard errors from the threshold.
SIGN_MARGIN = 3.0
# Exact reductions: floating point sums of a few hundred terms.
EXACT_TOLERANCE = 1e-9


@dataclass
class Check:
    """One row of the validation table."""

    part: str
    result: str
    setup: str
    theory: str
    measured: str
    ok: bool
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Size:
    """How much work each part does: `QUICK` (the reduced, CI form) or `FULL`."""

    name: str
    pairs: int  # independent pairs per pairing for expected values and noisy cross-checks
    pair_seeds: int  # models (seeds) those pairs are spread over
    axelrod_matches: int  # Axelrod matches per pairing for the noisy cross-checks
    direct_factors: tuple[float, ...]  # w as multiples of c/b
    direct_replicates: int
    network_points: tuple[tuple[str, float, int], ...]  # (setup, b/c, replicates)
    indirect_factors: tuple[float, ...]  # target q as multiples of c/b
    indirect_replicates: int


QUICK = Size(
    name="quick",
    pairs=200,
    pair_seeds=3,
    axelrod_matches=200,
    direct_factors=(0.8, 1.2),
    direct_replicates=3,
    network_points=(
        ("cycle", 1.5, 500),
        ("cycle", 5.0, 500),
        ("ring4", 3.0, 500),
        ("ring4", 16.0, 500),
    ),
    indirect_factors=(0.7, 1.4),
    indirect_replicates=15,
)
FULL = Size(
    name="full",
    pairs=1000,
    pair_seeds=5,
    axelrod_matches=1000,
    direct_factors=(0.5, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.5),
    direct_replicates=10,
    network_points=(
        ("cycle", 1.5, 2000),
        ("cycle", 2.2, 4000),
        ("cycle", 5.0, 2000),
        ("ring4", 3.0, 2000),
        ("ring4", 5.5, 4000),
        ("ring4", 16.0, 2000),
    ),
    indirect_factors=(0.6, 0.8, 0.9, 1.1, 1.25, 1.5),
    indirect_replicates=80,
)
SIZES = {"quick": QUICK, "full": FULL}


# --------------------------------------------------------------------------- helpers


def seed_for(root: int, *key: int) -> int:
    """The model seed of one replicate: a SeedSequence keyed by (part, point, replicate)."""
    return int(np.random.SeedSequence(root, spawn_key=tuple(key)).generate_state(1)[0])


def _fmt(x: float, digits: int = 3) -> str:
    """A number for the table: `digits` decimals, no negative zero."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _single_item_game(
    b: float,
    c: float,
    *,
    surplus: float = 0.0,
    continuation: float = 1.0,
    noise: float = 0.0,
    matching: str = "edges",
) -> dict[str, Any]:
    """The configuration sections that make a deal the donation game (MODEL.md's reduction)."""
    return {
        "items": {"explicit": [{"cost": c, "value": b}]},
        "deal": {
            "surplus": surplus,
            "protocol": "simultaneous",
            "matching": matching,
            "continuation": continuation,
            "noise": noise,
            "perception_noise": 0.0,
            "recognition": 1.0,
            "batna": {"low": 0.0, "high": 0.0},
        },
        "reputation": {"gossip_prob": 0.0, "referral_prob": 0.0},
    }


def expected_gives(me: str, other: str, steps: int, w: float) -> float:
    """Expected gives of `me` against `other` over `steps` donation games with continuation w.

    Tit-for-tat (reciprocal) gives on a fresh start and then copies; against
    always-defect it gives once per relationship: on the first step and after
    each end, and a relationship ends with probability 1 - w after each deal.
    """
    if me == "naive":
        return float(steps)
    if me == "holdout":
        return 0.0
    if other == "holdout":
        return 1.0 + (steps - 1) * (1.0 - w)
    return float(steps)


def expected_wealth(
    me: str, other: str, b: float, c: float, surplus: float, steps: int, w: float
) -> float:
    """Textbook payoff of `me` over `steps` deals with `other`: S/2 + b x gives received - c x gives made."""
    return (
        steps * surplus / 2
        + b * expected_gives(other, me, steps, w)
        - c * expected_gives(me, other, steps, w)
    )


def _release(model: Any) -> None:
    # Mesa keeps every model alive through a class-level dict; a worker runs many.
    model.release()


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k / n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (mid - half, mid + half)


def _z(deviation: float, se: float) -> float:
    """A deviation in standard errors; a deviation with no sampling error is exact or infinite."""
    if se > 0:
        return deviation / se
    return 0.0 if abs(deviation) <= EXACT_TOLERANCE else math.copysign(math.inf, deviation)


def _line_root(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    """Root of the weighted least-squares line through (x, y ± se), and its delta-method SE."""
    X = np.column_stack([np.ones_like(x), x])
    W = np.diag(1.0 / np.maximum(se, 1e-12) ** 2)
    cov = np.linalg.inv(X.T @ W @ X)
    a, s = cov @ X.T @ W @ y
    root = -a / s
    grad = np.array([-1.0 / s, a / s**2])
    return float(root), float(math.sqrt(grad @ cov @ grad))


class Pool:
    """Runs batches of replicates on worker processes (or inline with 0 or 1 worker)."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        self.workers = max(0, workers)
        self._executor: Executor | None = None

    def map(self, func: Callable[[Any], Any], tasks: Sequence[Any]) -> list[Any]:
        """`func` over `tasks`, results in task order."""
        if self.workers <= 1 or len(tasks) <= 1:
            return [func(t) for t in tasks]
        if self._executor is None:
            import multiprocessing

            # `import mesa` forces spawn anyway; say so, so the pool works the same everywhere.
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return list(self._executor.map(func, tasks))

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --------------------------------------------------------------------------- pair models


def pairs_model(
    pairings: Sequence[tuple[str, str]],
    per_pairing: int,
    sections: dict[str, Any],
    seed: int,
) -> tuple[Any, np.ndarray]:
    """One model whose graph is disjoint pairs: `per_pairing` independent pairs of each pairing.

    Every pair plays only with itself, so one model runs many independent
    repeated games at once (each with its own draws from the model's
    generator). Strategies are placed from a GraphML node attribute. Returns
    the model and the pairing index of each pair (pair p is nodes 2p, 2p + 1).
    """
    import networkx as nx

    from environments.model import ConcessionModel

    g = nx.Graph()
    which = np.repeat(np.arange(len(pairings)), per_pairing)
    for p, k in enumerate(which):
        a, b = pairings[k]
        g.add_node(str(2 * p), strategy=a)
        g.add_node(str(2 * p + 1), strategy=b)
        g.add_edge(str(2 * p), str(2 * p + 1))
    names = sorted({s for pair in pairings for s in pair})
    mix = {s: 1.0 / len(names) for s in names}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.graphml"
        nx.write_graphml(g, path)
        model = ConcessionModel(
            {
                **sections,
                "population": {
                    "n": g.number_of_nodes(),
                    "mix": mix,
                    "placement": "attribute",
                    "attribute": "strategy",
                },
                "network": {"kind": "file", "path": str(path)},
            },
            rng=seed,
        )
    return model, which


def _two_player_model(a: str, b: str, sections: dict[str, Any], seed: int) -> Any:
    """Two negotiators, one contact: the plain repeated game of MODEL.md's reduction."""
    from environments.model import ConcessionModel

    mix = {a: 0.5, b: 0.5} if a != b else {a: 1.0}
    return ConcessionModel(
        {**sections, "population": {"n": 2, "mix": mix}, "network": {"kind": "complete"}},
        rng=seed,
    )


def _wealth_by_side(model: Any, a: str, b: str) -> tuple[float, float]:
    """Wealth of the negotiator playing `a` and of the one playing `b` in a two-player model."""
    names = [model.strategy_names[s] for s in model.strategy]
    wa = float(model.wealth[names.index(a)])
    wb = float(model.wealth[len(names) - 1 - names[::-1].index(b)])
    return wa, wb


# --------------------------------------------------------------------------- part 1: exact


def donation_game_checks(size: Size = QUICK, seed: int = DEFAULT_SEED) -> list[Check]:
    """Exact payoffs of the repeated donation game for every pair, with and without continuation."""
    b, c, surplus, steps, w = 3.0, 1.0, 2.0, 20, 0.6
    pairings = list(combinations_with_replacement(GAME_STRATEGIES, 2))
    rows: list[Check] = []
    textbook = "R = b - c, S = -c, T = b, P = 0 per step, on top of S/2"

    # Without continuation (w = 1): one game of two negotiators, exactly.
    sections = _single_item_game(b, c, surplus=surplus)
    for a, o in pairings:
        model = _two_player_model(a, o, sections, seed).run(steps)
        got = _wealth_by_side(model, a, o)
        want = (
            expected_wealth(a, o, b, c, surplus, steps, 1.0),
            expected_wealth(o, a, b, c, surplus, steps, 1.0),
        )
        _release(model)
        ok = all(abs(x - y) <= EXACT_TOLERANCE for x, y in zip(got, want, strict=True))
        rows.append(
            Check(
                "exact",
                f"donation game: {a} vs {o}",
                f"b={b:g}, c={c:g}, S={surplus:g}, {steps} steps, w=1, two negotiators",
                f"wealth {want[0]:g} / {want[1]:g} ({textbook})",
                f"{_fmt(got[0])} / {_fmt(got[1])}",
                ok,
                {"theory": want, "measured": got, "w": 1.0},
            )
        )

    # A population of one of each on a complete graph: payoffs add up over contacts.
    from environments.model import ConcessionModel

    model = ConcessionModel(
        {
            **sections,
            "population": {"n": 3, "mix": {s: 1 / 3 for s in GAME_STRATEGIES}},
            "network": {"kind": "complete"},
        },
        rng=seed,
    ).run(steps)
    names = [model.strategy_names[s] for s in model.strategy]
    got3 = [float(model.wealth[names.index(s)]) for s in GAME_STRATEGIES]
    want3 = [
        sum(expected_wealth(s, o, b, c, surplus, steps, 1.0) for o in GAME_STRATEGIES if o != s)
        for s in GAME_STRATEGIES
    ]
    _release(model)
    rows.append(
        Check(
            "exact",
            "donation game: one of each, complete graph",
            f"b={b:g}, c={c:g}, S={surplus:g}, {steps} steps, w=1, N=3",
            "wealth = sum over the two contacts: " + " / ".join(f"{x:g}" for x in want3),
            " / ".join(_fmt(x) for x in got3),
            all(abs(x - y) <= EXACT_TOLERANCE for x, y in zip(got3, want3, strict=True)),
            {"theory": want3, "measured": got3, "w": 1.0},
        )
    )

    # With continuation w < 1: many independent pairs; only reciprocal vs holdout
    # depends on w (tit-for-tat gives again on every fresh start).
    sections = _single_item_game(b, c, surplus=surplus, continuation=w)
    per_seed = max(1, size.pairs // size.pair_seeds)
    wealth = {k: ([], []) for k in pairings}
    gives = {k: ([], []) for k in pairings}
    for s in range(size.pair_seeds):
        model, which = pairs_model(pairings, per_seed, sections, seed_for(seed, 0, 0, s))
        model.run(steps)
        for k, pairing in enumerate(pairings):
            nodes = np.flatnonzero(which == k)
            for side in (0, 1):
                wealth[pairing][side].extend(model.wealth[2 * nodes + side])
                gives[pairing][side].extend(model.gives[2 * nodes + side])
        _release(model)
    for a, o in pairings:
        got_w = [np.asarray(wealth[(a, o)][i]) for i in (0, 1)]
        got_g = [np.asarray(gives[(a, o)][i]) for i in (0, 1)]
        want = (
            expected_wealth(a, o, b, c, surplus, steps, w),
            expected_wealth(o, a, b, c, surplus, steps, w),
        )
        # Accounting holds pair by pair: wealth = steps S/2 + b gives received - c gives made.
        identity = all(
            np.allclose(got_w[i], steps * surplus / 2 + b * got_g[1 - i] - c * got_g[i], atol=1e-9)
            for i in (0, 1)
        )
        means = [float(x.mean()) for x in got_w]
        ses = [float(x.std(ddof=1) / math.sqrt(len(x))) for x in got_w]
        zs = [
            (m - t) / se if se > 0 else (0.0 if abs(m - t) <= EXACT_TOLERANCE else math.inf)
            for m, t, se in zip(means, want, ses, strict=True)
        ]
        ok = identity and all(abs(z) <= Z_TOLERANCE for z in zs)
        stochastic = a == "reciprocal" and o == "holdout"
        measured = f"{_fmt(means[0])} / {_fmt(means[1])}"
        if stochastic:
            measured += f" (± {_fmt(ses[0])} / {_fmt(ses[1])}; z = {zs[0]:.2f} / {zs[1]:.2f})"
        else:
            measured += " (every pair exactly)" if max(ses) == 0 else ""
        rows.append(
            Check(
                "exact",
                f"donation game: {a} vs {o}, continuation",
                f"as above with w={w:g}; mean over {len(got_w[0])} independent pairs "
                f"in {size.pair_seeds} seeds",
                f"E[wealth] {want[0]:g} / {want[1]:g}"
                + (" (1 + (T-1)(1-w) fresh starts)" if stochastic else " (w does not matter)"),
                measured + ("" if identity else "; accounting identity FAILS"),
                ok,
                {"theory": want, "measured": means, "se": ses, "w": w},
            )
        )
    return rows


# --------------------------------------------------------------------------- part 2: Axelrod


def _axelrod_players(a: str, o: str) -> tuple[Any, Any]:
    import axelrod as axl

    return getattr(axl, AXELROD_NAMES[a])(), getattr(axl, AXELROD_NAMES[o])()


def axelrod_checks(size: Size = QUICK, seed: int = DEFAULT_SEED) -> list[Check]:
    """Cross-check against the Axelrod library: same per-turn scores; with noise, same means."""
    import axelrod as axl  # a test-only dependency, and slow to import: only here

    rows: list[Check] = []
    pairings = list(combinations_with_replacement(GAME_STRATEGIES, 2))

    # Deterministic matches: the same per-turn scores, exactly.
    for b, c in ((3.0, 1.0), (2.0, 1.0), (10.0, 3.0)):
        game = axl.Game(r=b - c, s=-c, t=b, p=0)
        for turns in (1, 7, 50):
            model, which = pairs_model(pairings, 1, _single_item_game(b, c), seed)
            model.run(turns)
            worst = 0.0
            pairs_out = []
            for k, (a, o) in enumerate(pairings):
                p = int(np.flatnonzero(which == k)[0])
                ours = (model.wealth[2 * p] / turns, model.wealth[2 * p + 1] / turns)
                match = axl.Match(_axelrod_players(a, o), turns=turns, game=game)
                match.play()
                theirs = tuple(float(x) for x in match.final_score_per_turn())
                worst = max(worst, *(abs(x - y) for x, y in zip(ours, theirs, strict=True)))
                pairs_out.append(
                    {"pairing": f"{a}-{o}", "model": list(map(float, ours)), "axelrod": theirs}
                )
            _release(model)
            rows.append(
                Check(
                    "axelrod",
                    f"same scores as Axelrod: b={b:g}, c={c:g}, {turns} turns",
                    "6 pairings of TitForTat / Cooperator / Defector; "
                    f"Game(r={b - c:g}, s={-c:g}, t={b:g}, p=0)",
                    "identical per-turn scores",
                    f"max |difference| = {worst:.1e}",
                    worst <= EXACT_TOLERANCE,
                    {"b": b, "c": c, "turns": turns, "pairs": pairs_out, "noise": 0.0},
                )
            )

    # Noisy matches: means agree within sampling error.
    b, c, turns, noise = 3.0, 1.0, 50, 0.05
    game = axl.Game(r=b - c, s=-c, t=b, p=0)
    per_seed = max(1, size.pairs // size.pair_seeds)
    ours_all: dict[tuple[str, str], list[list[float]]] = {k: [[], []] for k in pairings}
    for s in range(size.pair_seeds):
        model, which = pairs_model(
            pairings, per_seed, _single_item_game(b, c, noise=noise), seed_for(seed, 1, 0, s)
        )
        model.run(turns)
        for k, pairing in enumerate(pairings):
            nodes = np.flatnonzero(which == k)
            for side in (0, 1):
                ours_all[pairing][side].extend(model.wealth[2 * nodes + side] / turns)
        _release(model)
    for k, (a, o) in enumerate(pairings):
        theirs = np.array(
            [
                _play_axelrod(
                    a, o, game, turns=turns, noise=noise, seed=seed_for(seed, 1, 1 + k, i)
                )
                for i in range(size.axelrod_matches)
            ]
        )
        zs, txt = [], []
        for side in (0, 1):
            x, y = np.asarray(ours_all[(a, o)][side]), theirs[:, side]
            se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
            z = (x.mean() - y.mean()) / se if se > 0 else 0.0
            zs.append(z)
            txt.append(f"{_fmt(x.mean())} vs {_fmt(y.mean())}")
        rows.append(
            Check(
                "axelrod",
                f"noisy matches agree with Axelrod: {a} vs {o}",
                f"b={b:g}, c={c:g}, {turns} turns, noise {noise:g}; "
                f"{len(ours_all[(a, o)][0])} model pairs vs {size.axelrod_matches} Axelrod matches",
                f"equal mean per-turn scores (|z| <= {Z_TOLERANCE:g})",
                "; ".join(txt) + f" (z = {zs[0]:.2f} / {zs[1]:.2f})",
                max(abs(z) for z in zs) <= Z_TOLERANCE,
                {
                    "pairing": f"{a}-{o}",
                    "model": [float(np.mean(ours_all[(a, o)][i])) for i in (0, 1)],
                    "axelrod": [float(theirs[:, i].mean()) for i in (0, 1)],
                    "z": zs,
                    "noise": noise,
                },
            )
        )

    # A probabilistic end: Axelrod's matches end with probability 1 - w after each
    # turn; here a relationship ends and starts afresh. By the renewal-reward
    # theorem the long-run score per step here equals Axelrod's total score per
    # match over its mean length.
    w = 0.8
    for (a, o), noise in ((("reciprocal", "holdout"), 0.0), (("reciprocal", "reciprocal"), 0.05)):
        steps, burn_in = 100, 40
        model, _ = pairs_model(
            [(a, o)],
            size.pairs,
            _single_item_game(b, c, continuation=w, noise=noise),
            seed_for(seed, 1, 10, int(noise > 0)),
        )
        # After the burn-in every relationship's age has (nearly) its stationary law.
        model.run(burn_in)
        before = model.wealth.copy()
        model.run(steps - burn_in)
        late = (model.wealth - before) / (steps - burn_in)
        _release(model)
        # Pairs are independent: the SE of each side's mean is over pairs.
        ours_side = [float(late[0::2].mean()), float(late[1::2].mean())]
        se_ours = [float(late[i::2].std(ddof=1) / math.sqrt(size.pairs)) for i in (0, 1)]
        scores, lengths = [], []
        for i in range(size.axelrod_matches * 5):
            match = axl.Match(
                _axelrod_players(a, o),
                prob_end=1 - w,
                game=game,
                noise=noise,
                seed=seed_for(seed, 1, 20 + int(noise > 0), i),
            )
            match.play()
            scores.append([float(x) for x in match.final_score()])
            lengths.append(len(match.result))
        sc, ln = np.asarray(scores), np.asarray(lengths, dtype=float)
        theirs = sc.sum(axis=0) / ln.sum()
        # Ratio estimator's SE (delta method over matches).
        se_theirs = [
            float(np.std(sc[:, i] - theirs[i] * ln, ddof=1) / math.sqrt(len(ln)) / ln.mean())
            for i in (0, 1)
        ]
        zs = [(ours_side[i] - theirs[i]) / math.hypot(se_ours[i], se_theirs[i]) for i in (0, 1)]
        theory = (
            f"{-c * (1 - w):g} / {b * (1 - w):g} (-c(1-w), b(1-w))"
            if o == "holdout"
            else "equal means"
        )
        rows.append(
            Check(
                "axelrod",
                f"probabilistic end agrees with Axelrod: {a} vs {o}",
                f"b={b:g}, c={c:g}, w={w:g}, noise {noise:g}; steps {burn_in + 1}-{steps} of "
                f"{size.pairs} pairs vs {len(ln)} Axelrod matches (prob_end={1 - w:g})",
                theory,
                f"{_fmt(ours_side[0])} / {_fmt(ours_side[1])} vs {_fmt(theirs[0])} / "
                f"{_fmt(theirs[1])} (z = {zs[0]:.2f} / {zs[1]:.2f})",
                max(abs(z) for z in zs) <= Z_TOLERANCE,
                {"model": ours_side, "axelrod": list(map(float, theirs)), "z": zs, "w": w},
            )
        )
    return rows


def _play_axelrod(
    a: str, o: str, game: Any, *, turns: int, noise: float, seed: int
) -> tuple[float, float]:
    import axelrod as axl

    match = axl.Match(_axelrod_players(a, o), turns=turns, game=game, noise=noise, seed=seed)
    match.play()
    return tuple(float(x) for x in match.final_score_per_turn())


# --------------------------------------------------------------------------- part 3: direct

DIRECT_N, DIRECT_STEPS = 30, 300
RATIOS = (2.0, 4.0)  # b/c for the direct and indirect sweeps (c = 1)


def direct_threshold(b: float, c: float, steps: int) -> float:
    """w at which a holdout earns what a reciprocal earns against reciprocals, over `steps` steps.

    The first step is always a fresh start, so the finite-run threshold is
    (c/b) T / (T - 1), tending to Nowak's c/b.
    """
    return (c / b) * steps / (steps - 1)


def _direct_task(task: tuple[float, float, float, int, int, int]) -> dict[str, float]:
    """One run: N-1 reciprocal negotiators and one holdout on a complete graph."""
    from environments.model import ConcessionModel

    b, c, w, n, steps, seed = task
    model = ConcessionModel(
        {
            **_single_item_game(b, c, continuation=w),
            "population": {"n": n, "mix": {"reciprocal": 1 - 1 / n, "holdout": 1 / n}},
            "network": {"kind": "complete"},
        },
        rng=seed,
    ).run(steps)
    h = model.strategy_names.index("holdout")
    is_h = model.strategy == h
    assert is_h.sum() == 1, "exactly one holdout"
    gives_to_h = float(model.value_received[is_h].sum()) / b
    out = {
        "wealth_h": float(model.wealth[is_h].sum()),
        "deals_h": float(model.deals[is_h].sum()),
        # Reciprocal payoff in deals among reciprocals: add back what they gave the holdout.
        "wealth_rr": float(model.wealth[~is_h].sum()) + c * gives_to_h,
        "deals_rr": float(model.deals[~is_h].sum() - model.deals[is_h].sum()),
    }
    _release(model)
    return out


def direct_reciprocity(
    size: Size = QUICK, seed: int = DEFAULT_SEED, pool: Pool | None = None
) -> list[Check]:
    """Nowak (2006): reciprocal negotiators resist invasion by holdouts iff w > c/b."""
    pool = pool or Pool(0)
    c, n, steps = 1.0, DIRECT_N, DIRECT_STEPS
    points = [(b, f * c / b) for b in RATIOS for f in size.direct_factors]
    tasks = [
        (b * c, c, w, n, steps, seed_for(seed, 2, p, r))
        for p, (b, w) in enumerate(points)
        for r in range(size.direct_replicates)
    ]
    results = pool.map(_direct_task, tasks)
    rows: list[Check] = []
    by_ratio: dict[float, list[dict[str, float]]] = {}
    for p, (b, w) in enumerate(points):
        runs = results[p * size.direct_replicates : (p + 1) * size.direct_replicates]
        deals_h = sum(r["deals_h"] for r in runs)
        pi_h = sum(r["wealth_h"] for r in runs) / deals_h
        pi_rr = sum(r["wealth_rr"] for r in runs) / sum(r["deals_rr"] for r in runs)
        # A holdout's deal pays b on a fresh start: every pair's first deal, then
        # an independent Bernoulli(1 - w) per deal, so the SE is binomial.
        later = deals_h * (steps - 1) / steps
        p_hat = min(max((pi_h * steps / b - 1) / (steps - 1), 0.0), 1.0)
        se = b / deals_h * math.sqrt(later * max(p_hat * (1 - p_hat), 1.0 / later))
        delta = pi_h - pi_rr
        theory_h = b * expected_gives("reciprocal", "holdout", steps, w) / steps
        theory = theory_h - (b - c)
        resisted = theory < 0
        z = (delta - theory) / se
        sign_ok = (delta < 0) == resisted or abs(theory) <= SIGN_MARGIN * se
        rows.append(
            Check(
                "direct",
                f"direct reciprocity: b/c={b:g}, w={w:.3g} ({w / (c / b):.2f} c/b)",
                f"N={n} complete graph, 1 holdout, {steps} steps, w={w:.3g}, "
                f"{size.direct_replicates} runs",
                f"{'resisted' if resisted else 'invaded'}: holdout - reciprocal payoff "
                f"= {_fmt(theory)}",
                f"{'resisted' if delta < 0 else 'invaded'}: {_fmt(delta)} ± {_fmt(se)} "
                f"(z = {z:.2f}); holdout {_fmt(pi_h)}, reciprocal {_fmt(pi_rr)}",
                sign_ok and abs(z) <= Z_TOLERANCE,
                {"b": b, "c": c, "w": w, "delta": delta, "se": se, "theory": theory},
            )
        )
        by_ratio.setdefault(b, []).append(rows[-1].values)
    for b, pts in by_ratio.items():
        if len(pts) < 2:
            continue
        x = np.array([p["w"] for p in pts])
        y = np.array([p["delta"] for p in pts])
        se = np.array([p["se"] for p in pts])
        root, root_se = _line_root(x, y, se)
        want = direct_threshold(b, c, steps)
        rows.append(
            Check(
                "direct",
                f"direct reciprocity threshold: b/c={b:g}",
                f"root of the line through the {len(pts)} points above",
                f"w* = c/b = {c / b:g} ({_fmt(want, 4)} over {steps} steps)",
                f"w* = {_fmt(root, 4)} ± {_fmt(root_se, 4)}",
                abs(root - want) <= Z_TOLERANCE * root_se,
                {"b": b, "c": c, "root": root, "root_se": root_se, "theory": want},
            )
        )
    return rows


# --------------------------------------------------------------------------- part 4: network

# (N, k, selection intensity): small enough for the exact Markov chain.
NETWORK_SETUPS: dict[str, tuple[int, int, float]] = {
    "cycle": (12, 2, 0.1),
    "ring4": (16, 4, 0.03),
}


def critical_ratio(n: int, k: int) -> float:
    """b/c above which DB updating favours cooperation on a k-regular graph of n nodes.

    (N - 2) / (N/k - 2) for vertex-transitive graphs (Taylor, Day & Wild 2007;
    Chen 2013); it tends to Ohtsuki et al.'s k as N grows.
    """
    return (n - 2) / (n / k - 2) if n > 2 * k else math.inf


def _ring_neighbours(n: int, k: int) -> np.ndarray:
    """Neighbours of each node of the ring lattice: k/2 on each side (a circulant graph)."""
    offsets = [d for d in range(1, k // 2 + 1)] + [-d for d in range(1, k // 2 + 1)]
    return (np.arange(n)[:, None] + np.array(offsets)[None, :]) % n


@lru_cache(maxsize=8)
def _orbits(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Configurations of cooperators up to the ring's rotations and reflections.

    Returns the representatives (bitmasks, sorted) and, for every bitmask, the
    index of its representative. The chain is lumpable by these symmetries, so
    the exact solve needs one unknown per orbit (2250 for N = 16, not 65536).
    """
    states = np.arange(2**n, dtype=np.int64)
    mask = (1 << n) - 1
    mirrored = np.zeros_like(states)
    for i in range(n):
        mirrored |= ((states >> i) & 1) << (n - 1 - i)
    best = states.copy()
    for x in (states, mirrored):
        for r in range(n):
            np.minimum(best, ((x << r) | (x >> (n - r))) & mask if r else x, out=best)
    reps = np.unique(best)
    return reps, np.searchsorted(reps, best)


def fixation_probability(n: int, k: int, b: float, c: float, beta: float) -> float:
    """Exact fixation probability of one cooperator (naive) among defectors (holdouts).

    The Markov chain of the model's rule on the ring lattice of n nodes and degree
    k: every step all pairs of neighbours play the donation game once (payoff
    b x cooperating neighbours - c k if cooperating), then one random node dies
    and a neighbour takes its place with probability proportional to exp(beta x
    payoff). Solved on the orbits of the ring's symmetries.
    """
    reps, index = _orbits(n, k)
    nbrs = _ring_neighbours(n, k)
    coop = ((reps[:, None] >> np.arange(n)) & 1).astype(np.float64)
    payoff = b * coop[:, nbrs].sum(axis=2) - c * k * coop
    fit = np.exp(beta * (payoff - payoff.max(axis=1, keepdims=True)))
    f_n, c_n = fit[:, nbrs], coop[:, nbrs]
    p_coop = (f_n * c_n).sum(axis=2) / f_n.sum(axis=2)  # the dead node becomes a cooperator
    flip = np.where(coop == 1, 1 - p_coop, p_coop) / n
    m = len(reps)
    target = index[reps[:, None] ^ (1 << np.arange(n))]
    P = np.zeros((m, m))
    np.add.at(P, (np.repeat(np.arange(m), n), target.ravel()), flip.ravel())
    P[np.arange(m), np.arange(m)] += 1 - flip.sum(axis=1)
    A = np.eye(m) - P
    rhs = np.zeros(m)
    for state, value in ((0, 0.0), ((1 << n) - 1, 1.0)):
        i = index[state]
        A[i] = 0.0
        A[i, i] = 1.0
        rhs[i] = value
    x = np.linalg.solve(A, rhs)
    return float(x[index[1]])


def _fixation_task(task: tuple[int, int, float, float, float, list[int]]) -> list[int]:
    """Fixation (1) or loss (0) of a single cooperator, for each seed of a batch."""
    from environments.model import ConcessionModel

    n, k, b, c, beta, seeds = task
    config = {
        **_single_item_game(b, c),
        "population": {"n": n, "mix": {"naive": 1 / n, "holdout": 1 - 1 / n}},
        "network": {"kind": "ring", "k": k},
        "evolution": {
            "rule": "death-birth",
            "update_every": 1,
            "selection_intensity": beta,
            "updates_per_event": 1,
            "mutation_rate": 0.0,
        },
    }
    out = []
    for seed in seeds:
        model = ConcessionModel(config, rng=seed)
        coop = model.strategy_names.index("naive")
        count = int((model.strategy == coop).sum())
        assert count == 1, "exactly one cooperator at the start"
        # Step until the cooperator is lost or fixed (no mutation: both absorb).
        cap = 1000 * n * n
        while 0 < count < n and model.steps < cap:
            model.step()
            count = int((model.strategy == coop).sum())
        if 0 < count < n:
            raise RuntimeError(f"no absorption after {cap} steps (seed {seed})")
        out.append(int(count == n))
        _release(model)
    return out


def network_reciprocity(
    size: Size = QUICK, seed: int = DEFAULT_SEED, pool: Pool | None = None
) -> list[Check]:
    """Ohtsuki et al. (2006): DB updating favours a single cooperator iff b/c exceeds the threshold."""
    pool = pool or Pool(0)
    c = 1.0
    tasks, spans = [], []
    for p, (name, ratio, reps) in enumerate(size.network_points):
        n, k, beta = NETWORK_SETUPS[name]
        seeds = [seed_for(seed, 3, p, r) for r in range(reps)]
        start = len(tasks)
        tasks += [(n, k, ratio * c, c, beta, batch) for batch in _batches(seeds, 25)]
        spans.append((start, len(tasks)))
    results = pool.map(_fixation_task, tasks)
    rows = []
    for (name, ratio, reps), (lo, hi) in zip(size.network_points, spans, strict=True):
        n, k, beta = NETWORK_SETUPS[name]
        fixed = sum(sum(r) for r in results[lo:hi])
        rho = fixed / reps
        ci = wilson_interval(fixed, reps)
        exact = fixation_probability(n, k, ratio * c, c, beta)
        weak = fixation_probability(n, k, ratio * c, c, 1e-4)
        threshold = critical_ratio(n, k)
        # The classic claim is about weak selection: the chain at beta -> 0 decides
        # the side of 1/N; at the beta used, the chain gives the expected value.
        favoured = weak > 1 / n
        se = math.sqrt(exact * (1 - exact) / reps)
        z = (rho - exact) / se
        side_ok = (rho > 1 / n) == favoured
        rel = "above" if ratio > threshold else "below"
        vs_k = f"{'>' if ratio > k else '<'} k = {k}"
        inside = ci[0] <= 1 / n <= ci[1]
        rows.append(
            Check(
                "network",
                f"network reciprocity: {'cycle' if k == 2 else f'ring k={k}'}, b/c={ratio:g}",
                f"N={n}, k={k}, death-birth, beta={beta:g}, c=1, {reps} runs "
                "from one random cooperator",
                f"rho {'>' if favoured else '<'} 1/N = {_fmt(1 / n, 4)}: b/c {vs_k}, {rel} the "
                f"N={n} threshold {threshold:.3g}; exact chain rho = {_fmt(exact, 4)}",
                f"rho = {_fmt(rho, 4)}, 95% CI [{_fmt(ci[0], 4)}, {_fmt(ci[1], 4)}]; "
                f"1/N {'inside' if inside else 'outside'} the CI; z vs exact = {z:.2f}",
                side_ok and abs(z) <= Z_TOLERANCE,
                {
                    "setup": name,
                    "n": n,
                    "k": k,
                    "beta": beta,
                    "ratio": ratio,
                    "rho": rho,
                    "ci": ci,
                    "exact": exact,
                    "threshold": threshold,
                    "runs": reps,
                },
            )
        )
    return rows


# --------------------------------------------------------------------------- part 5: indirect

INDIRECT_N, INDIRECT_STEPS = 300, 10
HOLDOUT_SHARE = 0.01  # rare holdouts: the invasion analysis
STANDING = 0.5  # the discriminator's threshold and the stranger's initial belief


def knowledge_probability(g: float, n: int = INDIRECT_N, steps: int = INDIRECT_STEPS) -> float:
    """Approximate chance that a discriminator knows the holdout's image when they deal.

    Complete graph, initiator matching with one deal started per negotiator and
    step, gossip heard by each contact of each participant with probability g
    (a third party is a contact of both, so two chances), beliefs updated at the
    end of the step and never forgotten. A discriminator stays ignorant of the
    holdout through one step with probability
    p = ((n-2)/(n-1))^2 (1-g)^2 (1 - (1-(1-g)^2)/(n-1))^(n-2)
    (it did not deal with the holdout, and heard of none of the holdout's deals),
    so over a generation of `steps` steps q = 1 - (1 - p^T) / (T (1 - p)).
    Used to choose g for a target q; the validation reports the measured q.
    """
    a = (1 - g) ** 2
    p = ((n - 2) / (n - 1)) ** 2 * a * (1 - (1 - a) / (n - 1)) ** (n - 2)
    return 1 - (1 - p**steps) / (steps * (1 - p))


def gossip_for(q: float, n: int = INDIRECT_N, steps: int = INDIRECT_STEPS) -> float:
    """The gossip probability g whose `knowledge_probability` is q (0 if q is below g = 0's)."""
    from scipy.optimize import brentq

    if q <= knowledge_probability(0.0, n, steps):
        return 0.0
    return float(brentq(lambda g: knowledge_probability(g, n, steps) - q, 0.0, 1.0, xtol=1e-10))


def indirect_config(
    b: float, c: float, g: float, n: int = INDIRECT_N, share: float = HOLDOUT_SHARE
) -> dict[str, Any]:
    """Strangers with image scoring: discriminating reciprocal negotiators and rare holdouts.

    w = 0 clears the relationship after every deal, so a discriminator decides
    on its belief alone: it gives to a partner in good standing (belief >= 0.5;
    a stranger starts at 0.5, "good until seen refusing") and to no one else.
    Beliefs move all the way to each new assessment (belief_rate 1): binary
    images, as in Nowak and Sigmund's image scoring.
    """
    base = _single_item_game(b, c, continuation=0.0, matching="initiator")
    base["deal"]["deals_per_step"] = 1
    base["reputation"] = {
        "gossip_prob": g,
        "assessment": "image_scoring",
        "belief_rate": 1.0,
        "initial_belief": STANDING,
        "referral_prob": 0.0,
        "perception_noise": 0.0,
    }
    base["population"] = {"n": n, "mix": {"reciprocal": 1 - share, "holdout": share}}
    base["network"] = {"kind": "complete"}
    base["strategies"] = {
        "reciprocal": {"discriminating": True, "generosity": 0.0, "standing": STANDING}
    }
    return base


def _indirect_task(task: tuple[float, float, float, int, int, float, int]) -> dict[str, float]:
    """One generation: who knew the holdout they dealt with, and what everyone earned."""
    from environments.model import ConcessionModel

    b, c, g, n, steps, share, seed = task
    model = ConcessionModel(indirect_config(b, c, g, n, share), rng=seed)
    is_h = model.strategy == model.strategy_names.index("holdout")
    holdouts = np.flatnonzero(is_h)
    column = np.full(n, -1)
    column[holdouts] = np.arange(len(holdouts))
    holders = np.repeat(np.arange(n), len(holdouts))
    targets = np.tile(holdouts, n)
    mine = holders != targets
    # met[i, j]: negotiator i dealt with holdout j before, so knows it first-hand.
    met = np.zeros((n, len(holdouts)), dtype=bool)
    acc = dict.fromkeys(
        ("deals_h", "pay_h", "gave", "knew", "knew_own", "gave_knowing", "sides_dd", "pay_dd"),
        0.0,
    )
    for _ in range(steps):
        # Beliefs before the step's deals: gossip is heard at the end of a step.
        knows = np.zeros((n, len(holdouts)), dtype=bool)
        knows[holders[mine], column[targets[mine]]] = (
            model.belief_of(holders[mine], targets[mine]) < STANDING
        )
        known_first_hand = met.copy()
        model.step()
        deals = model.last_deals()
        a = deals["initiator"].to_numpy()
        r = deals["responder"].to_numpy()
        pay_a, pay_r = deals["payoff_initiator"].to_numpy(), deals["payoff_responder"].to_numpy()
        give_a, give_r = deals["give_initiator"].to_numpy(), deals["give_responder"].to_numpy()
        # Deals of a holdout with a discriminator (two holdouts meeting tell nothing).
        mixed = is_h[a] != is_h[r]
        h_first = is_h[a] & mixed
        holdout = np.where(h_first, a, r)[mixed]
        partner = np.where(h_first, r, a)[mixed]
        partner_gave = np.where(h_first, give_r, give_a)[mixed] != 0
        knew = knows[partner, column[holdout]]
        # Meeting the same holdout twice in a step: the second deal is played in a
        # later round, after the first deal taught the discriminator first-hand.
        _, first, counts = np.unique(partner * n + holdout, return_index=True, return_counts=True)
        repeats = float(((counts - 1) * ~knew[first]).sum())
        acc["deals_h"] += mixed.sum()
        acc["pay_h"] += np.where(h_first, pay_a, pay_r)[mixed].sum()
        acc["gave"] += partner_gave.sum()
        acc["knew"] += knew.sum() + repeats
        acc["knew_own"] += known_first_hand[partner, column[holdout]].sum() + repeats
        acc["gave_knowing"] += (knew & partner_gave).sum()
        among = ~is_h[a] & ~is_h[r]
        acc["sides_dd"] += 2 * among.sum()
        acc["pay_dd"] += (pay_a + pay_r)[among].sum()
        met[partner, column[holdout]] = True
    _release(model)
    return {k: float(v) for k, v in acc.items()}


def _ratio_se(num: np.ndarray, den: np.ndarray) -> tuple[float, np.ndarray]:
    """A ratio of sums over runs, and each run's linearised contribution (for SEs)."""
    ratio = num.sum() / den.sum()
    return float(ratio), (num - ratio * den) / den.mean()


def _se(linearised: np.ndarray) -> float:
    return float(np.std(linearised, ddof=1) / math.sqrt(len(linearised)))


def indirect_reciprocity(
    size: Size = QUICK, seed: int = DEFAULT_SEED, pool: Pool | None = None
) -> list[Check]:
    """Nowak & Sigmund: discriminators hold against holdouts iff q > c/b (image scoring).

    Per point, Nowak's analysis has two parts, checked separately: a holdout
    earns b(1 - q) (exactly what the measured knowledge q predicts), and
    discriminators earn b - c among themselves, which holds only in the limit
    of rare holdouts (checked by a point with a third of the holdout share).
    """
    pool = pool or Pool(0)
    c, n, steps, reps = 1.0, INDIRECT_N, INDIRECT_STEPS, size.indirect_replicates
    points: list[tuple[float, float, float | None, float]] = []
    for b in RATIOS:
        points.append((b, 0.0, None, HOLDOUT_SHARE))  # control: no gossip, first-hand only
        for f in size.indirect_factors:
            points.append((b, gossip_for(f * c / b, n, steps), f, HOLDOUT_SHARE))
    top = max(size.indirect_factors)
    rare = 1.0 / n  # a single holdout
    points.append((RATIOS[0], gossip_for(top * c / RATIOS[0], n, steps), top, rare))
    tasks = [
        (b * c, c, g, n, steps, share, seed_for(seed, 4, p, r))
        for p, (b, g, _, share) in enumerate(points)
        for r in range(reps)
    ]
    results = pool.map(_indirect_task, tasks)
    rows: list[Check] = []
    fits: dict[float, list[dict[str, Any]]] = {}
    deficits: dict[tuple[float, float | None, float], tuple[float, float]] = {}
    for p, (b, g, f, share) in enumerate(points):
        runs = results[p * reps : (p + 1) * reps]
        col = {k: np.array([r[k] for r in runs]) for k in runs[0]}
        pi_h, lin_h = _ratio_se(col["pay_h"], col["deals_h"])
        pi_dd, lin_dd = _ratio_se(col["pay_dd"], col["sides_dd"])
        q, lin_q = _ratio_se(col["knew"], col["deals_h"])
        own = col["knew_own"].sum() / col["deals_h"].sum()
        deficits[(b, f, share)] = ((b - c) - pi_dd, _se(lin_dd))
        if share != HOLDOUT_SHARE:
            continue
        delta, se, se_q = pi_h - pi_dd, _se(lin_h - lin_dd), _se(lin_q)
        theory = b * (1 - q) - (b - c)  # Nowak: ALLD earns b(1-q), discriminators b - c
        resisted = q > c / b
        # A discriminator gives exactly when it does not know the holdout (a check
        # of the strategy and the order of events), so the holdout earns b(1 - q).
        exact_h = col["gave_knowing"].sum() == 0 and col["gave"].sum() == (
            col["deals_h"].sum() - col["knew"].sum()
        )
        exact_h = exact_h and abs(pi_h - b * (1 - q)) <= EXACT_TOLERANCE
        sign_ok = (delta < 0) == resisted or abs(theory) <= SIGN_MARGIN * se
        label = "no gossip (control)" if f is None else f"target q = {f:g} c/b"
        rows.append(
            Check(
                "indirect",
                f"indirect reciprocity: b/c={b:g}, {label}",
                f"N={n} complete, initiator matching, w=0, {share:.0%} holdouts, {steps} "
                f"steps, image scoring, g={g:.4g}, {reps} runs",
                f"q = {_fmt(q)} {'>' if resisted else '<'} c/b = {c / b:g}: "
                f"{'resisted' if resisted else 'invaded'}; b(1-q) - (b-c) = {_fmt(theory)}",
                f"{'resisted' if delta < 0 else 'invaded'}: {_fmt(delta)} ± {_fmt(se)}; "
                f"holdout {_fmt(pi_h)} ({'=' if exact_h else '!='} b(1-q) exactly), "
                f"discriminators {_fmt(pi_dd)}; q ± {_fmt(se_q)}, first-hand {_fmt(own)}",
                sign_ok and exact_h,
                {
                    "b": b,
                    "c": c,
                    "g": g,
                    "q": q,
                    "q_se": se_q,
                    "q_own": own,
                    "delta": delta,
                    "se": se,
                    "theory": theory,
                    "pi_h": pi_h,
                    "exact_h": exact_h,
                    "pi_dd": pi_dd,
                    "pi_dd_se": _se(lin_dd),
                    "control": f is None,
                },
            )
        )
        fits.setdefault(b, []).append(rows[-1].values)
    for b, pts in fits.items():
        if len(pts) < 2:
            continue
        x = np.array([p["q"] for p in pts])
        y = np.array([p["delta"] for p in pts])
        se = np.array([p["se"] for p in pts])
        root, root_se = _line_root(x, y, se)
        # Where the holdout's b(1-q) meets the discriminators' measured payoff near
        # the threshold: q* = 1 - pi_dd / b (Nowak's pi_dd = b - c gives c/b).
        near = min(pts, key=lambda p: abs(p["q"] - c / b))
        corrected = 1 - near["pi_dd"] / b
        rows.append(
            Check(
                "indirect",
                f"indirect reciprocity threshold: b/c={b:g}",
                f"root of the line through the {len(pts)} points above (Delta against q); "
                f"g* = {gossip_for(c / b, n, steps):.4g} by the knowledge formula",
                f"q* = c/b = {c / b:g} (with the measured discriminator payoff "
                f"{_fmt(near['pi_dd'])}: 1 - pi/b = {_fmt(corrected)})",
                f"q* = {_fmt(root)} ± {_fmt(root_se)}",
                abs(root - c / b) <= Z_TOLERANCE * root_se,
                {"b": b, "c": c, "root": root, "root_se": root_se, "corrected": corrected},
            )
        )
    # Image scoring scores a justified refusal (of a holdout) as bad, so discriminators
    # who refuse holdouts are refused in turn: a payoff deficit among discriminators,
    # of first order in the holdout share, that vanishes in Nowak's rare-holdout limit.
    b = RATIOS[0]
    (d1, s1), (d2, s2) = deficits[(b, top, HOLDOUT_SHARE)], deficits[(b, top, rare)]
    expected = d1 * rare / HOLDOUT_SHARE
    z = _z(d2 - expected, math.hypot(s2, s1 * rare / HOLDOUT_SHARE))
    rows.append(
        Check(
            "indirect",
            "image scoring's cost of refusing holdouts",
            f"b/c={b:g}, target q = {top:g} c/b, holdout share {HOLDOUT_SHARE:.0%} and "
            f"{rare:.2%} (one holdout), {reps} runs each",
            "(b-c) - discriminator payoff > 0, proportional to the holdout share, "
            f"-> 0 for rare holdouts: {_fmt(expected, 4)} at {rare:.2%}",
            f"{_fmt(d1, 4)} ± {_fmt(s1, 4)} at {HOLDOUT_SHARE:.0%}, {_fmt(d2, 4)} ± "
            f"{_fmt(s2, 4)} at {rare:.2%} (z = {z:.2f})",
            d1 > SIGN_MARGIN * s1 and abs(z) <= Z_TOLERANCE,
            {"deficit": [d1, d2], "se": [s1, s2], "share": [HOLDOUT_SHARE, rare]},
        )
    )
    return rows


# --------------------------------------------------------------------------- running


PART_FUNCTIONS: dict[str, Callable[..., list[Check]]] = {
    "exact": donation_game_checks,
    "axelrod": axelrod_checks,
    "direct": direct_reciprocity,
    "network": network_reciprocity,
    "indirect": indirect_reciprocity,
}


def parse_parts(text: str | None) -> list[str]:
    """Parts named in a comma-separated list (all when None); an unknown name is a ConfigError."""
    from environments.config import ConfigError

    if text is None or not text.strip():
        return list(PARTS)
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in PARTS]
    if unknown:
        raise ConfigError(
            f"--only names {', '.join(map(repr, unknown))}; allowed: {', '.join(PARTS)}"
        )
    return [p for p in PARTS if p in names]


def run_validation(
    parts: Iterable[str] = PARTS,
    size: Size = QUICK,
    seed: int = DEFAULT_SEED,
    workers: int | None = None,
    on_part: Callable[[str, list[Check], float], None] | None = None,
) -> tuple[list[Check], dict[str, float]]:
    """Run the named parts; returns every row and the seconds each part took."""
    rows: list[Check] = []
    seconds: dict[str, float] = {}
    with Pool(workers) as pool:
        for part in parts:
            start = time.perf_counter()
            func = PART_FUNCTIONS[part]
            got = func(size, seed, pool) if part in STATISTICAL_PARTS else func(size, seed)
            seconds[part] = time.perf_counter() - start
            rows += got
            if on_part is not None:
                on_part(part, got, seconds[part])
    return rows, seconds


# --------------------------------------------------------------------------- outputs


def table_markdown(rows: Sequence[Check]) -> str:
    """The table as Markdown (result, setup, theory, measured, within tolerance?)."""
    lines = [
        "| result | setup | theory | measured | within tolerance? |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [r.result, r.setup, r.theory, r.measured, "yes" if r.ok else "**no**"]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(
    rows: Sequence[Check],
    out: str | Path,
    *,
    size: Size,
    seed: int,
    seconds: dict[str, float],
    figures: bool = True,
) -> list[Path]:
    """Write table.md, table.csv, results.json and the figures to `out`; returns the files."""
    import polars as pl

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    (out / "table.md").write_text(table_markdown(rows), encoding="utf-8")
    written.append(out / "table.md")
    pl.DataFrame(
        {
            "part": [r.part for r in rows],
            "result": [r.result for r in rows],
            "setup": [r.setup for r in rows],
            "theory": [r.theory for r in rows],
            "measured": [r.measured for r in rows],
            "within_tolerance": [r.ok for r in rows],
        }
    ).write_csv(out / "table.csv")
    written.append(out / "table.csv")
    payload = {
        "size": size.name,
        "seed": seed,
        "seconds": seconds,
        "rows": [asdict(r) for r in rows],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=1, default=float), "utf-8")
    written.append(out / "results.json")
    if figures:
        written += make_figures(rows, out)
    return written


def make_figures(rows: Sequence[Check], out: Path) -> list[Path]:
    """One figure per part that has rows: axelrod, direct, network, indirect (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.palette import STRATEGY_COLOURS

    written = []
    by_part: dict[str, list[Check]] = {}
    for r in rows:
        by_part.setdefault(r.part, []).append(r)
    ink, theory_colour = STRATEGY_COLOURS["holdout"], STRATEGY_COLOURS["strategic"]
    point_colour = STRATEGY_COLOURS["reciprocal"]

    if "axelrod" in by_part:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        xs, ys, noisy = [], [], []
        for r in by_part["axelrod"]:
            v = r.values
            if "pairs" in v:
                for p in v["pairs"]:
                    xs += list(p["axelrod"])
                    ys += list(p["model"])
                    noisy += [False, False]
            else:
                xs += list(v["axelrod"])
                ys += list(v["model"])
                noisy += [True, True]
        xs_a, ys_a, noisy_a = np.array(xs), np.array(ys), np.array(noisy)
        lim = [min(xs_a.min(), ys_a.min()) - 0.3, max(xs_a.max(), ys_a.max()) + 0.3]
        ax.plot(lim, lim, color="#BBBBBB", lw=1, zorder=0)
        ax.scatter(xs_a[~noisy_a], ys_a[~noisy_a], s=18, color=point_colour, label="exact")
        ax.scatter(
            xs_a[noisy_a], ys_a[noisy_a], s=30, marker="x", color=ink, label="noise / prob. end"
        )
        ax.set_xlabel("Axelrod library: score per turn")
        ax.set_ylabel("concession-lab: payoff per step")
        ax.set_title("Cross-check against Axelrod")
        ax.legend(frameon=False)
        written.append(_save(fig, out / "axelrod.png"))

    if "direct" in by_part:
        pts = [r.values for r in by_part["direct"] if "delta" in r.values]
        ratios = sorted({p["b"] for p in pts})
        fig, axes = plt.subplots(1, len(ratios), figsize=(4.5 * len(ratios), 3.8), squeeze=False)
        for ax, b in zip(axes[0], ratios, strict=True):
            sel = sorted((p for p in pts if p["b"] == b), key=lambda p: p["w"])
            c = sel[0]["c"]
            w = np.linspace(0, min(1, 2.2 * c / b), 100)
            steps = DIRECT_STEPS
            ax.plot(
                w,
                b * (1 + (steps - 1) * (1 - w)) / steps - (b - c),
                color=theory_colour,
                label="theory",
            )
            ax.errorbar(
                [p["w"] for p in sel],
                [p["delta"] for p in sel],
                yerr=[1.96 * p["se"] for p in sel],
                fmt="o",
                color=point_colour,
                label="measured (95% CI)",
            )
            ax.axhline(0, color="#BBBBBB", lw=1)
            ax.axvline(c / b, color=ink, ls="--", lw=1, label="w = c/b")
            ax.set_xlabel("continuation probability w")
            ax.set_ylabel("holdout - reciprocal payoff per deal")
            ax.set_title(f"Direct reciprocity, b/c = {b:g}")
            ax.legend(frameon=False, fontsize=8)
        written.append(_save(fig, out / "direct.png"))

    if "network" in by_part:
        pts = [r.values for r in by_part["network"]]
        setups = list(dict.fromkeys(p["setup"] for p in pts))
        fig, axes = plt.subplots(1, len(setups), figsize=(4.5 * len(setups), 3.8), squeeze=False)
        for ax, name in zip(axes[0], setups, strict=True):
            sel = [p for p in pts if p["setup"] == name]
            n, k, beta = sel[0]["n"], sel[0]["k"], sel[0]["beta"]
            top = max(max(p["ratio"] for p in sel) * 1.15, critical_ratio(n, k) * 1.3)
            grid = np.linspace(1.0, top, 25)
            ax.plot(
                grid,
                [n * fixation_probability(n, k, x, 1.0, beta) for x in grid],
                color=theory_colour,
                label=f"exact chain, beta={beta:g}",
            )
            ax.errorbar(
                [p["ratio"] for p in sel],
                [n * p["rho"] for p in sel],
                yerr=np.abs(
                    np.array([[p["ci"][0] - p["rho"], p["ci"][1] - p["rho"]] for p in sel]).T * n
                ),
                fmt="o",
                color=point_colour,
                label="measured (95% CI)",
            )
            ax.axhline(1, color="#BBBBBB", lw=1)
            ax.axvline(k, color=ink, ls=":", lw=1, label=f"b/c = k = {k}")
            ax.axvline(critical_ratio(n, k), color=ink, ls="--", lw=1, label="(N-2)/(N/k-2)")
            ax.set_xlabel("b/c")
            ax.set_ylabel("N x fixation probability of one cooperator")
            ax.set_title(f"Network reciprocity, N = {n}, k = {k}")
            ax.legend(frameon=False, fontsize=8)
        written.append(_save(fig, out / "network.png"))

    if "indirect" in by_part:
        pts = [r.values for r in by_part["indirect"] if "delta" in r.values]
        ratios = sorted({p["b"] for p in pts})
        fig, axes = plt.subplots(1, len(ratios), figsize=(4.5 * len(ratios), 3.8), squeeze=False)
        for ax, b in zip(axes[0], ratios, strict=True):
            sel = sorted((p for p in pts if p["b"] == b), key=lambda p: p["q"])
            c = sel[0]["c"]
            q = np.linspace(0, 1, 50)
            ax.plot(q, b * (1 - q) - (b - c), color=theory_colour, label="Nowak: b(1-q) - (b-c)")
            ax.errorbar(
                [p["q"] for p in sel],
                [p["delta"] for p in sel],
                xerr=[1.96 * p["q_se"] for p in sel],
                yerr=[1.96 * p["se"] for p in sel],
                fmt="o",
                color=point_colour,
                label="measured (95% CI)",
            )
            ax.axhline(0, color="#BBBBBB", lw=1)
            ax.axvline(c / b, color=ink, ls="--", lw=1, label="q = c/b")
            ax.set_xlim(0, 1)
            ax.set_xlabel("q: discriminator knows the holdout's image")
            ax.set_ylabel("holdout - discriminator payoff per deal")
            ax.set_title(f"Indirect reciprocity, b/c = {b:g}")
            ax.legend(frameon=False, fontsize=8)
        written.append(_save(fig, out / "indirect.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
