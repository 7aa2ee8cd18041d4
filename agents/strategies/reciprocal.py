"""`reciprocal`: gives first, then matches what the partner gave. With one item this is tit-for-tat."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register


class ReciprocalParams(StrategyParams):
    """Parameters of `reciprocal`."""

    generosity: float = Field(
        0.0, ge=0.0, le=1.0, description="forgives a partner who gave nothing with this probability"
    )
    discriminating: bool = Field(
        False, description="extends a first give only to partners in good standing"
    )
    standing: float = Field(
        0.5, ge=0.0, le=1.0, description="belief at or above which a partner is in good standing"
    )
    frames: bool = Field(False, description="communicates the value of its gives")
    walks: bool = Field(True, description="walks away when the deal pays less than its BATNA")


@register("reciprocal")
class Reciprocal(Strategy):
    """Gives one item to a new partner, then matches the perceived value the partner gave last.

    The match is discounted by its demand level toward the partner (a raised
    demand means it returns less for the same gift). A partner who gave
    nothing gets nothing, except with probability `generosity`. As a
    responder it answers the gift in front of it, unless it reads the gift as
    weakness; it accepts a conditional trade that gives it at least what it
    costs (scaled by demand) from a partner in good standing.
    """

    Params = ReciprocalParams
    classifier = {
        "gives_first": True,
        "frames": False,
        "conditional": False,
        "walks": True,
        "stochastic": "generosity",
    }

    def _first_give_ok(self, view: DealView) -> np.ndarray:
        if not self.params.discriminating:
            return np.ones(len(view), dtype=bool)
        return view.belief >= self.params.standing

    def _walk(self, view: DealView, expected: np.ndarray | None = None) -> np.ndarray:
        # Its own give is an investment it expects back, so it is left out of
        # the comparison: it walks only when the deal itself is worth less
        # than its outside option.
        if not self.params.walks:
            return np.zeros(len(view), dtype=bool)
        return view.expects_below_batna(0.0, expected)

    def open(self, view: DealView) -> Opening:
        out = Opening.nothing(len(view))
        target = view.last_received / (1.0 + view.demand)
        matched = view.gives_matching(target)
        forgive = (view.last_received <= 0) & view.draw(self.params.generosity)
        first = ~view.met & self._first_give_ok(view)
        one = view.best_gives(1)
        out.give = np.where(first | forgive, one, np.where(view.met, matched, 0))
        out.framed[:] = self.params.frames
        out.walk = self._walk(view)
        out.give[out.walk] = 0
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        target = view.offer_perceived / (1.0 + view.demand)
        unconditional = ~view.offer_conditional & ~view.reads_weakness
        give = np.where(unconditional, view.gives_matching(target), 0)
        forgive = unconditional & (view.offer_perceived <= 0) & view.draw(self.params.generosity)
        out.give = np.where(forgive, view.best_gives(1), give)
        good_standing = np.where(view.met, view.last_received > 0, self._first_give_ok(view))
        fair = view.offer_perceived >= (1.0 + view.demand) * view.cost_of(view.offer_ask)
        out.accept = view.offer_conditional & fair & good_standing & ~view.reads_weakness
        out.walk = self._walk(
            view, np.where(view.offer_conditional & ~out.accept, 0.0, view.offer_perceived)
        )
        return out
