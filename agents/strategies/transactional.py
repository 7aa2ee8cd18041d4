"""`transactional`: trades only, never gives unconditionally."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register


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
        out = Opening.nothing(len(view))
        give = view.best_gives(1)
        ask, _ = view.best_ask()
        pays = view.cost_of(give) * self.params.min_gain < view.value_to_me(ask)
        trade = pays & self.params.offers_trades
        out.give = np.where(trade, give, 0)
        out.ask = np.where(trade, ask, 0)
        out.conditional = trade
        if self.params.walks:
            out.walk = view.expects_below_batna()
            out.give[out.walk] = 0
            out.conditional &= ~out.walk
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        gain = view.offer_perceived >= (1.0 + view.demand) * self.params.min_gain * view.cost_of(
            view.offer_ask
        )
        out.accept = view.offer_conditional & gain & ~view.reads_weakness
        if self.params.walks:
            planned = view.cost_of(np.where(out.accept, view.offer_ask, 0))
            expected = np.where(view.offer_conditional & ~out.accept, 0.0, view.offer_perceived)
            out.walk = view.expects_below_batna(planned, expected)
        return out
