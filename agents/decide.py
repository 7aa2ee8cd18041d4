"""The built-in strategies' decisions for a whole round of deals, in one compiled loop.

The general way a strategy decides is a batch call: the model hands it a
`DealView` of its own deals and it returns an `Opening` or a `Response`.
That costs, per strategy and move, a view, a gathered copy of every field it
reads and a call from Python: about 40% of a step without gossip. The
built-in strategies also have their rules compiled one deal at a time (each
strategy module's `open_one` / `respond_one`, which its batch loops call
too), so `open_all` and `respond_all` run every deal of a round in one
compiled call, strategy by strategy, reading each field straight from the
model's arrays and applying the strategy's rule.

The results are the same bits as the batch calls: the same rules, and the
same random draws in the same order (the model draws each strategy's
uniforms before the loop, strategy by strategy, as their batch methods
would; exploitative's renege chances, a power that numpy and a compiled
loop need not round alike, computed by numpy too). A strategy with no
compiled rule for a move (users' strategies, a subclass of a built-in one) is
still asked through a view; `Rules.kind` marks it `ASKED` and the loop leaves
its deals alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.items import best_gives_of
from agents.strategies import (
    Exploitative,
    Holdout,
    Naive,
    Reciprocal,
    Strategic,
    Transactional,
    exploitative,
    naive,
    reciprocal,
    strategic,
    transactional,
)
from agents.strategy import Strategy
from environments.compiled import compiled

# How a strategy decides a move in the whole round's loop. HOLDOUT never does anything.
ASKED, HOLDOUT, RECIPROCAL, TRANSACTIONAL, STRATEGIC, NAIVE, EXPLOITATIVE = range(7)

# Each built-in strategy's code, and for each move with a compiled rule, whether that rule reads
# one uniform draw per deal.
_RULES: dict[type[Strategy], tuple[int, dict[str, bool]]] = {
    Holdout: (HOLDOUT, {"open": False, "respond": False}),
    Reciprocal: (RECIPROCAL, {"open": True, "respond": True}),
    Transactional: (TRANSACTIONAL, {"open": False, "respond": False}),
    Strategic: (STRATEGIC, {"open": False, "respond": False}),
    Naive: (NAIVE, {"open": False, "respond": False}),
    Exploitative: (EXPLOITATIVE, {"open": False, "respond": True}),
}
# The moves whose rule also reads the strategy's `renege_chance` of each deal's demand.
_CHANCES = {(Exploitative, "respond")}


@dataclass(frozen=True)
class Rules:
    """How each of a model's strategies (by index) decides one move.

    `kind[s]` is `ASKED` (through a view) or the code of its compiled rule;
    `settings[s]` its `settings_array()` (padded with zeros); `draws[s]`
    whether its rule reads one uniform draw per deal; `chances[s]` whether it
    also reads the strategy's `renege_chance(demand)` per deal.
    """

    kind: np.ndarray
    settings: np.ndarray
    draws: np.ndarray
    chances: np.ndarray


def rules_for(strategies: list[Strategy], move: str) -> Rules:
    """The `Rules` of `move` ("open" or "respond") for these strategies."""
    kind = np.full(len(strategies), ASKED, dtype=np.int64)
    draws = np.zeros(len(strategies), dtype=bool)
    chances = np.zeros(len(strategies), dtype=bool)
    rows = []
    for s, strategy in enumerate(strategies):
        # The exact class only: a subclass may have changed any rule.
        code, moves = _RULES.get(type(strategy), (ASKED, {}))
        if move in moves:
            kind[s], draws[s] = code, moves[move]
            chances[s] = (type(strategy), move) in _CHANCES
        # Only the loop reads settings: a user's strategy may use the name for its own purposes.
        rows.append(strategy.settings_array() if kind[s] != ASKED else np.zeros(0))
    settings = np.zeros((len(strategies), max([len(r) for r in rows], default=0) or 1))
    for s, row in enumerate(rows):
        settings[s, : len(row)] = row
    return Rules(kind, settings, draws, chances)


@compiled
def open_all(
    kind, settings, order, start, me, partner, flat, cost, value, batna, met, heard, belief,
    last_received, streak, idle, reneged, demand, expectation, uniform, half_surplus,
    continuation, give, conditional, ask, walk, framed, one_time,
):  # fmt: skip
    """The openings of a round's deals whose opener's strategy has a compiled rule.

    Deal d: `me[d]` opens to `partner[d]`; `flat[d]` is the opener's side of
    the contact in the flattened contact arrays (`met` .. `expectation`);
    `cost`, `value` and `batna` are the model's, by negotiator; the deals
    strategy s opens are `order[start[s]:start[s + 1]]`, and its `kind[s]`
    and `settings[s]` say how it decides; `uniform[d]` is the deal's draw
    where its rule draws. Writes the deal's `Opening` fields; other deals are
    left as they are. Strategy by strategy, so that each inner loop runs one
    rule (one rule per deal in deal order mispredicts its branch at random).
    """
    for s in range(len(kind)):
        k, p = kind[s], settings[s]
        if k <= HOLDOUT:
            continue
        for r in range(start[s], start[s + 1]):
            d = order[r]
            i, j, f = me[d], partner[d], flat[d]
            if k == RECIPROCAL:
                give[d], walk[d] = reciprocal.open_one(
                    cost[i], value[j], met[f], belief[f], last_received[f], demand[f],
                    expectation[f], batna[i], uniform[d], half_surplus, p,
                )  # fmt: skip
                framed[d] = p[reciprocal.FRAMES] != 0.0
            elif k == TRANSACTIONAL:
                give[d], conditional[d], ask[d], walk[d] = transactional.open_one(
                    cost[i], value[j], value[i], cost[j], expectation[f], batna[i], half_surplus, p
                )
            elif k == STRATEGIC:
                give[d], conditional[d], ask[d], walk[d] = strategic.open_one(
                    cost[i], value[j], value[i], cost[j], met[f], heard[f] or met[f], belief[f],
                    last_received[f], streak[f], idle[f], reneged[f], batna[i], expectation[f],
                    half_surplus, continuation, p,
                )  # fmt: skip
                framed[d] = p[strategic.FRAMES] != 0.0
                one_time[d] = p[strategic.ONE_TIME] != 0.0
            elif k == NAIVE:
                give[d] = best_gives_of(int(p[naive.GIVES_PER_DEAL]), cost[i], value[j])
            elif k == EXPLOITATIVE:
                walk[d] = exploitative.open_one(
                    met[f], expectation[f], last_received[f], batna[i], half_surplus, p
                )


@compiled
def respond_all(
    kind, settings, order, start, me, partner, flat, cost, value, batna, met, heard, belief,
    last_received, streak, idle, reneged, demand, expectation, offer_give, offer_conditional,
    offer_ask, perceived, reads_weakness, uniform, chance, half_surplus, continuation, give,
    accept, renege, walk, framed, one_time,
):  # fmt: skip
    """The answers of a round's deals whose responder's strategy has a compiled rule.

    As `open_all`, with `me[d]` the responder and the offer in front of it
    (`offer_give`, `offer_conditional`, `offer_ask`, its `perceived` value,
    whether it `reads_weakness` in it); `chance[d]` is the deal's renege
    chance where its rule reads one. Writes the deal's `Response` fields.
    """
    for s in range(len(kind)):
        k, p = kind[s], settings[s]
        if k <= HOLDOUT:
            continue
        for r in range(start[s], start[s + 1]):
            d = order[r]
            i, j, f = me[d], partner[d], flat[d]
            if k == RECIPROCAL:
                give[d], accept[d], walk[d] = reciprocal.respond_one(
                    cost[i], value[j], met[f], belief[f], last_received[f], demand[f], batna[i],
                    offer_conditional[d], offer_ask[d], perceived[d], reads_weakness[d], uniform[d],
                    half_surplus, p,
                )  # fmt: skip
            elif k == TRANSACTIONAL:
                accept[d], walk[d] = transactional.respond_one(
                    cost[i], demand[f], batna[i], offer_conditional[d], offer_ask[d], perceived[d],
                    reads_weakness[d], half_surplus, p,
                )  # fmt: skip
            elif k == STRATEGIC:
                give[d], accept[d], walk[d] = strategic.respond_one(
                    cost[i], value[j], value[i], cost[j], met[f], heard[f] or met[f], belief[f],
                    last_received[f], streak[f], idle[f], reneged[f], demand[f], batna[i],
                    offer_conditional[d], offer_ask[d], perceived[d], reads_weakness[d],
                    half_surplus, continuation, p,
                )  # fmt: skip
                framed[d] = p[strategic.FRAMES] != 0.0
                one_time[d] = p[strategic.ONE_TIME] != 0.0
            elif k == NAIVE:
                give[d] = best_gives_of(int(p[naive.GIVES_PER_DEAL]), cost[i], value[j])
                accept[d] = True
            elif k == EXPLOITATIVE:
                accept[d], renege[d], walk[d] = exploitative.respond_one(
                    offer_give[d], offer_conditional[d], met[f], expectation[f], perceived[d],
                    batna[i], uniform[d], chance[d], half_surplus, p,
                )  # fmt: skip
