"""`strategic`: the Concession Paradox practitioner."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register


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

    def checklist(self, view: DealView) -> np.ndarray:
        """How many of the five checklist items hold, per deal."""
        p = self.params
        ratio = view.value_partner / np.maximum(view.cost_me, 1e-12)
        _, ask_ratio = view.best_ask()
        likely = (view.belief >= p.trust) | (view.last_received > 0)
        return (
            int(view.continuation >= p.repeat_min)
            + (ratio.max(axis=1) >= p.ratio_min).astype(int)
            + int(p.frames)
            + (ask_ratio >= p.ratio_min).astype(int)
            + likely.astype(int)
        )

    def _gives(self, view: DealView) -> np.ndarray:
        """The single item it would give now (0 = none)."""
        p = self.params
        rested = (view.streak == 0) | (view.idle >= p.pause)
        ok = (self.checklist(view) >= p.checklist_min) & (view.streak < p.patience) & rested
        stranger = ~view.met & ~view.heard
        item = np.where(stranger & p.tests_unknown, view.cheapest_give(), view.best_gives(1))
        return np.where(ok, item, 0)

    def _avoid(self, view: DealView) -> np.ndarray:
        if not self.params.walks:
            return np.zeros(len(view), dtype=bool)
        return view.reneged | (view.belief < self.params.avoid_below)

    def open(self, view: DealView) -> Opening:
        p = self.params
        out = Opening.nothing(len(view))
        give = self._gives(view)
        ask, ask_ratio = view.best_ask()
        # After its own give went unreturned, it asks for a specific return.
        ask_now = p.conditional & view.met & (view.streak > 0) & (ask_ratio >= p.ratio_min)
        out.give = give
        out.conditional = ask_now & (give != 0)
        out.ask = np.where(out.conditional, ask, 0)
        out.framed[:] = p.frames
        out.one_time[:] = p.one_time
        if p.walks:
            out.walk = self._avoid(view) | view.expects_below_batna()
            out.give[out.walk] = 0
            out.conditional &= ~out.walk
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        gift = ~view.offer_conditional & (view.offer_perceived > 0)
        match = view.gives_matching(view.offer_perceived / (1.0 + view.demand))
        own = np.where(view.offer_conditional, 0, self._gives(view))
        # A gift is answered in kind, unless read as weakness (then nothing);
        # with no gift in front of it, it gives by its own checklist.
        out.give = np.where(gift, np.where(view.reads_weakness, 0, match), own)
        fair = view.offer_perceived >= (1.0 + view.demand) * view.cost_of(view.offer_ask)
        out.accept = view.offer_conditional & fair & ~view.reads_weakness
        out.framed[:] = self.params.frames
        out.one_time[:] = self.params.one_time
        if self.params.walks:
            expected = np.where(view.offer_conditional & ~out.accept, 0.0, view.offer_perceived)
            out.walk = self._avoid(view) | view.expects_below_batna(0.0, expected)
        return out
