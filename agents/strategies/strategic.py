"""`strategic`: the Concession Paradox practitioner."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agents.items import best_of, cheapest_of, gives_matching_of, total_of
from agents.strategy import (
    DealView,
    Opening,
    Response,
    Strategy,
    StrategyParams,
    below_batna,
    register,
)
from environments.compiled import compiled, inlined


class StrategicParams(StrategyParams):
    """Parameters of `strategic`; the checklist thresholds follow the seed article."""

    checklist_min: int = Field(
        3, ge=0, le=5, description="gives when at least this many checklist items hold"
    )
    patience: int = Field(
        2, ge=1, le=1000, description="stops after this many unreciprocated gives in a row"
    )
    pause: int = Field(
        1, ge=0, le=1000, description="deals it waits after an unreturned give before giving again"
    )
    ratio_min: float = Field(
        2.0,
        ge=0.0,
        description="value/cost ratio that counts as 'cost low relative to value' and as a worthwhile ask",
    )
    repeat_min: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="continuation that counts as 'repeated relationship likely'",
    )
    trust: float = Field(
        0.5, ge=0.0, le=1.0, description="belief at which a partner is 'likely to reciprocate'"
    )
    frames: bool = Field(True, description="communicates the value of its gives")
    one_time: bool = Field(
        True, description="frames a give as a one-time exception (limits precedent)"
    )
    conditional: bool = Field(
        True,
        description="after an unreturned give, makes the next one conditional on a specific ask",
    )
    tests_unknown: bool = Field(
        True, description="tests a stranger with its cheapest item instead of its best"
    )
    avoid_below: float = Field(
        0.1, ge=0.0, le=1.0, description="walks away from partners it believes worse than this"
    )
    walks: bool = Field(
        True, description="walks away from renegers, bad reputations, and deals below its BATNA"
    )


@register("strategic")
class Strategic(Strategy):
    """Gives the best-ratio item, one at a time, framed, when the seed's checklist says it pays.

    Checklist (one point each): the relationship is likely to repeat
    (continuation >= repeat_min); its best give is cheap relative to its value
    (ratio >= ratio_min); it can communicate the value (`frames`); a specific
    ask exists (an item worth ratio_min x the partner's cost to it); the
    partner is likely to reciprocate (belief >= trust, or it gave last time).
    It gives when at least `checklist_min` hold, has fewer than `patience`
    unreturned gives in a row, and has waited `pause` deals since an unreturned
    give. Strangers get the cheapest item as a test. After an unreturned give
    the next give is conditional on the ask. It walks away from partners who
    reneged on it or whose reputation is below `avoid_below`, and under
    `initiator` matching it chooses partners in proportion to its belief.
    """

    Params = StrategicParams
    chooses_partners = True  # under `initiator` matching it picks partners in proportion to belief
    classifier = {
        "gives_first": True,
        "frames": True,
        "conditional": True,
        "walks": True,
        "stochastic": False,
    }

    settings = (
        "checklist_min", "patience", "pause", "ratio_min", "repeat_min", "trust", "frames",
        "conditional", "tests_unknown", "avoid_below", "walks", "one_time",
    )  # fmt: skip

    def checklist(self, view: DealView) -> np.ndarray:
        """How many of the five checklist items hold, per deal."""
        out = np.empty(len(view), dtype=np.int64)
        _checklist(
            out, view.cost_me, view.value_partner, view.value_me, view.cost_partner,
            view.belief, view.last_received, view.continuation, self.settings_array(),
        )  # fmt: skip
        return out

    def open(self, view: DealView) -> Opening:
        out = Opening.nothing(len(view))
        _open(
            out.give, out.conditional, out.ask, out.walk, *self._memory(view),
            view.expectation, view.surplus / 2, view.continuation, self.settings_array(),
        )  # fmt: skip
        out.framed[:] = self.params.frames
        out.one_time[:] = self.params.one_time
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        _respond(
            out.give, out.accept, out.walk, *self._memory(view), view.offer_conditional,
            view.offer_ask, view.offer_perceived, view.reads_weakness, view.surplus / 2,
            view.continuation, self.settings_array(),
        )  # fmt: skip
        out.framed[:] = self.params.frames
        out.one_time[:] = self.params.one_time
        return out

    @staticmethod
    def _memory(view: DealView) -> tuple[np.ndarray, ...]:
        """What both its moves read: the items' costs and values, its memory of the partner, its BATNA."""
        return (
            view.cost_me, view.value_partner, view.value_me, view.cost_partner, view.met,
            view.heard, view.belief, view.last_received, view.streak, view.idle, view.reneged,
            view.demand, view.batna_me,
        )  # fmt: skip


# The parameters the rules read, in the order of `Strategic.settings`.
(
    CHECKLIST_MIN, PATIENCE, PAUSE, RATIO_MIN, REPEAT_MIN, TRUST, FRAMES,
    CONDITIONAL, TESTS_UNKNOWN, AVOID_BELOW, WALKS, ONE_TIME,
) = range(12)  # fmt: skip


# One deal at a time, compiled; each rule is the class docstring's.


@inlined
def _points(give_ratio, ask_ratio, belief, last_received, continuation, p):
    """The checklist's count for one deal, given its best give's and its best ask's ratios."""
    ratio_min = p[RATIO_MIN]
    likely = belief >= p[TRUST] or last_received > 0
    return (
        int(continuation >= p[REPEAT_MIN])
        + int(give_ratio >= ratio_min)
        + int(p[FRAMES])
        + int(ask_ratio >= ratio_min)
        + int(likely)
    )


@compiled
def _checklist(out, cost_me, value_partner, value_me, cost_partner, belief, last_received, continuation, p):  # fmt: skip
    for d in range(len(out)):
        give_ratio = best_of(value_partner[d], cost_me[d])[1]
        ask_ratio = best_of(value_me[d], cost_partner[d])[1]
        out[d] = _points(give_ratio, ask_ratio, belief[d], last_received[d], continuation, p)


@inlined
def _own_give(
    cost_me, value_partner, ask_ratio, met, heard, belief, last_received, streak, idle,
    continuation, p,
):  # fmt: skip
    """The single item it would give now by its own checklist (0 = none); `ask_ratio` is its best ask's."""
    rested = streak == 0 or idle >= p[PAUSE]
    if streak >= p[PATIENCE] or not rested:
        return 0
    # Its best give (`best_gives_of(1, ...)`: the best-ratio item), and that ratio.
    k, give_ratio = best_of(value_partner, cost_me)
    if _points(give_ratio, ask_ratio, belief, last_received, continuation, p) < p[CHECKLIST_MIN]:
        return 0
    if not met and not heard and p[TESTS_UNKNOWN]:
        return cheapest_of(cost_me)  # a stranger is tested with a small give
    return 1 << k


@inlined
def _avoids(reneged, belief, p):
    """It walks away from partners who reneged on it or whose reputation is too low."""
    return p[WALKS] and (reneged or belief < p[AVOID_BELOW])


@inlined
def open_one(
    cost_me, value_partner, value_me, cost_partner, met, heard, belief, last_received, streak,
    idle, reneged, batna, expectation, half_surplus, continuation, p,
):  # fmt: skip
    """The opening (give, conditional, ask, walk) of one deal."""
    k, ask_ratio = best_of(value_me, cost_partner)  # its best ask, and that ratio
    give = _own_give(
        cost_me, value_partner, ask_ratio, met, heard, belief, last_received, streak, idle,
        continuation, p,
    )  # fmt: skip
    # After its own give went unreturned, it asks for a specific return.
    ask_now = p[CONDITIONAL] and met and streak > 0 and ask_ratio >= p[RATIO_MIN]
    conditional = ask_now and give != 0
    ask = 1 << k if conditional else 0
    walk = _avoids(reneged, belief, p) or (
        p[WALKS] and below_batna(expectation, 0.0, half_surplus, batna)
    )
    if walk:
        give = 0
        conditional = False
    return give, conditional, ask, walk


@inlined
def respond_one(
    cost_me, value_partner, value_me, cost_partner, met, heard, belief, last_received, streak,
    idle, reneged, demand, batna, conditional, ask, perceived, reads_weakness, half_surplus,
    continuation, p,
):  # fmt: skip
    """The answer (give, accept, walk) in one deal."""
    # A gift is answered in kind, unless read as weakness (then nothing);
    # with no gift in front of it, it gives by its own checklist.
    give = 0
    if not conditional and perceived > 0:
        if not reads_weakness:
            give = gives_matching_of(perceived / (1.0 + demand), cost_me, value_partner)
    elif not conditional:
        give = _own_give(
            cost_me, value_partner, best_of(value_me, cost_partner)[1], met, heard, belief,
            last_received, streak, idle, continuation, p,
        )  # fmt: skip
    fair = perceived >= (1.0 + demand) * total_of(ask, cost_me)
    accept = conditional and fair and not reads_weakness
    expected = 0.0 if conditional and not accept else perceived
    walk = _avoids(reneged, belief, p) or (
        p[WALKS] and below_batna(expected, 0.0, half_surplus, batna)
    )
    return give, accept, walk


@compiled
def _open(
    give, conditional, ask, walk, cost_me, value_partner, value_me, cost_partner, met, heard,
    belief, last_received, streak, idle, reneged, demand, batna, expectation, half_surplus,
    continuation, p,
):  # fmt: skip
    for d in range(len(give)):
        give[d], conditional[d], ask[d], walk[d] = open_one(
            cost_me[d], value_partner[d], value_me[d], cost_partner[d], met[d], heard[d],
            belief[d], last_received[d], streak[d], idle[d], reneged[d], batna[d],
            expectation[d], half_surplus, continuation, p,
        )  # fmt: skip


@compiled
def _respond(
    give, accept, walk, cost_me, value_partner, value_me, cost_partner, met, heard, belief,
    last_received, streak, idle, reneged, demand, batna, conditional, ask, perceived,
    reads_weakness, half_surplus, continuation, p,
):  # fmt: skip
    for d in range(len(give)):
        give[d], accept[d], walk[d] = respond_one(
            cost_me[d], value_partner[d], value_me[d], cost_partner[d], met[d], heard[d],
            belief[d], last_received[d], streak[d], idle[d], reneged[d], demand[d], batna[d],
            conditional[d], ask[d], perceived[d], reads_weakness[d], half_surplus,
            continuation, p,
        )  # fmt: skip
