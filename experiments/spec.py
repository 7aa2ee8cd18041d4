"""Experiment specs: a base configuration, a sweep, replicates and paired counterfactuals.

An experiment is a TOML file (see docs/experiments.md)::

    name = "my-sweep"
    replicates = 4
    steps = 200
    seed = 1
    [base]                      # the sections `concession run` takes
    deal = { continuation = 0.9 }
    [sweep]
    design = "grid"             # "grid" | "random" | "latin_hypercube"
    samples = 20                # random and latin_hypercube only
    [sweep.parameters]
    "deal.continuation" = [0.0, 0.5, 0.9]
    [[pairs]]
    name = "holdout"
    replace = { strategic = "holdout" }

`load_spec` reads and validates one (or a built-in scenario by name) into a
`Spec`, whose `runs()` lists every planned run with its full configuration,
seed and stable id. Everything is checked here, before anything is written:
a bad spec is a `ConfigError` naming the key and what is allowed.

Seeds: run (point p, replicate r) gets the seed drawn from
`SeedSequence(seed, spawn_key=(p, r))`, which is the sequence
`SeedSequence(seed).spawn(...)[p].spawn(...)[r]` would give; a paired run
shares its base run's seed. Random designs draw their points from
`SeedSequence(seed, spawn_key=(DESIGN_KEY,))`. Nothing depends on the worker
count or the execution order.

Shares: a sweep (or a pair's `set`) that fixes some shares of
`population.mix` keeps those values and scales the other shares of the base
mix proportionally so that all sum to 1 (if the others are all 0 they split
the rest equally). See `renormalize_mix`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from environments.config import ConfigError, ModelConfig, OutputConfig, load_config, read_toml
from environments.limits import Preflight

DESIGNS = ("grid", "random", "latin_hypercube")
BASE_SIZE = "base"  # the `--size` that runs a spec as written, without its `[sizes]` tables
TOP_KEYS = ("name", "description", "replicates", "steps", "seed", "base", "sweep", "pairs", "sizes")
SWEEP_KEYS = ("design", "samples", "parameters")
PAIR_KEYS = ("name", "replace", "set")
RANGE_KEYS = ("low", "high", "num", "log")
BASE_PAIR = "base"  # the `pair` of a run that is not a counterfactual
DESIGN_KEY = 0x5EED_DE5  # spawn key of the random designs' stream; run keys are (point, replicate)
SCENARIO_DIR = Path(__file__).parent / "scenarios"
OUTPUT_DEFAULT = OutputConfig().model_dump(mode="json")


# --------------------------------------------------------------------------- planned runs


@dataclass(frozen=True)
class Run:
    """One planned run: where it sits in the sweep, its seed, and its full configuration.

    `config` is the resolved model configuration (every default filled in,
    `seed` and `steps` set), so `load_config(run.config)` rebuilds the model
    exactly. `run_id` is a hash of (config, replicate, pair, seed).
    """

    run_id: str
    index: int  # position in the sweep's canonical order
    point: int
    replicate: int
    pair: str
    seed: int
    params: dict[str, Any]
    config: dict[str, Any]

    @property
    def cost(self) -> float:
        """An estimate of the run's compute, in negotiator-steps.

        A step costs about as much as 300 more negotiators (its fixed work), and
        building the model and its tables as 20,000 negotiator-steps (measured).
        """
        return float((self.config["population"]["n"] + 300) * self.config["steps"] + 20_000)


@dataclass(frozen=True)
class Pair:
    """A paired counterfactual: the same runs (same seeds, same networks) with a change applied.

    `replace` maps a strategy to the one its negotiators play instead, after
    placement (so the network and placement stay identical); `set` gives other
    dotted parameters new values.
    """

    name: str
    replace: dict[str, str] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)


@dataclass
class Spec:
    """A validated experiment: base configuration, points of the sweep, replicates and pairs."""

    name: str
    description: str
    size: str | None
    replicates: int
    steps: int
    seed: int
    design: str
    samples: int | None
    parameters: dict[str, Any]  # dotted name -> list of values, or a range dict
    pairs: list[Pair]
    base: dict[str, Any]  # resolved base configuration (defaults filled in, no seed)
    points: list[dict[str, Any]]  # dotted name -> value, one dict per point
    source: str = ""
    memory: int = 0  # estimated peak bytes of its largest run (environments.limits)
    _runs: list[Run] | None = field(default=None, repr=False)

    @property
    def pair_names(self) -> list[str]:
        """The `pair` values of a point's runs, base first."""
        return [BASE_PAIR] + [p.name for p in self.pairs]

    @property
    def n_runs(self) -> int:
        """How many runs the sweep plans: points x replicates x (1 + pairs)."""
        return len(self.points) * self.replicates * (1 + len(self.pairs))

    def runs(self) -> list[Run]:
        """Every planned run in the canonical order: by point, then replicate, then pair (base first)."""
        if self._runs is None:
            self._runs = list(self._plan())
        return self._runs

    def _plan(self) -> Iterator[Run]:
        index = 0
        for p, values in enumerate(self.points):
            configs = [point_config(self.base, values, None, self.steps)]
            configs += [point_config(self.base, values, pair, self.steps) for pair in self.pairs]
            for r in range(self.replicates):
                seed = run_seed(self.seed, p, r)
                for pair_name, cfg in zip(self.pair_names, configs, strict=True):
                    cfg = {**cfg, "seed": seed}
                    yield Run(
                        run_id=run_id(cfg, r, pair_name, seed),
                        index=index,
                        point=p,
                        replicate=r,
                        pair=pair_name,
                        seed=seed,
                        params=dict(values),
                        config=cfg,
                    )
                    index += 1

    def canonical(self) -> dict[str, Any]:
        """The spec as plain data, everything that decides the results and nothing else."""
        return {
            "replicates": self.replicates,
            "steps": self.steps,
            "seed": self.seed,
            "base": identity_config(self.base),
            "sweep": {
                "design": self.design,
                "samples": self.samples,
                "parameters": self.parameters,
            },
            "pairs": [{"name": p.name, "replace": p.replace, "set": p.set} for p in self.pairs],
        }

    def identity(self) -> str:
        """A hash of the canonical spec: two files that plan the same runs have the same identity."""
        return _hash(self.canonical())

    def to_toml(self) -> str:
        """The spec as run (size applied, base with every default filled in), as TOML."""
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data.update(replicates=self.replicates, steps=self.steps, seed=self.seed)
        data["base"] = self.base
        sweep: dict[str, Any] = {"design": self.design}
        if self.samples is not None:
            sweep["samples"] = self.samples
        sweep["parameters"] = self.parameters
        data["sweep"] = sweep
        if self.pairs:
            data["pairs"] = [
                {
                    "name": p.name,
                    **({"replace": p.replace} if p.replace else {}),
                    **({"set": p.set} if p.set else {}),
                }
                for p in self.pairs
            ]
        header = f"# {self.name}: as run"
        if self.size:
            header += f" (size {self.size!r})"
        if self.source:
            header += f", from {self.source}"
        return header + "\n" + dumps_toml(data)


# --------------------------------------------------------------------------- ids and seeds


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:16]


def identity_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved configuration as it counts for identities: sections added later left out at default.

    A section a newer version adds (here `output`) must not change the id of
    every run, or no sweep started before it could be resumed; it counts
    once it is set to something else than its default.
    """
    out = dict(config)
    if out.get("output") == OUTPUT_DEFAULT:
        del out["output"]
    return out


def run_id(config: Mapping[str, Any], replicate: int, pair: str, seed: int) -> str:
    """The stable id of a run: sha256 (16 hex digits) of its canonical config, replicate, pair and seed."""
    return _hash(
        {"config": identity_config(config), "replicate": replicate, "pair": pair, "seed": seed}
    )


def run_seed(root: int, point: int, replicate: int) -> int:
    """The seed of run (point, replicate): 63 bits from `SeedSequence(root, spawn_key=(point, replicate))`."""
    state = np.random.SeedSequence(root, spawn_key=(point, replicate)).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))  # 63 bits: fits a signed Int64 column


# --------------------------------------------------------------------------- mix renormalisation


def renormalize_mix(mix: Mapping[str, float], fixed: Mapping[str, float]) -> dict[str, float]:
    """The mix with the `fixed` shares set and the others scaled proportionally to fill the rest.

    Each fixed share must be in [0, 1] and together at most 1. The other
    shares of `mix` are multiplied by (1 - sum(fixed)) / sum(others); if they
    are all 0 they split the rest equally. A fixed strategy not in `mix` is
    added. Order: the base mix's strategies, then new ones.
    """
    for name, share in fixed.items():
        if not _is_number(share) or not 0.0 <= share <= 1.0:
            raise ConfigError(f"population.mix.{name} = {share!r}: a share is a number in [0, 1]")
    taken = sum(fixed.values())
    if taken > 1.0 + 1e-9:
        shown = ", ".join(f"{k} = {v:g}" for k, v in fixed.items())
        raise ConfigError(
            f"swept shares sum to {taken:.6g} > 1 ({shown}); they may sum to at most 1"
        )
    rest = max(0.0, 1.0 - taken)
    others = [k for k in mix if k not in fixed]
    total = sum(mix[k] for k in others)
    out: dict[str, float] = {}
    for k in mix:
        if k in fixed:
            out[k] = float(fixed[k])
        elif total > 0:
            out[k] = float(mix[k]) * rest / total
        else:
            out[k] = rest / len(others)
    for k, v in fixed.items():
        out.setdefault(k, float(v))
    if not others and rest > 1e-9:
        raise ConfigError(
            f"swept shares sum to {taken:.6g} and the mix has no other strategy to take the rest; "
            "add one to [base] population.mix"
        )
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and not math.isnan(x)


# --------------------------------------------------------------------------- parameter paths


def split_path(path: str) -> list[str]:
    """A dotted parameter name as keys; a strategy name may itself hold dots (`pkg.mod:Class`)."""
    if path.startswith(("population.mix.", "population.replace.")):
        section, key, name = path.split(".", 2)
        return [section, key, name]
    if path.startswith("strategies."):
        rest = path.removeprefix("strategies.")
        name, _, param = rest.rpartition(".")
        return ["strategies", name, param] if name else ["strategies", rest]
    return path.split(".")


def _leaf_paths(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in data.items():
        if isinstance(v, dict) and v:
            out += _leaf_paths(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}")
    return out


def check_path(path: str, base: Mapping[str, Any], where: str) -> None:
    """Refuse a dotted parameter name that does not name a value of the configuration."""
    if not isinstance(path, str) or not path:
        raise ConfigError(
            f"{where}: a parameter name is a dotted config key such as 'deal.continuation'"
        )
    if path in ("seed", "steps"):
        raise ConfigError(
            f"{where}: {path!r} cannot be swept; each run's seed comes from the spec's top-level seed "
            "and every run plays the spec's top-level steps"
        )
    parts = split_path(path)
    if parts[0] in ("population",) and len(parts) == 3 and parts[1] in ("mix", "replace"):
        return  # any strategy name; checked when the configurations are validated
    if parts[0] == "strategies" and len(parts) == 3:
        return  # a strategy's parameter; checked by the strategy's own parameter model
    node: Any = base
    for i, key in enumerate(parts):
        if not isinstance(node, dict) or key not in node:
            close = difflib.get_close_matches(path, _leaf_paths(base), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{where}: unknown parameter {path!r}{hint}; a parameter is a dotted key of the model "
                "configuration such as deal.continuation, items.asymmetry, population.mix.<strategy>, "
                "strategies.<strategy>.<parameter>"
            )
        node = node[key]
        if i == len(parts) - 1 and isinstance(node, dict):
            keys = ", ".join(node) or "none"
            raise ConfigError(
                f"{where}: {path!r} is a section, not a value; sweep one of its keys: {keys}"
            )


def apply_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `base` with dotted `values` set; shares of `population.mix` are renormalized."""
    data = copy.deepcopy(dict(base))
    fixed: dict[str, float] = {}
    for path, value in values.items():
        parts = split_path(path)
        if parts[:2] == ["population", "mix"]:
            fixed[parts[2]] = value
            continue
        node = data
        for key in parts[:-1]:
            node = node.setdefault(key, {})
        node[parts[-1]] = value
    if fixed:
        data["population"]["mix"] = renormalize_mix(data["population"]["mix"], fixed)
    return data


def point_config(
    base: Mapping[str, Any], values: Mapping[str, Any], pair: Pair | None, steps: int
) -> dict[str, Any]:
    """The resolved configuration of a point (and pair): base + swept values + the pair's change."""
    return point_model(base, values, pair, steps).to_dict()


def point_model(
    base: Mapping[str, Any], values: Mapping[str, Any], pair: Pair | None, steps: int
) -> ModelConfig:
    """`point_config` as a validated `ModelConfig`."""
    data = apply_values(base, values)
    if pair is not None:
        data = apply_values(data, pair.set)
        data["population"]["replace"] = {**data["population"].get("replace", {}), **pair.replace}
    data["steps"] = steps
    data["seed"] = None
    return load_config(data)


# --------------------------------------------------------------------------- designs


def _range(raw: Mapping[str, Any], where: str, design: str) -> dict[str, Any]:
    for key in raw:
        if key not in RANGE_KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r} in a range; allowed: {', '.join(RANGE_KEYS)}"
            )
    if "low" not in raw or "high" not in raw:
        raise ConfigError(f"{where}: a range needs low and high, e.g. {{ low = 0.0, high = 1.0 }}")
    low, high = raw["low"], raw["high"]
    if not (_is_number(low) and _is_number(high)):
        raise ConfigError(f"{where}: low = {low!r}, high = {high!r}: low and high are numbers")
    if high < low:
        raise ConfigError(f"{where}: high ({high!r}) is below low ({low!r})")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log = {log!r}: log is true or false")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0 (low = {low!r})")
    num = raw.get("num")
    if design == "grid":
        if not (isinstance(num, int) and not isinstance(num, bool) and num >= 1):
            raise ConfigError(
                f"{where}: a grid takes a list of values, or a range with num = <number of values> "
                f"(got num = {num!r})"
            )
    elif num is not None:
        raise ConfigError(
            f"{where}: num is for grid ranges; a {design} design draws `samples` points"
        )
    out: dict[str, Any] = {"low": low, "high": high}
    if log:
        out["log"] = True
    if num is not None:
        out["num"] = num
    return out


def _is_int_range(rng: Mapping[str, Any]) -> bool:
    return isinstance(rng["low"], int) and isinstance(rng["high"], int) and not rng.get("log")


def grid_values(rng: Mapping[str, Any]) -> list[Any]:
    """The `num` values of a grid range, evenly spaced (geometrically for `log = true`)."""
    low, high, num = rng["low"], rng["high"], rng["num"]
    if num == 1:
        return [low]
    vals = np.geomspace(low, high, num) if rng.get("log") else np.linspace(low, high, num)
    if _is_int_range(rng):
        return sorted({int(round(v)) for v in vals})
    return [float(v) for v in vals]


def scale_unit(u: float, spec: Any) -> Any:
    """Map a draw `u` in [0, 1) to a value of a parameter: a range (uniform or log) or a list."""
    if isinstance(spec, list):
        return spec[min(int(u * len(spec)), len(spec) - 1)]
    low, high = spec["low"], spec["high"]
    if _is_int_range(spec):
        return min(int(low + math.floor(u * (high - low + 1))), high)
    if spec.get("log"):
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    return float(low + u * (high - low))


def design_points(
    design: str, parameters: Mapping[str, Any], samples: int | None, seed: int
) -> list[dict[str, Any]]:
    """The points of a design: a Cartesian product (grid, last name fastest) or `samples` draws."""
    names = list(parameters)
    if design == "grid":
        axes = [v if isinstance(v, list) else grid_values(v) for v in parameters.values()]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    assert samples is not None
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY,)))
    if design == "random":
        unit = rng.random((samples, len(names)))
    else:
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), rng=rng).random(samples)
    return [
        {name: scale_unit(float(u), parameters[name]) for name, u in zip(names, row, strict=True)}
        for row in unit
    ]


# --------------------------------------------------------------------------- loading


def list_scenarios() -> dict[str, str]:
    """The built-in scenarios: name -> its one-line description."""
    out = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        try:
            with path.open("rb") as fh:
                desc = str(tomllib.load(fh).get("description", "")).strip().splitlines()
        except (OSError, tomllib.TOMLDecodeError):
            desc = []
        out[path.stem] = desc[0] if desc else ""
    return out


def scenario_path(name: str) -> Path:
    """The file of built-in scenario `name`; an unknown name is a `ConfigError` listing the built-ins."""
    path = SCENARIO_DIR / f"{name}.toml"
    if not path.is_file():
        known = list(list_scenarios())
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"{name!r} is neither a spec file nor a built-in scenario{hint}; built-ins: {', '.join(known)}"
        )
    return path


def _unknown(key: str, allowed: tuple[str, ...], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"unknown key '{where}{key}'{hint}; allowed: {', '.join(allowed)}")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _int(data: Mapping[str, Any], key: str, default: int, low: int) -> int:
    value = data.get(key, default)
    if not (isinstance(value, int) and not isinstance(value, bool)) or value < low:
        raise ConfigError(f"{key} = {value!r}: {key} is a whole number >= {low}")
    return value


def load_spec(
    source: str | Path | Mapping[str, Any],
    size: str | None = None,
    *,
    preflight: bool = True,
    check_memory: bool = True,
) -> Spec:
    """Read and validate an experiment: a TOML file, a built-in scenario's name, or parsed data.

    `size` picks one of the file's `[sizes.<name>]` tables, merged over the
    rest of the file (built-in scenarios have `quick` and `full`; the default
    for a file with sizes is `quick`); `base` (unless the file names a size
    so) is the file as written, no size merged. Every run's configuration is
    validated here; any problem is a `ConfigError` naming the key and what is
    allowed.

    `preflight` also checks what the runs ask of the machine (`Preflight`):
    graph files load, and, with `check_memory`, every run fits in the memory
    this machine has available (`spec.memory` is the largest estimate). A
    report or an analysis that only reads the plan passes `preflight=False`.
    """
    label = ""
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        path = Path(source)
        if not path.is_file() and not str(source).endswith(".toml") and "/" not in str(source):
            path = scenario_path(str(source))
        data = read_toml(path)
        label = str(source)
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown(key, TOP_KEYS, "")

    sizes = data.pop("sizes", {}) or {}
    if not isinstance(sizes, dict) or not all(isinstance(v, dict) for v in sizes.values()):
        raise ConfigError("sizes: each size is a table, e.g. [sizes.quick] replicates = 2")
    if size is None and sizes:
        size = "quick" if "quick" in sizes else next(iter(sizes))
    if size == BASE_SIZE and BASE_SIZE not in sizes:
        pass  # the spec as written, no size merged over it
    elif size is not None:
        if size not in sizes:
            known = ", ".join([*sizes, BASE_SIZE])
            raise ConfigError(f"--size {size!r}: this spec's sizes are {known}")
        for key in sizes[size]:
            if key not in TOP_KEYS or key == "sizes":
                raise _unknown(key, TOP_KEYS[:-1], f"sizes.{size}.")
        data = _merge(data, sizes[size])

    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name = {name!r}: name is a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description is a string")
    replicates = _int(data, "replicates", 1, 1)
    seed = _int(data, "seed", 0, 0)

    raw_base = data.get("base", {})
    if not isinstance(raw_base, dict):
        raise ConfigError("base is a table of configuration sections, e.g. [base.deal]")
    if "seed" in raw_base:
        raise ConfigError(
            "base.seed: each run's seed is derived from the spec's top-level seed; set seed = ... at the top"
        )
    try:
        base = load_config(raw_base).to_dict()
    except ConfigError as exc:
        raise ConfigError(f"[base]: {exc}") from None
    base.pop("seed", None)
    steps = _int(data, "steps", base["steps"], 0)
    base["steps"] = steps

    sweep = data.get("sweep")
    if sweep is None:
        raise ConfigError(
            'the spec has no [sweep]: add [sweep.parameters], e.g. "deal.continuation" = [0.5, 0.9] '
            "(a single value runs one point)"
        )
    if not isinstance(sweep, dict):
        raise ConfigError("sweep is a table: [sweep] design = ..., [sweep.parameters] ...")
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise _unknown(key, SWEEP_KEYS, "sweep.")
    design = sweep.get("design", "grid")
    if design not in DESIGNS:
        raise ConfigError(f"sweep.design = {design!r}: allowed: {', '.join(DESIGNS)}")
    samples = sweep.get("samples")
    if design == "grid":
        samples = None  # a grid's points are its values; `samples` applies to drawn designs only
    elif not (isinstance(samples, int) and not isinstance(samples, bool) and samples >= 1):
        raise ConfigError(
            f"sweep.samples = {samples!r}: a {design} design needs samples = <whole number >= 1>"
        )
    raw_params = sweep.get("parameters") or {}
    if not isinstance(raw_params, dict) or not raw_params:
        raise ConfigError(
            "the sweep is empty: [sweep.parameters] names no parameter; add one, e.g. "
            '"deal.continuation" = [0.5, 0.9] (a single value runs one point)'
        )
    parameters: dict[str, Any] = {}
    for path, spec in raw_params.items():
        where = f"sweep.parameters.{_toml_key(path)}"
        check_path(path, base, where)
        if isinstance(spec, list):
            if not spec:
                raise ConfigError(f"{where}: an empty list of values; give at least one")
            parameters[path] = spec
        elif isinstance(spec, dict):
            parameters[path] = _range(spec, where, design)
        else:
            raise ConfigError(
                f"{where} = {spec!r}: give a list of values [a, b, ...] or a range {{ low = ..., high = ... }}"
            )
        if split_path(path)[:2] == ["population", "mix"]:
            vals = (
                parameters[path]
                if isinstance(parameters[path], list)
                else [spec["low"], spec["high"]]
            )
            for v in vals:
                if not _is_number(v) or not 0.0 <= v <= 1.0:
                    raise ConfigError(
                        f"{where}: share {v!r} is out of range; a share is a number in [0, 1]"
                    )

    raw_pairs = data.get("pairs", [])
    if not isinstance(raw_pairs, list):
        raise ConfigError("pairs is an array of tables: [[pairs]] name = ..., replace = {...}")
    pairs: list[Pair] = []
    for i, raw in enumerate(raw_pairs):
        where = f"pairs[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: a pair is a table with name and replace (or set)")
        for key in raw:
            if key not in PAIR_KEYS:
                raise _unknown(key, PAIR_KEYS, f"{where}.")
        pname = raw.get("name")
        if not isinstance(pname, str) or not pname or pname == BASE_PAIR:
            raise ConfigError(
                f"{where}.name = {pname!r}: a pair needs a name other than {BASE_PAIR!r}"
            )
        if pname in (p.name for p in pairs):
            raise ConfigError(f"{where}.name = {pname!r}: two pairs have this name")
        replace, sets = raw.get("replace", {}), raw.get("set", {})
        if not isinstance(replace, dict) or not all(isinstance(v, str) for v in replace.values()):
            raise ConfigError(f'{where}.replace: a table strategy = "other strategy"')
        if not isinstance(sets, dict):
            raise ConfigError(f"{where}.set: a table of dotted parameters and values")
        if not replace and not sets:
            raise ConfigError(
                f"{where} ({pname!r}) changes nothing; give replace = {{...}} or set = {{...}}"
            )
        for path in sets:
            check_path(path, base, f"{where}.set.{path}")
        pairs.append(Pair(pname, dict(replace), dict(sets)))

    points = design_points(design, parameters, samples, seed)
    spec_obj = Spec(
        name=name,
        description=description,
        size=size,
        replicates=replicates,
        steps=steps,
        seed=seed,
        design=design,
        samples=samples,
        parameters=parameters,
        pairs=pairs,
        base=base,
        points=points,
        source=label,
    )
    # Validate every configuration now, so a bad point fails before anything is written.
    check = Preflight(check_memory) if preflight else None
    for p, values in enumerate(points):
        for pair in [None, *pairs]:
            try:
                cfg = point_model(base, values, pair, steps)
                if check is not None:
                    check(cfg)
            except ConfigError as exc:
                shown = ", ".join(f"{k} = {v!r}" for k, v in values.items())
                which = f", pair {pair.name!r}" if pair else ""
                raise ConfigError(f"point {p} ({shown}{which}): {exc}") from None
    spec_obj.memory = check.peak if check is not None else 0
    return spec_obj


# --------------------------------------------------------------------------- TOML output


def _toml_key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "-_" for c in key) and key.isascii()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        inner = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None
        )
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Plain data (dicts, lists, str, numbers, bools) as TOML text; None values are left out."""
    lines: list[str] = []

    def table(node: Mapping[str, Any], prefix: list[str]) -> None:
        subtables = []
        for k, v in node.items():
            if v is None:
                continue
            array_of_tables = isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
            if (isinstance(v, dict) and v) or array_of_tables:
                subtables.append((k, v))
            else:
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in subtables:
            path = [*prefix, _toml_key(k)]
            if isinstance(v, list):
                for item in v:
                    lines.append("")
                    lines.append(f"[[{'.'.join(path)}]]")
                    for ik, iv in item.items():
                        if iv is not None:
                            lines.append(f"{_toml_key(ik)} = {_toml_value(iv)}")
            else:
                lines.append("")
                lines.append(f"[{'.'.join(path)}]")
                table(v, path)

    table(data, [])
    return "\n".join(lines).lstrip("\n") + "\n"
