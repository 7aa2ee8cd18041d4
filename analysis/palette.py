"""One colour per strategy and per deal outcome, everywhere (figures, report, dashboard).

Colours are Okabe and Ito's colour-blind-safe palette.
"""

from __future__ import annotations

STRATEGY_COLOURS: dict[str, str] = {
    "strategic": "#0072B2",  # blue
    "reciprocal": "#009E73",  # bluish green
    "transactional": "#E69F00",  # orange
    "exploitative": "#D55E00",  # vermillion
    "naive": "#CC79A7",  # reddish purple
    "holdout": "#000000",  # black
}
# Strategies a researcher adds get these, in order of first appearance.
EXTRA_COLOURS = ("#56B4E9", "#F0E442", "#7F7F7F", "#8C510A", "#01665E")

OUTCOME_COLOURS: dict[str, str] = {
    "reciprocated": "#009E73",
    "not returned": "#E69F00",
    "no gives": "#BBBBBB",
    "walked away": "#D55E00",
}
REFERRAL_COLOUR = "#0072B2"


def strategy_colour(name: str, known: list[str] | None = None) -> str:
    """The colour of a strategy; a custom one gets an extra colour by its place in `known`."""
    if name in STRATEGY_COLOURS:
        return STRATEGY_COLOURS[name]
    custom = [s for s in (known or [name]) if s not in STRATEGY_COLOURS]
    index = custom.index(name) if name in custom else len(custom)
    return EXTRA_COLOURS[index % len(EXTRA_COLOURS)]
