"""The deal protocol and payoffs, one deal at a time in compiled loops. No Mesa.

A deal has two sides, the initiator `a` and the responder `b`. Items moving
from a side to the other are bitmasks (see `agents.strategy`). Payoffs of a
closed deal are `S/2 + true value received - cost given` for each side; a
deal that either side walks away from pays each side its own BATNA.

`offer-response`: a opens (its give is executed with noise before b sees
it), b responds, b's give is executed with noise. A conditional offer moves
a's give only if b accepts (or accepts and reneges) and moves the asked
items only if b accepts and keeps its word.

`simultaneous`: both sides open at once; a conditional offer executes only
if the partner gives something in the same step (a contract signed by both
or by neither). This is the repeated donation game.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.items import best_gives_of, total_of
from environments.compiled import compiled, inlined


@dataclass
class Outcome:
    """What happened in each deal of a batch."""

    walked: np.ndarray  # bool: the deal did not close
    walked_a: np.ndarray  # bool: the initiator walked away
    walked_b: np.ndarray  # bool: the responder walked away
    give_a: np.ndarray  # mask a actually gave b
    give_b: np.ndarray  # mask b actually gave a
    reneged: np.ndarray  # bool: b accepted a conditional trade, took a's give, and kept its own
    cost_a: np.ndarray
    cost_b: np.ndarray
    value_to_a: np.ndarray  # true value a received
    value_to_b: np.ndarray
    payoff_a: np.ndarray
    payoff_b: np.ndarray


def flip(
    mask: np.ndarray,
    giver: np.ndarray,
    receiver: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    prob: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Execution noise on gives from `giver` to `receiver` (per deal; `cost`, `value` per negotiator).

    With probability `prob` a give becomes no give, and no give becomes the
    giver's best item for the receiver (`best_give`).
    """
    if prob <= 0:
        return mask
    return _flips(mask, giver, receiver, cost, value, rng.random(len(mask)), prob)


@inlined
def best_give(cost, value, giver, receiver):
    """The single item with the best receiver-value / giver-cost ratio, as a mask."""
    return best_gives_of(1, cost[giver], value[receiver])


@inlined
def _flipped(mask, fallback, uniform, prob):
    """One give after execution noise (`uniform` is the deal's draw)."""
    if uniform < prob:
        return 0 if mask != 0 else fallback
    return mask


@compiled
def _flips(mask, giver, receiver, cost, value, uniform, prob):
    out = np.empty(len(mask), dtype=np.int64)
    for i in range(len(mask)):
        fallback = best_give(cost, value, giver[i], receiver[i])
        out[i] = _flipped(mask[i], fallback, uniform[i], prob)
    return out


# ------------------------------------------------------------------ after the decisions, compiled
#
# Everything a round of deals does between the strategies' decisions and the
# memory update, one deal at a time in one pass. Random draws are made by the
# model beforehand, in the order they always had (`NO_DRAWS` where a draw is
# not made), so a seed gives the same results as the array form this replaced.

NO_DRAWS = np.empty(0)
NO_FLAGS = np.empty(0, dtype=np.bool_)  # flags a protocol does not use


@inlined
def _perceived(give, framed, values, recognition, misread, imagined):
    """What the receiver (item values `values`) perceives of `give`; a misread sees `imagined` instead of nothing."""
    if misread:
        if give != 0:
            return 0.0
        true = total_of(imagined, values)
    else:
        true = total_of(give, values)
    return true if framed else recognition * true


@inlined
def _drawn(draws, i):
    """Deal i's draw, or 1.0 where none was made (`NO_DRAWS`): a draw of 1.0 never passes `< p`."""
    return draws[i] if len(draws) else 1.0


@inlined
def _seen(give, framed, cost, value, giver, receiver, recognition, misread_draw, misread_prob):
    """What `receiver` perceives of `giver`'s give, misread with probability `misread_prob`."""
    misread = misread_draw < misread_prob
    best = 0 if not misread else best_give(cost, value, giver, receiver)
    return _perceived(give, framed, value[receiver], recognition, misread, best)


@inlined
def _reads_weakness(give, always, batna, weakness, half_surplus, uniform):
    """Whether the receiver of `give` reads it as weakness: always (exploitative), or with P = weakness x BATNA / (S/2).

    `weakness` is `weakness_sensitivity`; `uniform` is the deal's draw, or
    1.0 where none is made (`_drawn`: then only `always` counts).
    """
    p = min(max(weakness * (batna / max(half_surplus, 1e-12)), 0.0), 1.0)
    return give != 0 and (always or uniform < p)


@compiled
def offer_received(
    a, b, give, framed, cost, value, batna, always_weak,
    misread_uniform, misread_prob, recognition, weak_uniform, weakness, half_surplus,
):  # fmt: skip
    """`offer-response`, before the answer: what the responder perceives of each opening give, and whether it reads it as weakness.

    a, b: the initiators and responders; give, framed: the openings; cost,
    value, batna: per negotiator; always_weak: per responder, reads every gift
    as weakness. The draws: misreads (perception noise) and weakness, each
    `NO_DRAWS` when not made.
    """
    d = len(a)
    perceived = np.empty(d)
    weak = np.empty(d, dtype=np.bool_)
    for i in range(d):
        perceived[i] = _seen(
            give[i], framed[i], cost, value, a[i], b[i], recognition,
            _drawn(misread_uniform, i), misread_prob,
        )  # fmt: skip
        weak[i] = _reads_weakness(
            give[i], always_weak[i], batna[b[i]], weakness, half_surplus, _drawn(weak_uniform, i)
        )
    return perceived, weak


@compiled
def settle(
    simultaneous, a, b, cost, value, batna, half_surplus,
    give_a, conditional_a, framed_a, walk_a,
    give_b, conditional_b, ask_a, framed_b, walk_b, accept_b, renege_b, offer_perceived,
    flip_uniform, noise, misread_b_uniform, misread_a_uniform, misread_prob, recognition,
    always_weak_a, always_weak_b, weak_b_offer, weak_a_uniform, weak_b_uniform, weakness,
):  # fmt: skip
    """What moves, what each side earns and perceives, per deal of a round; see the module docstring.

    Side a's opening (give_a after its execution noise, conditional_a,
    framed_a, walk_a, ask_a) and side b's answer: under `simultaneous` b's
    opening (give_b after noise, conditional_b, framed_b, walk_b);
    under `offer-response` b's response (give_b, accept_b, renege_b,
    framed_b, walk_b), the value b perceived of the offer and whether it
    read it as weakness (weak_b_offer); b's give then meets execution noise
    here (flip_uniform). Draws, in the order the model makes them: b's
    execution noise, b's then a's misreads, a's then (simultaneous) b's
    weakness; `NO_DRAWS` when not made.

    Returns (outcome arrays in `Outcome` order, seen_by_a, seen_by_b,
    weak_a, weak_b, code): what each side perceived receiving (0 where
    walked), whether each read the gift it received as weakness, and the
    deal's outcome code (0 both gave, 1 one gave, 2 no gives, 3 walked).
    """
    d = len(a)
    walked = np.empty(d, dtype=np.bool_)
    reneged = np.zeros(d, dtype=np.bool_)
    moved_a = np.empty(d, dtype=np.int64)
    moved_b = np.empty(d, dtype=np.int64)
    cost_a, cost_b = np.empty(d), np.empty(d)
    value_to_a, value_to_b = np.empty(d), np.empty(d)
    payoff_a, payoff_b = np.empty(d), np.empty(d)
    seen_by_a, seen_by_b = np.zeros(d), np.zeros(d)
    weak_a = np.zeros(d, dtype=np.bool_)
    weak_b = weak_b_offer.copy() if not simultaneous else np.zeros(d, dtype=np.bool_)
    code = np.empty(d, dtype=np.int64)
    for i in range(d):
        ai, bi = a[i], b[i]
        # What moves.
        if simultaneous:
            # A conditional give needs a give from the partner in the same step.
            gives_a = 0 if conditional_a[i] and give_b[i] == 0 else give_a[i]
            gives_b = 0 if conditional_b[i] and give_a[i] == 0 else give_b[i]
        else:
            # A conditional offer moves a's give only if b took it, and the
            # asked items only if b accepted and kept its word.
            took = accept_b[i] or renege_b[i]
            gives_a = 0 if conditional_a[i] and not took else give_a[i]
            kept_word = accept_b[i] and not renege_b[i]
            gives_b = (ask_a[i] if kept_word else 0) if conditional_a[i] else give_b[i]
            if len(flip_uniform):
                fallback = ask_a[i] if conditional_a[i] else best_give(cost, value, bi, ai)
                gives_b = _flipped(gives_b, fallback, flip_uniform[i], noise)
            # A reneger is one whose partner's give moved and its own did not (after noise).
            reneged[i] = conditional_a[i] and renege_b[i] and give_a[i] != 0 and gives_b == 0
        # What each earns: gives of a walked deal are void; each side then has its BATNA.
        walked[i] = walk_a[i] or walk_b[i]
        if walked[i]:
            gives_a, gives_b = 0, 0
            reneged[i] = False
        moved_a[i], moved_b[i] = gives_a, gives_b
        cost_a[i], cost_b[i] = total_of(gives_a, cost[ai]), total_of(gives_b, cost[bi])
        value_to_a[i], value_to_b[i] = total_of(gives_b, value[ai]), total_of(gives_a, value[bi])
        if walked[i]:
            payoff_a[i], payoff_b[i] = batna[ai], batna[bi]
        else:
            payoff_a[i] = half_surplus + value_to_a[i] - cost_a[i]
            payoff_b[i] = half_surplus + value_to_b[i] - cost_b[i]
        # What each perceives receiving (the responder keeps what it perceived when answering).
        seen = _seen(
            gives_a, framed_a[i], cost, value, ai, bi, recognition,
            _drawn(misread_b_uniform, i), misread_prob,
        )  # fmt: skip
        if not simultaneous and gives_a == give_a[i]:
            seen = offer_perceived[i]
        seen_by_b[i] = 0.0 if walked[i] else seen
        seen = _seen(
            gives_b, framed_b[i], cost, value, bi, ai, recognition,
            _drawn(misread_a_uniform, i), misread_prob,
        )  # fmt: skip
        seen_by_a[i] = 0.0 if walked[i] else seen
        # A gift received can be read as weakness (b's, when answering, was read before).
        weak_a[i] = _reads_weakness(
            gives_b, always_weak_a[i], batna[ai], weakness, half_surplus,
            _drawn(weak_a_uniform, i),
        )  # fmt: skip
        if simultaneous:
            weak_b[i] = _reads_weakness(
                gives_a, always_weak_b[i], batna[bi], weakness, half_surplus,
                _drawn(weak_b_uniform, i),
            )  # fmt: skip
        gave = (gives_a != 0) + (gives_b != 0)
        code[i] = 3 if walked[i] else (0 if gave == 2 else (1 if gave == 1 else 2))
    outcome = (
        walked, walk_a, walk_b, moved_a, moved_b, reneged, cost_a, cost_b,
        value_to_a, value_to_b, payoff_a, payoff_b,
    )  # fmt: skip
    return outcome, seen_by_a, seen_by_b, weak_a, weak_b, code
