"""Negotiators are real Mesa agents whose attributes read the model's arrays."""

from __future__ import annotations

import mesa
import numpy as np

from agents.negotiator import Negotiator
from environments.model import ConcessionModel


def test_negotiators_are_mesa_agents_viewing_the_arrays():
    model = ConcessionModel(population={"n": 40}, rng=2).run(5)
    agents = model.agents
    assert len(agents) == 40 and all(isinstance(a, Negotiator) for a in agents)
    for agent in agents:
        i = agent.index
        assert agent.wealth == model.wealth[i]
        assert agent.strategy == model.strategy_names[model.strategy[i]]
        assert agent.deals == model.deals[i]
        assert set(agent.contacts) == set(
            np.concatenate(
                [
                    model.graph.edges[model.graph.edges[:, 0] == i, 1],
                    model.graph.edges[model.graph.edges[:, 1] == i, 0],
                ]
            )
        )
    # Mesa's AgentSet tools work on them.
    rich = agents.select(lambda a: a.wealth > np.median(model.wealth))
    assert 0 < len(rich) < 40
    by_strategy = agents.groupby("strategy")
    assert sum(len(g) for _, g in by_strategy) == 40
    collector = mesa.DataCollector(agent_reporters={"wealth": "wealth", "strategy": "strategy"})
    collector.collect(model)
    frame = collector.get_agent_vars_dataframe()
    assert len(frame) == 40 and np.isclose(frame["wealth"].sum(), model.wealth.sum())


def test_release_drops_mesas_class_level_reference():
    model = ConcessionModel(population={"n": 10}, rng=1)
    assert model in mesa.Agent._ids
    model.release()
    assert model not in mesa.Agent._ids
