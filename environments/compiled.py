"""How the step's loops are compiled: numba, cached on disk, the cache named by the code.

`@compiled` compiles a function with numba on first use and caches the
machine code on disk, so later processes load it in a fraction of a second.
`@inlined` is for small per-deal helpers: numba compiles them into each
caller, where they cost nothing (a call of its own copies array headers and
counts references, several times the helper's work).

numba checks a cached function against its own source file only, so a loop
calling a helper from another file (the strategies call agents/items.py)
would keep running the old helper after that file changed. The cache
therefore lives in a folder named by a hash of every source file of
`agents/` and `environments/`: any edit starts a fresh cache (compiling every
loop takes about 8 seconds, once; `python -m environments.warmup` does it).
The folder is under `NUMBA_CACHE_DIR` when that is set, else `.numba-cache`
next to these packages.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

_ROOT = Path(__file__).resolve().parents[1]


def _code_hash() -> str:
    """A short hash of the project's model sources (both packages, every .py file)."""
    digest = hashlib.sha256()
    for package in ("agents", "environments"):
        for path in sorted((_ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Where this version of the code keeps its compiled loops."""
    base = os.environ.get("NUMBA_CACHE_DIR") or _ROOT / ".numba-cache"
    return Path(base) / f"concession-lab-{_code_hash()}"


# Read by numba when a cached function is defined: set before any is.
numba.config.CACHE_DIR = str(cache_dir())

compiled = numba.njit(cache=True)
inlined = numba.njit(cache=True, inline="always")
