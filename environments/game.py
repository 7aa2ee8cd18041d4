"""The deal protocol and payoffs, vectorized over a batch of deals. No Mesa.

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

from agents.strategy import Opening, Response, mask_total


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
    mask: np.ndarray, fallback: np.ndarray, prob: float, rng: np.random.Generator
) -> np.ndarray:
    """Execution noise: with probability `prob` a give becomes no give, and no give becomes `fallback`."""
    if prob <= 0:
        return mask
    flips = rng.random(len(mask)) < prob
    return np.where(flips, np.where(mask != 0, 0, fallback), mask)


def best_item(cost_giver: np.ndarray, value_receiver: np.ndarray) -> np.ndarray:
    """The single item with the best receiver-value / giver-cost ratio, as a mask."""
    if cost_giver.shape[1] == 1:
        return np.ones(len(cost_giver), dtype=np.int64)
    k = np.argmax(value_receiver / np.maximum(cost_giver, 1e-12), axis=1)
    return np.left_shift(np.int64(1), k).astype(np.int64)


def payoffs(
    give_a: np.ndarray,
    give_b: np.ndarray,
    walked: np.ndarray,
    walked_a: np.ndarray,
    walked_b: np.ndarray,
    reneged: np.ndarray,
    surplus: float,
    batna_a: np.ndarray,
    batna_b: np.ndarray,
    cost_a: np.ndarray,
    cost_b: np.ndarray,
    value_a: np.ndarray,
    value_b: np.ndarray,
) -> Outcome:
    """Account a batch of deals: gives of walked deals are void; payoffs as the module says."""
    give_a = np.where(walked, 0, give_a)
    give_b = np.where(walked, 0, give_b)
    c_a, c_b = mask_total(give_a, cost_a), mask_total(give_b, cost_b)
    v_to_a, v_to_b = mask_total(give_b, value_a), mask_total(give_a, value_b)
    half = surplus / 2
    pay_a = np.where(walked, batna_a, half + v_to_a - c_a)
    pay_b = np.where(walked, batna_b, half + v_to_b - c_b)
    return Outcome(
        walked,
        walked_a,
        walked_b,
        give_a,
        give_b,
        reneged & ~walked,
        c_a,
        c_b,
        v_to_a,
        v_to_b,
        pay_a,
        pay_b,
    )


def transfers_offer_response(
    opening: Opening, response: Response
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masks that move under `offer-response` (before the walk check), and where b reneged."""
    cond = opening.conditional
    took = response.accept | response.renege
    give_a = np.where(cond & ~took, 0, opening.give)
    kept_word = response.accept & ~response.renege
    give_b = np.where(cond, np.where(kept_word, opening.ask, 0), response.give)
    reneged = cond & response.renege & (opening.give != 0)
    return give_a, give_b, reneged


def transfers_simultaneous(open_a: Opening, open_b: Opening) -> tuple[np.ndarray, np.ndarray]:
    """The masks that move under `simultaneous`: a conditional give needs a give from the partner."""
    give_a = np.where(open_a.conditional & (open_b.give == 0), 0, open_a.give)
    give_b = np.where(open_b.conditional & (open_a.give == 0), 0, open_b.give)
    return give_a, give_b
