"""Random mutations of a valid configuration are either accepted and run, or refused cleanly.

A mutation changes one thing in a small valid configuration: a value
replaced by another of any type (numbers far out of range, NaN, infinities,
strings, booleans, lists, tables), a key removed, an unknown key added, a
key misspelt. Each mutated file goes through `concession run FILE --steps 3
--out DIR` (in this process, for speed): it must end with exit code 0 and
its tables written, or exit code 2 with one line naming the problem, no
traceback, and nothing written. Anything else is a bug this test found.
"""

from __future__ import annotations

import shutil
import string
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from environments.config import load_config
from experiments.cli import app
from experiments.spec import dumps_toml

VALID: dict[str, Any] = {
    "seed": 3,
    "steps": 3,
    "population": {"n": 20, "mix": {"strategic": 0.4, "reciprocal": 0.3, "exploitative": 0.3}},
    "network": {"kind": "barabasi_albert", "m": 2},
    "items": {"count": 3, "asymmetry": 3.0},
    "deal": {"continuation": 0.9, "batna": {"low": 0.0, "high": 0.5}},
    "reputation": {"gossip_prob": 0.2, "referral_prob": 0.05},
    "evolution": {"rule": "imitation", "update_every": 2},
    "strategies": {"strategic": {"patience": 2}},
}
# Every key of the full configuration (defaults included) is a place a mutation can hit.
FULL = load_config(VALID).to_dict()


def _paths(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in data.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(FULL)

scalars = st.one_of(
    st.integers(min_value=-10, max_value=120),
    st.sampled_from([0, 1, 2, -1, 2**31, 2**63 - 1, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2.0, max_value=2.0),
    st.booleans(),
    st.text(alphabet=string.ascii_letters + string.digits + " ._:-", max_size=12),
    st.sampled_from(
        ["", "file", "ring", "complete", "random", "attribute", "holdout", "none", "edges"]
    ),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["a", "low", "high", "naive", "cost"]), scalars, max_size=2),
)
keys = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=10)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One mutation of the full valid configuration, described, and the mutated data."""
    data = _copy(FULL)
    path = draw(st.sampled_from(PATHS))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    kind = draw(st.sampled_from(["set", "set", "set", "remove", "add", "misspell"]))
    if kind == "set":
        value = draw(values)
        parent[last] = value
        return f"{'.'.join(path)} = {value!r}", data
    if kind == "remove":
        del parent[last]
        return f"remove {'.'.join(path)}", data
    if kind == "add":
        new = draw(keys)
        target = parent[last] if isinstance(parent[last], dict) else parent
        value = draw(values)
        target[new] = value
        return f"add {new} = {value!r} next to {'.'.join(path)}", data
    typo = draw(keys)
    parent[typo] = parent.pop(last)
    return f"rename {'.'.join(path)} to {typo}", data


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


runner = CliRunner()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations())
def test_a_mutated_configuration_runs_or_is_refused_cleanly(mutation):
    what, data = mutation
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        config = folder / "config.toml"
        config.write_text(dumps_toml(data))
        out = folder / "out"
        result = runner.invoke(app, ["run", str(config), "--steps", "3", "--out", str(out)])
        shown = f"{what}\n{result.output}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{what}: crashed") from result.exception
        assert result.exit_code in (0, 2), shown
        assert "Traceback" not in result.output, shown
        if result.exit_code == 2:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), shown
            assert not out.exists(), shown
        else:
            written = {p.name for p in out.iterdir()}
            assert written == {
                "steps.parquet",
                "strategies.parquet",
                "agents.parquet",
                "run.json",
            }, shown
    finally:
        shutil.rmtree(folder, ignore_errors=True)
