"""`naive`: naive generosity. With one item this is always-cooperate."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register


class NaiveParams(StrategyParams):
    """Parameters of `naive`."""

    gives_per_deal: int = Field(
        1, ge=1, le=32, description="items given every deal (best ratio first)"
    )


@register("naive")
class Naive(Strategy):
    """Gives unconditionally every deal, never frames, never walks, accepts every trade and keeps it."""

    Params = NaiveParams
    classifier = {
        "gives_first": True,
        "frames": False,
        "conditional": False,
        "walks": False,
        "stochastic": False,
    }

    settings = ("gives_per_deal",)

    def open(self, view: DealView) -> Opening:
        out = Opening.nothing(len(view))
        out.give = view.best_gives(self.params.gives_per_deal)
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        out.give = view.best_gives(self.params.gives_per_deal)
        out.accept = np.ones(len(view), dtype=bool)
        return out


GIVES_PER_DEAL = 0  # its one parameter's place in `Naive.settings`
