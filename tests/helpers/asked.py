"""A built-in strategy's copy that the model asks through views, for tests/agents/test_decide.py.

`AskedReciprocal` behaves exactly as `reciprocal` (same rules, same draws),
but as a subclass it has no place in the round's compiled loop: a population
holding both makes the model interleave the loop's draws with a view's, in
strategy order. Name it in a configuration as
`tests.helpers.asked:AskedReciprocal`.
"""

from __future__ import annotations

from agents.strategies import Reciprocal


class AskedReciprocal(Reciprocal):
    """`reciprocal`, asked through its views."""
