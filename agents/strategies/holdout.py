"""`holdout`: positional bargaining, "hold your ground". With one item this is always-defect."""

from __future__ import annotations

from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register


@register("holdout")
class Holdout(Strategy):
    """Never gives, never walks, keeps what it is given; declines conditional trades (it would have to give)."""

    Params = StrategyParams
    classifier = {
        "gives_first": False,
        "frames": False,
        "conditional": False,
        "walks": False,
        "stochastic": False,
    }

    def open(self, view: DealView) -> Opening:
        return Opening.nothing(len(view))

    def respond(self, view: DealView) -> Response:
        return Response.nothing(len(view))
