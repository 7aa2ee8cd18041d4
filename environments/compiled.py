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
loop takes about 20 seconds, once; `python -m environments.warmup` does it).
See `cache_dir` for where the folder is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
    """Where this version of the code keeps its compiled loops (made if missing).

    Under `NUMBA_CACHE_DIR` when set, else `.numba-cache` next to the
    packages, else (an install without write access there) the user's cache
    folder. Folders left by earlier versions of the code are removed.
    """
    name = f"concession-lab-{_code_hash()}"
    bases = [Path(os.environ["NUMBA_CACHE_DIR"])] if os.environ.get("NUMBA_CACHE_DIR") else []
    bases += [_ROOT / ".numba-cache", Path.home() / ".cache" / "concession-lab"]
    for base in bases:
        try:
            (base / name).mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(base / name, os.W_OK):
            for old in base.glob("concession-lab-*"):
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
            return base / name
    return bases[-1] / name  # numba then compiles without caching, and says so


# Read by numba when a cached function is defined: set before any is.
numba.config.CACHE_DIR = str(cache_dir())

compiled = numba.njit(cache=True)
inlined = numba.njit(cache=True, inline="always")
