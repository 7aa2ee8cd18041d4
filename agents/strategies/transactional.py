"""`transactional`: trades only, never gives unconditionally."""

from __future__ import annotations

from pydantic import Field

from agents.items import best_gives_of, best_of, total_of
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


class TransactionalParams(StrategyParams):
    """Parameters of `transactional`."""

    offers_trades: bool = Field(True, description="opens with a conditional trade when one pays")
    min_gain: float = Field(
        1.0, ge=0.0, le=100.0, description="accepts a trade when value got >= min_gain x cost given"
    )
    walks: bool = Field(True, description="walks away when the deal pays less than its BATNA")


@register("transactional")
class Transactional(Strategy):
    """Never gives unconditionally; accepts a conditional trade when what it gets now exceeds what it gives.

    It takes gifts without returning them. Its opening, when `offers_trades`,
    is a conditional offer of its best-ratio item for the item it values most
    per unit of the partner's cost, made only if that trade pays it.
    """

    Params = TransactionalParams
    classifier = {
        "gives_first": False,
        "frames": False,
        "conditional": True,
        "walks": True,
        "stochastic": False,
    }

    settings = ("offers_trades", "min_gain", "walks")

    def open(self, view: DealView) -> Opening:
        out = Opening.nothing(len(view))
        _open(
            out.give, out.conditional, out.ask, out.walk, view.cost_me, view.value_partner,
            view.value_me, view.cost_partner, view.expectation, view.batna_me, view.surplus / 2,
            self.settings_array(),
        )  # fmt: skip
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        _respond(
            out.accept, out.walk, view.cost_me, view.demand, view.batna_me,
            view.offer_conditional, view.offer_ask, view.offer_perceived, view.reads_weakness,
            view.surplus / 2, self.settings_array(),
        )  # fmt: skip
        return out


# The parameters the rules read, in the order of `Transactional.settings`.
OFFERS_TRADES, MIN_GAIN, WALKS = range(3)


# One deal at a time, compiled; each rule is the class docstring's. The batch loops below and
# the whole round's loop (agents/decide.py) share these rules.


@inlined
def open_one(cost_me, value_partner, value_me, cost_partner, expectation, batna, half_surplus, p):
    """The opening (give, conditional, ask, walk) of one deal."""
    give, ask, conditional = 0, 0, False
    mine = best_gives_of(1, cost_me, value_partner)
    theirs = 1 << best_of(value_me, cost_partner)[0]
    # The trade pays when what it gets is worth more than what it gives.
    pays = total_of(mine, cost_me) * p[MIN_GAIN] < total_of(theirs, value_me)
    if pays and p[OFFERS_TRADES] != 0.0:
        give, ask, conditional = mine, theirs, True
    walk = p[WALKS] != 0.0 and below_batna(expectation, 0.0, half_surplus, batna)
    if walk:
        give = 0
        conditional = False
    return give, conditional, ask, walk


@inlined
def respond_one(
    cost_me, demand, batna, conditional, ask, perceived, reads_weakness, half_surplus, p
):  # fmt: skip
    """The answer (accept, walk) in one deal: it never gives."""
    gain = perceived >= (1.0 + demand) * p[MIN_GAIN] * total_of(ask, cost_me)
    accept = conditional and gain and not reads_weakness
    walk = False
    if p[WALKS] != 0.0:
        planned = total_of(ask if accept else 0, cost_me)
        expected = 0.0 if conditional and not accept else perceived
        walk = below_batna(expected, planned, half_surplus, batna)
    return accept, walk


@compiled
def _open(
    give, conditional, ask, walk, cost_me, value_partner, value_me, cost_partner, expectation,
    batna, half_surplus, p,
):  # fmt: skip
    for d in range(len(give)):
        give[d], conditional[d], ask[d], walk[d] = open_one(
            cost_me[d], value_partner[d], value_me[d], cost_partner[d], expectation[d], batna[d],
            half_surplus, p,
        )  # fmt: skip


@compiled
def _respond(
    accept, walk, cost_me, demand, batna, conditional, ask, perceived, reads_weakness,
    half_surplus, p,
):  # fmt: skip
    for d in range(len(accept)):
        accept[d], walk[d] = respond_one(
            cost_me[d], demand[d], batna[d], conditional[d], ask[d], perceived[d],
            reads_weakness[d], half_surplus, p,
        )  # fmt: skip
