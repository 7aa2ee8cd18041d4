"""Elementwise exp and power that give the same bits on every machine.

numpy picks the code of `exp`, `power` and other functions by the processor:
on one with AVX-512 its versions round differently from the others in the
last bit (`np.exp` for about one value in 20). A model that used them would
give results that depend on the machine, and its golden tables would fail on
most laptops. These take the C library's functions instead, one value at a
time (about 70 ns a value: they serve arrays of a few thousand values a step).
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def exp(x: np.ndarray) -> np.ndarray:
    """e ** x, elementwise."""
    return np.fromiter(map(math.exp, x.tolist()), dtype=np.float64, count=len(x))


def power(base: float, x: np.ndarray) -> np.ndarray:
    """base ** x, elementwise."""
    powers = map(math.pow, itertools.repeat(base), x.tolist())
    return np.fromiter(powers, dtype=np.float64, count=len(x))
