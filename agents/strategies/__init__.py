"""The built-in strategies, one module each; importing this package registers them."""

from agents.strategies.exploitative import Exploitative
from agents.strategies.holdout import Holdout
from agents.strategies.naive import Naive
from agents.strategies.reciprocal import Reciprocal
from agents.strategies.strategic import Strategic
from agents.strategies.transactional import Transactional

__all__ = ["Exploitative", "Holdout", "Naive", "Reciprocal", "Strategic", "Transactional"]
