"""Run a helper script in a fresh Python process, for tests whose setting must apply at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HELPERS = Path(__file__).resolve().parent


def printed_in_fresh_process(script: str, env: dict[str, str]) -> Any:
    """The JSON that `tests/helpers/<script>` prints last, run with `env` added to the environment.

    A fresh process, because thread counts (and numpy's choice of code) are
    read when numpy and polars are imported.
    """
    done = subprocess.run(
        [sys.executable, str(HELPERS / script)],
        env={**os.environ, "PYTHONPATH": str(HELPERS.parents[1]), **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])
