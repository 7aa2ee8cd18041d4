"""`reciprocal`: gives first, then matches what the partner gave. With one item this is tit-for-tat."""

from __future__ import annotations

from pydantic import Field

from agents.items import best_gives_of, gives_matching_of, total_of
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

    settings = ("generosity", "discriminating", "standing", "walks", "frames")

    def open(self, view: DealView) -> Opening:
        out = Opening.nothing(len(view))
        _open(
            out.give, out.walk, view.cost_me, view.value_partner, view.met, view.belief,
            view.last_received, view.demand, view.expectation, view.batna_me, view.uniform(),
            view.surplus / 2, self.settings_array(),
        )  # fmt: skip
        out.framed[:] = self.params.frames
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        _respond(
            out.give, out.accept, out.walk, view.cost_me, view.value_partner, view.met,
            view.belief, view.last_received, view.demand, view.batna_me, view.offer_conditional,
            view.offer_ask, view.offer_perceived, view.reads_weakness, view.uniform(),
            view.surplus / 2, self.settings_array(),
        )  # fmt: skip
        return out


# The parameters the rules read, in the order of `Reciprocal.settings`.
GENEROSITY, DISCRIMINATING, STANDING, WALKS, FRAMES = range(5)


# One deal at a time, compiled; each line is the rule of the class docstring. The batch loops
# below and the whole round's loop (agents/decide.py) share these rules.


@inlined
def open_one(
    cost_me, value_partner, met, belief, last_received, demand, expectation, batna, uniform,
    half_surplus, p,
):  # fmt: skip
    """The opening (give, walk) of one deal."""
    give = 0
    first = not met and (p[DISCRIMINATING] == 0.0 or belief >= p[STANDING])
    forgive = last_received <= 0 and uniform < p[GENEROSITY]
    if first or forgive:
        give = best_gives_of(1, cost_me, value_partner)
    elif met:
        give = gives_matching_of(last_received / (1.0 + demand), cost_me, value_partner)
    # Its own give is an investment it expects back, so it is left out of
    # the comparison: it walks only when the deal itself is worth less
    # than its outside option.
    walk = p[WALKS] != 0.0 and below_batna(expectation, 0.0, half_surplus, batna)
    if walk:
        give = 0
    return give, walk


@inlined
def respond_one(
    cost_me, value_partner, met, belief, last_received, demand, batna, conditional, ask,
    perceived, reads_weakness, uniform, half_surplus, p,
):  # fmt: skip
    """The answer (give, accept, walk) in one deal."""
    # A gift is answered in kind (value for perceived value, less by its
    # demand), unless read as weakness.
    give = 0
    unconditional = not conditional and not reads_weakness
    forgive = unconditional and perceived <= 0 and uniform < p[GENEROSITY]
    if forgive:
        give = best_gives_of(1, cost_me, value_partner)
    elif unconditional:
        give = gives_matching_of(perceived / (1.0 + demand), cost_me, value_partner)
    # A partner met before must have given last time; a stranger is judged by reputation.
    good_standing = (
        last_received > 0 if met else (p[DISCRIMINATING] == 0.0 or belief >= p[STANDING])
    )
    fair = perceived >= (1.0 + demand) * total_of(ask, cost_me)
    accept = conditional and fair and good_standing and not reads_weakness
    expected = 0.0 if conditional and not accept else perceived
    walk = p[WALKS] != 0.0 and below_batna(expected, 0.0, half_surplus, batna)
    return give, accept, walk


@compiled
def _open(
    give, walk, cost_me, value_partner, met, belief, last_received, demand, expectation, batna,
    uniform, half_surplus, p,
):  # fmt: skip
    for d in range(len(give)):
        give[d], walk[d] = open_one(
            cost_me[d], value_partner[d], met[d], belief[d], last_received[d], demand[d],
            expectation[d], batna[d], uniform[d], half_surplus, p,
        )  # fmt: skip


@compiled
def _respond(
    give, accept, walk, cost_me, value_partner, met, belief, last_received, demand, batna,
    conditional, ask, perceived, reads_weakness, uniform, half_surplus, p,
):  # fmt: skip
    for d in range(len(give)):
        give[d], accept[d], walk[d] = respond_one(
            cost_me[d], value_partner[d], met[d], belief[d], last_received[d], demand[d],
            batna[d], conditional[d], ask[d], perceived[d], reads_weakness[d], uniform[d],
            half_surplus, p,
        )  # fmt: skip
