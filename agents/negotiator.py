"""Negotiator: a Mesa agent that is a view over the model's arrays.

The model keeps all state in arrays (see `environments.model`); a
`Negotiator` reads its row. This keeps a step free of per-agent Python calls
while Mesa's AgentSet, select, groupby, DataCollector reporters and the
dashboard work on real agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from environments.model import ConcessionModel


class Negotiator(mesa.Agent):
    """One negotiator; `index` is its row in the model's arrays (`unique_id - 1`)."""

    model: ConcessionModel

    def __init__(self, model: ConcessionModel) -> None:
        super().__init__(model)
        self.index = self.unique_id - 1

    @classmethod
    def create_agents(cls, model: ConcessionModel, n: int) -> None:
        """Create the model's n negotiators, in index order."""
        for _ in range(n):
            cls(model)

    @property
    def strategy(self) -> str:
        """The name of the strategy it plays now."""
        return self.model.strategy_names[self.model.strategy[self.index]]

    @property
    def wealth(self) -> float:
        """Cumulative payoff."""
        return float(self.model.wealth[self.index])

    @property
    def batna(self) -> float:
        """Its outside option per deal."""
        return float(self.model.batna[self.index])

    @property
    def deals(self) -> int:
        """Deals it took part in."""
        return int(self.model.deals[self.index])

    @property
    def gives(self) -> int:
        """Items it gave."""
        return int(self.model.gives[self.index])

    @property
    def degree(self) -> int:
        """Its degree in the referral graph at the start."""
        return int(self.model.degree[self.index])

    @property
    def contacts(self) -> np.ndarray:
        """Indices of its current contacts (graph neighbours and referred partners)."""
        rel = self.model.relationships
        pairs = rel.active_pairs()
        u, v = rel.u[pairs], rel.v[pairs]
        return np.sort(np.concatenate([v[u == self.index], u[v == self.index]]))

    def step(self) -> None:
        """Nothing: the model steps all negotiators at once, in arrays."""
