"""`transactional`: trades only, never gives unconditionally."""

from __future__ import annotations

from pydantic import Field

from agents.items import best_gives_of, best_of, total_of
from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register
from environments.compiled import compiled


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

    def open(self, view: DealView) -> Opening:
        p = self.params
        out = Opening.nothing(len(view))
        _open(
            out.give, out.conditional, out.ask, out.walk, view.cost_me, view.value_partner,
            view.value_me, view.cost_partner, view.expectation, view.batna_me, view.surplus / 2,
            p.offers_trades, p.min_gain, p.walks,
        )  # fmt: skip
        return out

    def respond(self, view: DealView) -> Response:
        p = self.params
        out = Response.nothing(len(view))
        _respond(
            out.accept, out.walk, view.cost_me, view.demand, view.batna_me,
            view.offer_conditional, view.offer_ask, view.offer_perceived, view.reads_weakness,
            view.surplus / 2, p.min_gain, p.walks,
        )  # fmt: skip
        return out


# One deal at a time, compiled; each rule is the class docstring's.


@compiled
def _open(
    give, conditional, ask, walk, cost_me, value_partner, value_me, cost_partner, expectation,
    batna, half_surplus, offers_trades, min_gain, walks,
):  # fmt: skip
    for d in range(len(give)):
        mine = best_gives_of(1, cost_me[d], value_partner[d])
        theirs = 1 << best_of(value_me[d], cost_partner[d])[0]
        # The trade pays when what it gets is worth more than what it gives.
        pays = total_of(mine, cost_me[d]) * min_gain < total_of(theirs, value_me[d])
        if pays and offers_trades:
            give[d], ask[d], conditional[d] = mine, theirs, True
        walk[d] = walks and half_surplus + expectation[d] - 0.0 < batna[d]
        if walk[d]:
            give[d] = 0
            conditional[d] = False


@compiled
def _respond(
    accept, walk, cost_me, demand, batna, conditional, ask, perceived, reads_weakness,
    half_surplus, min_gain, walks,
):  # fmt: skip
    for d in range(len(accept)):
        gain = perceived[d] >= (1.0 + demand[d]) * min_gain * total_of(ask[d], cost_me[d])
        accept[d] = conditional[d] and gain and not reads_weakness[d]
        if walks:
            planned = total_of(ask[d] if accept[d] else 0, cost_me[d])
            expected = 0.0 if conditional[d] and not accept[d] else perceived[d]
            walk[d] = half_surplus + expected - planned < batna[d]
