"""One model run from a configuration file: what `concession run` does.

Everything that can be refused is refused before the model is built and
before anything is written: the configuration, `--steps` / `--seed`, an
`--out` that cannot be a folder, and a run whose estimated memory exceeds
what this machine has available (`environments.limits`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from environments.config import ConfigError, ModelConfig, load_config
from environments.limits import Preflight

if TYPE_CHECKING:
    from environments.model import ConcessionModel


@dataclass
class SingleRun:
    """A finished run: the model and what was written."""

    model: ConcessionModel
    wall_time: float


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a result depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("concession-lab", "mesa", "numpy", "polars", "networkx", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def run_single(
    config: str | Path | dict[str, Any] | ModelConfig,
    *,
    steps: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
) -> SingleRun:
    """Validate the configuration, run it, and with `out` write its tables atomically.

    The configuration is validated before anything touches the disk; each
    file is written under a temporary name and renamed into place, so `out`
    never holds a half-written table.
    """
    cfg = load_config(config)
    if steps is not None:
        if steps < 0:
            raise ConfigError(f"--steps = {steps}: steps must be >= 0")
        cfg = cfg.model_copy(update={"steps": steps})
    if seed is not None:
        if seed < 0:
            raise ConfigError(f"--seed = {seed}: a seed is an integer >= 0")
        cfg = cfg.model_copy(update={"seed": seed})
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        check_out_dir(out_dir)
    Preflight()(cfg)  # a graph file that does not load, a run too big: refused before Mesa loads
    # Imported once the input is known to be good: Mesa takes a second or two to import.
    from environments.model import ConcessionModel

    start = time.perf_counter()
    model = ConcessionModel(cfg)
    model.run(cfg.steps)
    wall = time.perf_counter() - start
    if out_dir is not None:
        write_run(model, out_dir, wall)
    return SingleRun(model, wall)


def check_out_dir(out_dir: Path) -> None:
    """Refuse, before the run, an `--out` that is not a folder and cannot become one."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ConfigError(f"--out {out_dir}: exists and is not a folder")
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {out_dir}: this folder is not writable")
        return
    parent = out_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--out {out_dir}: {parent} is not a folder, so it cannot hold one")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out_dir}: cannot create it ({parent} is not writable)")


def write_run(model: ConcessionModel, out_dir: Path, wall_time: float) -> None:
    """Write steps/strategies/agents Parquet tables and run.json into `out_dir`, each atomically.

    `run.json` is removed first and written last: a folder without it holds
    an unfinished (or interrupted) run, never a mix of two runs' tables that
    looks complete.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "run.json").unlink(missing_ok=True)
    for stale in out_dir.glob(".*.tmp"):  # left by a write that was cut short
        stale.unlink(missing_ok=True)
    tables = {
        "steps.parquet": model.steps_frame(),
        "strategies.parquet": model.strategy_frame(),
        "agents.parquet": model.agents_table(),
    }
    for name, frame in tables.items():
        tmp = out_dir / f".{name}.tmp"
        frame.write_parquet(tmp)
        os.replace(tmp, out_dir / name)
    info = {
        "config": model.config.to_dict(),
        "seed": model.seed,
        "steps": model.steps,
        "wall_time": wall_time,
        "versions": versions(),
        "outcomes": model.outcomes(),
    }
    tmp = out_dir / ".run.json.tmp"
    tmp.write_text(json.dumps(info, indent=2, default=float))
    os.replace(tmp, out_dir / "run.json")
