"""Safety: configurations and specs are data; results folders are never unpickled; the
classroom dashboard listens on this machine only unless told otherwise.
"""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

from experiments.runner import run_sweep
from experiments.spec import dumps_toml, load_spec
from experiments.store import read_table
from tests.helpers.sweeps import tiny_spec
from tests.reliability.faulty import REPO, assert_refused, cli

PACKAGES = ("agents", "environments", "experiments", "analysis", "benchmarks", "examples")
# Calls that run code or objects out of data.
EVALUATING = {"eval", "exec", "compile", "__import__", "execfile"}
UNPICKLING = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
    ("dill", "load"),
    ("dill", "loads"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("joblib", "load"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
}
# The one place a configuration names code: a strategy's `module:Class` (documented as running
# that module). Nothing else imports by a name it was given.
IMPORT_BY_NAME = {"agents/strategy.py"}


def _sources() -> list[Path]:
    return sorted(
        p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if ".venv" not in p.parts
    )


def _calls(path: Path) -> list[tuple[str, str, int]]:
    """(module or '', function, line) of every call in `path`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            out.append(("", func.id, node.lineno))
        elif isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            out.append((owner, func.attr, node.lineno))
            if func.attr in ("read_pickle", "load") and owner in ("pd", "pandas", "np", "numpy"):
                keywords = {k.arg: k.value for k in node.keywords}
                allow = keywords.get("allow_pickle")
                if owner in ("np", "numpy") and not (
                    isinstance(allow, ast.Constant) and allow.value is True
                ):
                    continue
                out.append(("", "pickle-loading " + func.attr, node.lineno))
    return out


def test_no_code_evaluates_or_unpickles_data():
    found = []
    for path in _sources():
        rel = str(path.relative_to(REPO))
        for owner, name, line in _calls(path):
            if (not owner and name in EVALUATING) or (owner, name) in UNPICKLING:
                found.append(f"{rel}:{line}: {owner + '.' if owner else ''}{name}(")
            if name.startswith("pickle-loading"):
                found.append(f"{rel}:{line}: {name}")
            if name == "import_module" and rel not in IMPORT_BY_NAME:
                found.append(f"{rel}:{line}: importlib.import_module( outside {IMPORT_BY_NAME}")
    assert found == []
    # the scan does see what it looks for
    assert any(n == "import_module" for _, n, _ in _calls(REPO / "agents" / "strategy.py"))


def test_configuration_text_is_never_evaluated(tmp_path):
    """Python in a value is a string like any other: refused where a name or number is expected."""
    canary = tmp_path / "evaluated"
    code = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    cases = {
        "seed.toml": {"seed": code},
        "kind.toml": {"network": {"kind": code}},
        "path.toml": {"network": {"kind": "file", "path": code}},
        "mix.toml": {"population": {"mix": {code: 1.0}}},
        "param.toml": {"strategies": {"strategic": {"patience": code}}},
    }
    for name, data in cases.items():
        config = tmp_path / name
        config.write_text(dumps_toml(data))
        assert_refused(cli("run", str(config)))
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({**tiny_spec(), "name": code, "replicates": code}))
    assert_refused(cli("sweep", str(spec), "--out", str(tmp_path / "r")), "replicates")
    assert not canary.exists()


def test_a_pickle_planted_in_a_results_folder_is_never_loaded(tmp_path):
    canary = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (canary,))

    out = tmp_path / "r"
    spec = load_spec(tiny_spec(replicates=1))
    run_sweep(spec, out, workers=0, progress=False)
    blob = pickle.dumps(Payload())
    for where in (
        out / "runs.pkl",
        out / "results.pickle",
        out / "parts" / "runs" / "0000000000000000.ok.pkl",
        out / "parts" / "steps" / "0000000000000000.pickle",
    ):
        where.write_bytes(blob)
    assert read_table(out, "runs").height == spec.n_runs
    assert run_sweep(spec, out, workers=0, progress=False).exit_code == 0
    result = cli("report", str(out), "--no-snapshot", timeout=300)
    assert result.returncode == 0, result.stderr
    assert not canary.exists()


def test_the_dashboard_listens_on_this_machine_only_by_default():
    result = cli("dashboard", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "--host" in text and "default: 127.0.0.1" in text
    import inspect

    from analysis.dashboard import serve

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"


@pytest.mark.parametrize("module", ["environments.config", "experiments.spec"])
def test_configs_and_specs_are_read_as_toml_only(module):
    """Readers use tomllib (data only), never a format that can build objects."""
    source = (REPO / (module.replace(".", "/") + ".py")).read_text()
    assert "tomllib" in source
    for unsafe in ("yaml", "pickle", "eval(", "exec("):
        assert unsafe not in source
