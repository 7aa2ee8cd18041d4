"""`reciprocal`: gives first, then matches what the partner gave. With one item this is tit-for-tat."""

from __future__ import annotations

from pydantic import Field

from agents.items import best_gives_of, gives_matching_of, total_of
from agents.strategy import DealView, Opening, Response, Strategy, StrategyParams, register
from environments.compiled import compiled


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

    def open(self, view: DealView) -> Opening:
        p = self.params
        out = Opening.nothing(len(view))
        _open(
            out.give, out.walk, view.cost_me, view.value_partner, view.met, view.belief,
            view.last_received, view.demand, view.expectation, view.batna_me, view.uniform(),
            view.surplus / 2, p.generosity, p.discriminating, p.standing, p.walks,
        )  # fmt: skip
        out.framed[:] = p.frames
        return out

    def respond(self, view: DealView) -> Response:
        p = self.params
        out = Response.nothing(len(view))
        _respond(
            out.give, out.accept, out.walk, view.cost_me, view.value_partner, view.met,
            view.belief, view.last_received, view.demand, view.batna_me, view.offer_conditional,
            view.offer_ask, view.offer_perceived, view.reads_weakness, view.uniform(),
            view.surplus / 2, p.generosity, p.discriminating, p.standing, p.walks,
        )  # fmt: skip
        return out


# One deal at a time, compiled; each line is the rule of the class docstring.


@compiled
def _open(
    give, walk, cost_me, value_partner, met, belief, last_received, demand, expectation, batna,
    uniform, half_surplus, generosity, discriminating, standing, walks,
):  # fmt: skip
    for d in range(len(give)):
        first = not met[d] and (not discriminating or belief[d] >= standing)
        forgive = last_received[d] <= 0 and uniform[d] < generosity
        if first or forgive:
            give[d] = best_gives_of(1, cost_me[d], value_partner[d])
        elif met[d]:
            target = last_received[d] / (1.0 + demand[d])
            give[d] = gives_matching_of(target, cost_me[d], value_partner[d])
        # Its own give is an investment it expects back, so it is left out of
        # the comparison: it walks only when the deal itself is worth less
        # than its outside option.
        walk[d] = walks and half_surplus + expectation[d] - 0.0 < batna[d]
        if walk[d]:
            give[d] = 0


@compiled
def _respond(
    give, accept, walk, cost_me, value_partner, met, belief, last_received, demand, batna,
    conditional, ask, perceived, reads_weakness, uniform, half_surplus, generosity,
    discriminating, standing, walks,
):  # fmt: skip
    for d in range(len(give)):
        # A gift is answered in kind (value for perceived value, less by its
        # demand), unless read as weakness.
        unconditional = not conditional[d] and not reads_weakness[d]
        forgive = unconditional and perceived[d] <= 0 and uniform[d] < generosity
        if forgive:
            give[d] = best_gives_of(1, cost_me[d], value_partner[d])
        elif unconditional:
            target = perceived[d] / (1.0 + demand[d])
            give[d] = gives_matching_of(target, cost_me[d], value_partner[d])
        if met[d]:
            good_standing = last_received[d] > 0
        else:
            good_standing = not discriminating or belief[d] >= standing
        fair = perceived[d] >= (1.0 + demand[d]) * total_of(ask[d], cost_me[d])
        accept[d] = conditional[d] and fair and good_standing and not reads_weakness[d]
        expected = 0.0 if conditional[d] and not accept[d] else perceived[d]
        walk[d] = walks and half_surplus + expected - 0.0 < batna[d]
