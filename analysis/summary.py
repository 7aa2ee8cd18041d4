"""Summaries of a results folder: means with 95% intervals, paired differences, break-even points.

Everything here reads the Parquet tables of a results folder (see
`experiments.store`) with polars, lazily where the tables are large, and
returns tidy polars frames that the figures (`analysis.plots`) and the report
(`analysis.report`) draw from.

Conventions, as a methods section would state them:

- The unit of replication is the run. A figure per (sweep point, pair,
  strategy) is first computed per run (as a ratio of sums over the run, e.g.
  payoff per deal = total payoff / total deals), then averaged over the
  replicates of the point. The interval is a two-sided Student t interval of
  that mean (mean +- t(1 - a/2, n - 1) * sd / sqrt(n)); `method="bootstrap"`
  gives a percentile bootstrap of the mean instead. One replicate gives a
  mean and no interval.
- Failed runs are left out, counted and listed; runs a sweep has not done yet
  are counted as missing (planned runs come from the spec as run).
- A paired difference is taken within a (point, replicate): the base run
  minus its twin (same seed, same network and placement), then averaged over
  replicates as above. A replicate whose base run or twin is missing or
  failed is dropped from that pair and counted in `dropped`.
- The giving advantage of a pair that replaces strategy s by t is the payoff
  per deal of the negotiators *placed* as s, giving (base) minus playing t
  (twin): the same negotiators in the same world, with and without giving.
- A break-even point is where the mean paired difference crosses zero along
  one swept parameter, located by linear interpolation between the two sweep
  values that bracket the sign change; the interval is where the lower and
  upper confidence limits cross zero, interpolated the same way.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from environments.config import ConfigError
from experiments.spec import BASE_PAIR
from experiments.store import STATUS_FAILED, STATUS_OK, TABLES, ResultsFolder

LEVEL = 0.95
RUN_KEYS = ("run_id", "point", "replicate", "pair")

# Per run and strategy, computed from the strategies table (run x step x strategy).
STRATEGY_METRICS: dict[str, str] = {
    "payoff_per_deal": "payoff per deal",
    "cooperation": "cooperation (share of closed deals with a give)",
    "reciprocation": "reciprocation (share of giving deals returned)",
    "walk_rate": "walk-aways (share of deals walked away from)",
    "referral_share": "share of deals with referred partners",
    "referral_lift": "referral lift (referral deals per other deal)",
    "return_on_concessions": "return on concessions",
    "reputation": "reputation (mean belief of others)",
    "share": "population share",
    "wealth_mean": "mean wealth",
}

# Run-level outcomes of the runs table that a `set` pair (e.g. referrals off) is compared on.
RUN_METRICS = (
    "payoff_per_deal",
    "deals",
    "cooperation_rate",
    "walk_rate",
    "referral_deal_share",
    "new_contacts",
    "mean_reputation",
)
# Per placed strategy: what a `replace` pair is compared on (the first is the giving advantage).
PLACED_METRICS = (
    "placed_payoff_per_deal_{s}",
    "placed_wealth_mean_{s}",
    "placed_reputation_{s}",
    "placed_referral_deal_share_{s}",
)

# Short names for the axes of figures and the headers of tables.
PARAMETER_LABELS = {
    "deal.continuation": "continuation w",
    "items.asymmetry": "asymmetry (value / cost)",
    "deal.recognition": "recognition of unframed gifts",
    "deal.batna.high": "BATNA upper bound",
    "reputation.referral_prob": "referral probability",
    "reputation.gossip_prob": "gossip probability q",
    "network.kind": "network",
}


def parameter_label(name: str) -> str:
    """A readable name of a swept parameter: `population.mix.exploitative` -> 'exploitative share'."""
    if name in PARAMETER_LABELS:
        return PARAMETER_LABELS[name]
    if name.startswith("population.mix."):
        return f"{name.removeprefix('population.mix.')} share"
    return name.rsplit(".", 1)[-1].replace("_", " ")


def format_value(value: Any) -> str:
    """A swept value for a label: numbers without trailing zeros, anything else as text."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --------------------------------------------------------------------------- the results folder


@dataclass(frozen=True)
class PairInfo:
    """A paired counterfactual as the spec describes it."""

    name: str
    replace: dict[str, str] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunCounts:
    """How many runs the sweep planned, how many are recorded ok or failed, how many are missing."""

    planned: int | None
    ok: int
    failed: int

    @property
    def missing(self) -> int | None:
        """Planned runs with no record yet (an unfinished sweep); None if the plan is unknown."""
        if self.planned is None:
            return None
        return max(0, self.planned - self.ok - self.failed)


class Results:
    """A results folder opened for analysis: its spec, manifest, runs, and lazy tables.

    Build one with `load_results`. `runs` holds every recorded run (ok and
    failed); `ok_runs` only those that finished. `parameters` are the swept
    parameters (runs table columns, spec order) and `varying` those that take
    more than one value among the finished runs.
    """

    def __init__(
        self,
        path: Path,
        runs: pl.DataFrame,
        spec_text: str,
        spec_data: dict[str, Any],
        manifest: dict[str, Any],
        planned: int | None,
    ) -> None:
        self.path = path
        self.runs = runs
        self.spec_text = spec_text
        self.spec_data = spec_data
        self.manifest = manifest
        self.planned = planned

    # ------------------------------------------------------------------ what the sweep is

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.spec_data.get("name") or self.manifest.get("name") or self.path.name)

    @property
    def description(self) -> str:
        """The experiment's one-line description ('' if none)."""
        return str(self.spec_data.get("description") or self.manifest.get("description") or "")

    @cached_property
    def parameters(self) -> list[str]:
        """The swept parameters, in the spec's order."""
        declared = list((self.spec_data.get("sweep") or {}).get("parameters") or {})
        if declared:
            return [p for p in declared if p in self.runs.columns]
        # No spec: the runner writes the swept values between `seed` and `status`.
        cols = self.runs.columns
        if "seed" in cols and "status" in cols:
            return cols[cols.index("seed") + 1 : cols.index("status")]
        return []

    @cached_property
    def ok_runs(self) -> pl.DataFrame:
        """The runs that finished."""
        if "status" not in self.runs.columns:
            return self.runs
        return self.runs.filter(pl.col("status") == STATUS_OK)

    @cached_property
    def varying(self) -> list[str]:
        """Swept parameters that take more than one value among the finished runs."""
        return [p for p in self.parameters if self.ok_runs[p].n_unique() > 1]

    @cached_property
    def fixed(self) -> dict[str, Any]:
        """Swept parameters with a single value among the finished runs: name -> value."""
        out = {}
        for p in self.parameters:
            if p not in self.varying and self.ok_runs.height:
                out[p] = self.ok_runs[p][0]
        return out

    def is_numeric(self, parameter: str) -> bool:
        """Whether a swept parameter is a number (else categorical, e.g. the network kind)."""
        return self.runs.schema[parameter].is_numeric()

    @cached_property
    def pairs(self) -> list[PairInfo]:
        """The paired counterfactuals of the spec (in its order) that appear in the runs."""
        declared = [
            PairInfo(str(p.get("name")), dict(p.get("replace") or {}), dict(p.get("set") or {}))
            for p in self.spec_data.get("pairs") or []
        ]
        seen = set(self.runs["pair"].unique().to_list()) if "pair" in self.runs.columns else set()
        known = {p.name for p in declared}
        declared += [PairInfo(str(n)) for n in sorted(seen - known - {BASE_PAIR})]
        return [p for p in declared if p.name in seen]

    @cached_property
    def strategies(self) -> list[str]:
        """Strategies met in the finished runs, in a stable order (the mix's order first)."""
        mix = list(((self.spec_data.get("base") or {}).get("population") or {}).get("mix") or {})
        names: list[str] = [*mix]
        for p in self.pairs:
            names += [s for s in p.replace.values() if s not in names]
        cols = self.ok_runs.columns
        for c in cols:
            if c.startswith("share_"):
                s = c.removeprefix("share_")
                if s not in names:
                    names.append(s)
        present = {c.removeprefix("share_") for c in cols if c.startswith("share_")}
        return [s for s in names if s in present] if present else names

    @cached_property
    def counts(self) -> RunCounts:
        """Runs planned, finished and failed."""
        status = self.runs["status"] if "status" in self.runs.columns else None
        ok = self.runs.height if status is None else int((status == STATUS_OK).sum())
        failed = 0 if status is None else int((status == STATUS_FAILED).sum())
        return RunCounts(self.planned, ok, failed)

    @property
    def complete(self) -> bool:
        """Whether every planned run is recorded (ok or failed)."""
        return self.counts.missing == 0

    def failures(self) -> pl.DataFrame:
        """The failed runs: run id, point, replicate, pair and the error."""
        cols = [c for c in (*RUN_KEYS, *self.parameters, "error") if c in self.runs.columns]
        if "status" not in self.runs.columns:
            return self.runs.select(cols).clear()
        return self.runs.filter(pl.col("status") == STATUS_FAILED).select(cols)

    def points(self) -> pl.DataFrame:
        """One row per sweep point with a finished run: `point` and the swept values."""
        return self.ok_runs.select("point", *self.parameters).unique("point").sort("point")

    def point_label(self, point: int, parameters: Sequence[str] | None = None) -> str:
        """A short label of a point: 'exploitative share 0.2, continuation w 0.9'."""
        row = self.points().filter(pl.col("point") == point).row(0, named=True)
        names = self.varying if parameters is None else parameters
        if not names:  # nothing varies: name the point by what was held fixed
            names = list(self.fixed)
        if not names:
            return "all runs"
        return ", ".join(f"{parameter_label(p)} {format_value(row[p])}" for p in names)

    # ------------------------------------------------------------------ tables

    def scan(self, table: str) -> pl.LazyFrame:
        """A table of the finished runs, lazily: the assembled file, or the per-run parts.

        Runs that failed or are still running are left out. The parts of an
        unfinished sweep are read lazily too: in one scan when they share
        their columns (as a sweep's parts do), else one file at a time,
        stacked with the columns united.
        """
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        if table == "runs":
            return self.ok_runs.lazy()
        ids = self.ok_runs["run_id"]
        assembled = self.path / f"{table}.parquet"
        if assembled.is_file() and self.manifest.get("status") == "complete":
            frame = pl.scan_parquet(assembled)
        else:
            files = [self.path / "parts" / table / f"{r}.parquet" for r in ids]
            files = [f for f in files if f.is_file()]
            if not files:
                return pl.LazyFrame({"run_id": pl.Series([], dtype=pl.String)})
            frame = _scan_parts(files)
        return frame.filter(pl.col("run_id").is_in(ids.implode()))


def _scan_parts(files: list[Path]) -> pl.LazyFrame:
    """Parquet parts as one lazy table, in order.

    One scan of the list when every part has the same schema: a count over
    1,960 parts then takes 0.5 s (0.2 s of it reading the schemas) instead
    of 1 s, and polars no longer runs into its limit of 512 blocking threads
    (it warned of a possible deadlock). Parts that differ, or one that
    cannot be read, are scanned file by file and stacked with their columns
    united, as they always were.
    """
    try:
        schemas = {tuple(pl.read_parquet_schema(f).items()) for f in files}
    except Exception:  # noqa: BLE001 - a damaged part: the file-by-file scan reports it
        schemas = set()
    if len(schemas) == 1:
        return pl.scan_parquet(files, glob=False, hive_partitioning=False)
    return pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")


def load_results(path: str | Path) -> Results:
    """Open a results folder (finished or not) for analysis.

    Raises `ConfigError` when `path` is not a results folder or holds no run yet.
    """
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such results folder")
    folder = ResultsFolder(path)
    manifest = folder.manifest()
    spec_path = path / "spec.toml"
    spec_text = spec_path.read_text() if spec_path.is_file() else ""
    try:
        spec_data = tomllib.loads(spec_text) if spec_text else {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{spec_path}: not valid TOML ({exc})") from None
    if not manifest and not spec_text and not (path / "runs.parquet").is_file():
        raise ConfigError(
            f"{path}: not a results folder (no manifest.json, spec.toml or runs.parquet); "
            "give the --out folder of a `concession sweep`"
        )
    runs = folder.read("runs")
    if runs.height == 0 or "run_id" not in runs.columns:
        raise ConfigError(f"{path}: the sweep has recorded no run yet; nothing to summarise")
    runs = runs.with_columns(pl.col("pair").fill_null(BASE_PAIR)) if "pair" in runs else runs
    return Results(path, runs, spec_text, spec_data, manifest, _planned(spec_data, manifest))


def _planned(spec_data: Mapping[str, Any], manifest: Mapping[str, Any]) -> int | None:
    """How many runs the sweep plans: from the spec as run, else from the manifest's counts."""
    if spec_data:
        try:
            from experiments.spec import load_spec

            return load_spec(dict(spec_data), preflight=False).n_runs
        except (ConfigError, ValueError, TypeError, ImportError):
            pass  # a spec this version cannot plan (e.g. a strategy no longer importable)
    planned = (manifest.get("counts") or {}).get("planned")
    return int(planned) if isinstance(planned, int) else None


# --------------------------------------------------------------------------- means and intervals


def mean_ci(
    frame: pl.DataFrame | pl.LazyFrame,
    by: Sequence[str],
    values: Sequence[str],
    *,
    level: float = LEVEL,
    method: Literal["t", "bootstrap"] = "t",
    resamples: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """Mean and confidence interval of each column of `values` per group of `by`, in long form.

    Returns `by`, `metric`, `mean`, `lo`, `hi`, `sd`, `n` (one row per group and
    metric). NaN and null values are left out (a ratio with nothing to divide
    by); a group with one value has no interval (`lo`, `hi` null). `method`:
    "t" (Student t) or "bootstrap" (percentile, `resamples` draws, seeded).
    """
    by = list(by)
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method {method!r}: 't' or 'bootstrap'")
    schema = {**dict.fromkeys(by, pl.Null), "metric": pl.String}
    long = (
        frame.lazy()
        .select(*by, *[pl.col(v).cast(pl.Float64) for v in values])
        .unpivot(index=by, on=list(values), variable_name="metric", value_name="value")
        .with_columns(pl.col("value").fill_nan(None))
        .drop_nulls("value")
    )
    # Mean and standard deviation from running sums over each group's values in row order:
    # polars' own mean and std add up partial sums per thread, so their last bits would
    # follow the machine's core count. Sums of differences from the first value, so that
    # equal values give exactly their value and a deviation of exactly 0.
    size = pl.len()
    first = pl.col("value").first()
    average = first + (pl.col("value") - first).cum_sum().last() / size
    squares = (pl.col("value") - average) * (pl.col("value") - average)
    agg = (
        long.group_by([*by, "metric"], maintain_order=True)
        .agg(
            average.alias("mean"),
            pl.when(size > 1).then((squares.cum_sum().last() / (size - 1)).sqrt()).alias("sd"),
            size.alias("n"),
            *([pl.col("value").alias("_values")] if method == "bootstrap" else []),
        )
        .collect()
    )
    if agg.height == 0:
        empty = {**schema, "mean": pl.Float64, "lo": pl.Float64, "hi": pl.Float64}
        return pl.DataFrame(schema={**empty, "sd": pl.Float64, "n": pl.UInt32})
    n = agg["n"].to_numpy().astype(np.float64)
    mean = agg["mean"].to_numpy()
    if method == "t":
        with np.errstate(invalid="ignore", divide="ignore"):
            q = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan))
            half = q * agg["sd"].fill_null(np.nan).to_numpy() / np.sqrt(n)
        lo, hi = mean - half, mean + half
    else:
        rng = np.random.default_rng(seed)
        lo, hi = np.full(len(n), np.nan), np.full(len(n), np.nan)
        for i, vals in enumerate(agg["_values"].to_list()):
            x = np.asarray(vals, dtype=np.float64)
            if len(x) < 2:
                continue
            means = rng.choice(x, size=(resamples, len(x)), replace=True).mean(axis=1)
            lo[i], hi[i] = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
        agg = agg.drop("_values")
    return agg.with_columns(
        pl.Series("lo", lo).fill_nan(None), pl.Series("hi", hi).fill_nan(None)
    ).select(*by, "metric", "mean", "lo", "hi", "sd", "n")


# --------------------------------------------------------------------------- by strategy


def run_strategy_table(results: Results) -> pl.DataFrame:
    """One row per finished run and strategy: the run's totals and the `STRATEGY_METRICS`.

    Sums over the steps of the strategies table; counts a strategy only in
    the runs where it had negotiators. Cooperation = deals with a give /
    closed deals; reciprocation = giving deals in which the partner gave
    back / giving deals; walk-aways = deals that ended in a walk-away /
    deals; referral share = deals on referral contacts / deals; referral
    lift = referral deals / other deals (how many deals referrals added per
    deal on the original network); return on concessions = (value received
    + payoff of referred deals) / cost given; reputation, share and mean
    wealth at the last step.
    """
    keys = ["run_id", "point", "replicate", "pair", *results.parameters]
    strategies = results.scan("strategies").with_columns(
        # The table keeps the rate, not the count: rate x closed gives the count back.
        (pl.col("cooperation_rate").fill_null(0.0) * pl.col("closed")).alias("giving_sides")
    )
    counts = ["deals", "closed", "walked", "gives", "reciprocated", "referral_deals"]
    amounts = ["giving_sides", "payoff", "cost_given", "value_received", "referral_payoff"]
    sides = (
        strategies.group_by("run_id", "strategy")
        .agg(
            # Counts add up exactly in any order; `last` is the last step: each run and
            # strategy's rows put in step order on their own (sorting the whole table first
            # held it in memory twice over: 2.5 GB for a full-size sweep).
            *[pl.col(c).sum() for c in counts],
            pl.col("negotiators").max().alias("_present"),
            *[
                pl.col(c).sort_by("step").last()
                for c in ("negotiators", "share", "reputation", "wealth_mean")
            ],
        )
        .join(
            _row_order_sums(strategies, ["run_id", "strategy"], amounts).lazy(),
            on=["run_id", "strategy"],
        )
        .sort("run_id", "strategy")
        .filter(pl.col("_present") > 0)
        .drop("_present")
        .with_columns(pl.col("giving_sides").round(0))
    )

    def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
        return pl.when(den > 0).then(num / den).otherwise(None)

    table = sides.with_columns(
        ratio(pl.col("payoff"), pl.col("deals")).alias("payoff_per_deal"),
        ratio(pl.col("giving_sides"), pl.col("closed")).alias("cooperation"),
        ratio(pl.col("reciprocated"), pl.col("giving_sides")).alias("reciprocation"),
        ratio(pl.col("walked"), pl.col("deals")).alias("walk_rate"),
        ratio(pl.col("referral_deals"), pl.col("deals")).alias("referral_share"),
        ratio(pl.col("referral_deals"), pl.col("deals") - pl.col("referral_deals")).alias(
            "referral_lift"
        ),
        ratio(pl.col("value_received") + pl.col("referral_payoff"), pl.col("cost_given")).alias(
            "return_on_concessions"
        ),
    )
    runs = results.ok_runs.lazy().select(keys)
    return runs.join(table, on="run_id", how="inner").sort("point", "replicate", "pair").collect()


def _row_order_sums(
    frame: pl.LazyFrame, by: list[str], columns: list[str], rows: int = 1 << 20
) -> pl.DataFrame:
    """Sums of `columns` per group of `by` (groups in order of appearance), in row order.

    Slice by slice, `rows` rows at a time: each slice's values added per group
    in row order (numpy's bincount), the slices' sums added in turn. A
    sweep's tables list each run's steps in order, so this adds step by step,
    with the same bits whatever polars' thread count (polars' own group sums
    add partial sums per thread) and in the memory of one slice. Nulls count
    as 0.
    """
    groups = frame.select(by).unique(maintain_order=True).collect().with_row_index("_group")
    totals = np.zeros((len(columns), groups.height))
    offset = 0
    while True:
        part = frame.slice(offset, rows).select(*by, *columns).collect()
        group = part.join(groups, on=by, how="left", maintain_order="left")["_group"].to_numpy()
        for k, column in enumerate(columns):
            weights = part[column].cast(pl.Float64).fill_null(0.0).to_numpy()
            totals[k] += np.bincount(group, weights=weights, minlength=groups.height)
        offset += part.height
        if part.height < rows:
            break
    return groups.drop("_group").with_columns(
        pl.Series(column, totals[k]) for k, column in enumerate(columns)
    )


def strategy_summary(
    results: Results,
    *,
    by: Sequence[str] | None = None,
    level: float = LEVEL,
    method: Literal["t", "bootstrap"] = "t",
) -> pl.DataFrame:
    """Per sweep point, pair and strategy: mean and interval over replicates of `STRATEGY_METRICS`.

    `by` groups the runs (default: `point` and every swept parameter; naming
    fewer parameters averages over the others, pooling their replicates).
    Long form: the `by` columns, `pair`, `strategy`, `metric`, `mean`, `lo`,
    `hi`, `sd`, `n`.
    """
    per_run = run_strategy_table(results)
    by = ["point", *results.parameters] if by is None else list(by)
    out = mean_ci(
        per_run, [*by, "pair", "strategy"], list(STRATEGY_METRICS), level=level, method=method
    )
    return _sort(out, results, extra=[*by, "strategy", "metric"])


def _sort(frame: pl.DataFrame, results: Results, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Points in order, base before its pairs (spec order), then `extra` columns."""
    cols = ["point"] if "point" in frame.columns else []
    if "pair" in frame.columns:
        rank = {name: i for i, name in enumerate([BASE_PAIR, *[p.name for p in results.pairs]])}
        frame = frame.with_columns(
            pl.col("pair")
            .replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
            .alias("_r")
        )
        cols.append("_r")
    cols += [c for c in extra if c in frame.columns and c not in cols]
    if not cols:
        return frame
    return frame.sort(cols, maintain_order=True).drop("_r", strict=False)


# --------------------------------------------------------------------------- paired differences


def pair_metrics(results: Results, pair: PairInfo) -> list[str]:
    """The runs-table columns a pair is compared on.

    A `replace` pair: the placed figures of each replaced strategy (the first
    is its payoff per deal: the giving advantage), then the population's
    payoff per deal. A `set` pair: the run-level outcomes (`RUN_METRICS`) and
    the placed payoff per deal of every strategy.
    """
    cols = set(results.runs.columns)
    names: list[str] = []
    for s in pair.replace:
        names += [m.format(s=s) for m in PLACED_METRICS]
    if pair.replace:
        names.append("payoff_per_deal")
    else:
        names += list(RUN_METRICS)
        names += [f"placed_payoff_per_deal_{s}" for s in results.strategies]
    seen: list[str] = []
    for n in names:
        if n in cols and n not in seen:
            seen.append(n)
    return seen


def paired_runs(results: Results, pair: str, metrics: Sequence[str]) -> pl.DataFrame:
    """Per (point, replicate) with both twins finished: base value, twin value and difference.

    Columns: `point`, `replicate`, swept parameters, then for each metric m:
    `m_base`, `m_pair`, `m_diff` (base minus twin).
    """
    ok = results.ok_runs
    keys = ["point", "replicate"]
    base = ok.filter(pl.col("pair") == BASE_PAIR).select(
        *keys, *results.parameters, *[pl.col(m).alias(f"{m}_base") for m in metrics]
    )
    twin = ok.filter(pl.col("pair") == pair).select(
        *keys, *[pl.col(m).alias(f"{m}_pair") for m in metrics]
    )
    joined = base.join(twin, on=keys, how="inner")
    return joined.with_columns(
        *[(pl.col(f"{m}_base") - pl.col(f"{m}_pair")).alias(f"{m}_diff") for m in metrics]
    ).sort(keys)


def dropped_twins(results: Results, pair: str) -> int:
    """Replicates (point, replicate) recorded for the base or the pair but without both finished."""
    keys = ["point", "replicate"]
    ok = results.ok_runs
    both = (
        ok.filter(pl.col("pair") == BASE_PAIR)
        .select(keys)
        .join(ok.filter(pl.col("pair") == pair).select(keys), on=keys, how="inner")
        .height
    )
    recorded = results.runs.filter(pl.col("pair").is_in([BASE_PAIR, pair])).select(keys).unique()
    return recorded.height - both


def paired_differences(
    results: Results,
    *,
    pairs: Sequence[str] | None = None,
    metrics: Mapping[str, Sequence[str]] | None = None,
    by: Sequence[str] | None = None,
    level: float = LEVEL,
    method: Literal["t", "bootstrap"] = "t",
) -> pl.DataFrame:
    """Per sweep point, pair and metric: mean base-minus-twin difference and its interval.

    `pairs` limits the pairs (default: all); `metrics` maps a pair's name to
    the columns to compare (default: `pair_metrics`). `by` groups the
    replicates (default: `point` and every swept parameter); naming fewer
    parameters averages over the others, pooling their replicates. Long
    form: the `by` columns, `pair`, `metric`, `mean`, `lo`, `hi`, `sd`, `n`,
    `base_mean`, `pair_mean`, and `dropped` (replicates of that pair left out
    over the whole sweep because a twin is missing or failed).
    """
    frames = []
    by = ["point", *results.parameters] if by is None else list(by)
    for pair in results.pairs:
        if pairs is not None and pair.name not in pairs:
            continue
        cols = list(metrics[pair.name]) if metrics and pair.name in metrics else None
        cols = cols if cols is not None else pair_metrics(results, pair)
        if not cols:
            continue
        rows = paired_runs(results, pair.name, cols)
        if rows.height == 0:
            continue
        diff = mean_ci(
            rows.rename({f"{m}_diff": m for m in cols}), by, cols, level=level, method=method
        )
        sides = [f"{m}_base" for m in cols] + [f"{m}_pair" for m in cols]
        means = (
            rows.select(*by, *[pl.col(c).cast(pl.Float64).fill_nan(None) for c in sides])
            .group_by(by, maintain_order=True)
            .agg(pl.col(sides).mean())
            .unpivot(index=by, on=sides)
            .with_columns(
                pl.col("variable").str.replace(r"_(base|pair)$", "").alias("metric"),
                pl.col("variable").str.extract(r"_(base|pair)$").alias("side"),
            )
            .pivot(on="side", index=[*by, "metric"], values="value")
            .rename({"base": "base_mean", "pair": "pair_mean"})
        )
        diff = diff.join(means, on=[*by, "metric"], how="left", nulls_equal=True).with_columns(
            pl.lit(pair.name).alias("pair"),
            pl.lit(dropped_twins(results, pair.name)).alias("dropped"),
        )
        frames.append(
            diff.select(
                *by,
                "pair",
                "metric",
                "mean",
                "lo",
                "hi",
                "sd",
                "n",
                "base_mean",
                "pair_mean",
                "dropped",
            )
        )
    if not frames:
        schema = {b: results.runs.schema[b] for b in by if b in results.runs.columns}
        return pl.DataFrame(
            schema=schema
            | {
                "pair": pl.String,
                "metric": pl.String,
                "mean": pl.Float64,
                "lo": pl.Float64,
                "hi": pl.Float64,
                "sd": pl.Float64,
                "n": pl.UInt32,
                "base_mean": pl.Float64,
                "pair_mean": pl.Float64,
                "dropped": pl.Int32,
            }
        )
    return _sort(pl.concat(frames, how="diagonal_relaxed"), results, extra=[*by, "metric"])


@dataclass(frozen=True)
class Advantage:
    """A giving advantage: strategy `strategy` giving (base) minus playing `replacement` (pair)."""

    pair: str
    strategy: str
    replacement: str
    metric: str

    @property
    def label(self) -> str:
        """'strategic giving minus holding out' (or '... minus playing naive')."""
        other = "holding out" if self.replacement == "holdout" else f"playing {self.replacement}"
        return f"{self.strategy} giving minus {other}"


def advantages(results: Results) -> list[Advantage]:
    """The giving advantages the sweep can measure, pairs that replace by holdout first."""
    found = []
    cols = set(results.runs.columns)
    for pair in results.pairs:
        for s, t in pair.replace.items():
            metric = f"placed_payoff_per_deal_{s}"
            if metric in cols:
                found.append(Advantage(pair.name, s, t, metric))
    return sorted(found, key=lambda a: a.replacement != "holdout")


def giving_advantage(
    results: Results,
    advantage: Advantage | None = None,
    *,
    by: Sequence[str] | None = None,
    level: float = LEVEL,
    method: Literal["t", "bootstrap"] = "t",
) -> pl.DataFrame:
    """Per sweep point: the paired giving advantage (payoff per deal), mean and interval.

    `advantage` defaults to the first of `advantages` (strategic vs holdout
    in the built-in scenarios); `by` as in `paired_differences`. Columns as
    `paired_differences`; empty if the sweep has no replacing pair.
    """
    if advantage is None:
        found = advantages(results)
        if not found:
            return paired_differences(results, pairs=[], by=by)
        advantage = found[0]
    return paired_differences(
        results,
        pairs=[advantage.pair],
        metrics={advantage.pair: [advantage.metric]},
        by=by,
        level=level,
        method=method,
    )


# --------------------------------------------------------------------------- break-even


def _crossings(x: np.ndarray, y: np.ndarray) -> list[tuple[float, int]]:
    """Where y crosses zero along x (linear interpolation), with the index of the left end."""
    out: list[tuple[float, int]] = []
    for i in range(len(x) - 1):
        y0, y1 = y[i], y[i + 1]
        if np.isnan(y0) or np.isnan(y1):
            continue
        if y0 == 0 and (i == 0 or y[i - 1] != 0):
            out.append((float(x[i]), i))
        elif y0 * y1 < 0:
            out.append((float(x[i] + (0 - y0) * (x[i + 1] - x[i]) / (y1 - y0)), i))
    if len(y) and y[-1] == 0 and (len(y) == 1 or y[-2] != 0):
        out.append((float(x[-1]), len(x) - 1))
    return out


def break_even(
    table: pl.DataFrame, x: str, *, by: Sequence[str] = (), value: str = "mean"
) -> pl.DataFrame:
    """Where a paired difference crosses zero along the swept parameter `x`, per group of `by`.

    `table` has one row per value of `x` in each group (e.g. `giving_advantage`
    filtered to one pair and metric) with `value`, `lo` and `hi`. For each
    group: `break_even` (x where the mean crosses zero, by linear
    interpolation; one row per crossing), `ci_from`/`ci_to` (where the lower
    and upper confidence limits cross zero next to it, null if they do not
    within the swept range) and `status`: "stops paying" (positive below,
    negative above), "starts paying", "pays throughout", "backfires
    throughout", or "no data".
    """
    by = list(by)
    groups = table.partition_by(by, maintain_order=True, as_dict=False) if by else [table]
    rows: list[dict[str, Any]] = []
    for g in groups:
        g = g.sort(x)
        key = {b: g[b][0] for b in by}
        xs = g[x].cast(pl.Float64).to_numpy()
        ys = g[value].cast(pl.Float64).fill_null(np.nan).to_numpy()
        lo = g["lo"].cast(pl.Float64).fill_null(np.nan).to_numpy() if "lo" in g else ys * np.nan
        hi = g["hi"].cast(pl.Float64).fill_null(np.nan).to_numpy() if "hi" in g else ys * np.nan
        base = {**key, "parameter": x}
        finite = ys[~np.isnan(ys)]
        crossings = _crossings(xs, ys)
        if not crossings:
            if len(finite) == 0:
                status = "no data"
            elif len(finite) == 1:
                status = "one value only"  # e.g. a random design: nothing to interpolate
            elif (finite > 0).all():
                status = "pays throughout"
            elif (finite < 0).all():
                status = "backfires throughout"
            else:
                status = "zero throughout"
            rows.append(
                {**base, "break_even": None, "ci_from": None, "ci_to": None, "status": status}
            )
            continue
        for x0, i in crossings:
            after = ys[i + 1] if i + 1 < len(ys) else -ys[i]
            before = ys[i] if ys[i] != 0 else (ys[i - 1] if i > 0 else -after)
            status = "stops paying" if before > 0 or after < 0 else "starts paying"
            limits = [c for c, _ in _crossings(xs, lo)] + [c for c, _ in _crossings(xs, hi)]
            below = [c for c in limits if c <= x0]
            above = [c for c in limits if c >= x0]
            rows.append(
                {
                    **base,
                    "break_even": x0,
                    "ci_from": max(below) if below else None,
                    "ci_to": min(above) if above else None,
                    "status": status,
                }
            )
    schema = {b: table.schema[b] for b in by} | {
        "parameter": pl.String,
        "break_even": pl.Float64,
        "ci_from": pl.Float64,
        "ci_to": pl.Float64,
        "status": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def break_even_points(results: Results, advantage: Advantage | None = None) -> pl.DataFrame:
    """Break-even of the giving advantage along each numeric varying parameter, per other values.

    With two swept parameters this gives, e.g., the exploitative share at
    which giving stops paying for each continuation w, and the w at which it
    stops paying for each exploitative share. Further swept parameters are
    averaged over (their replicates pooled) before the crossing is located.
    """
    frames = []
    for x in results.varying:
        if not results.is_numeric(x):
            continue
        others = [p for p in results.varying if p != x][:1]
        table = giving_advantage(results, advantage, by=[x, *others])
        if table.height:
            frames.append(break_even(table, x, by=others))
    if not frames:
        return pl.DataFrame(
            schema={
                "parameter": pl.String,
                "break_even": pl.Float64,
                "ci_from": pl.Float64,
                "ci_to": pl.Float64,
                "status": pl.String,
            }
        )
    return pl.concat(frames, how="diagonal_relaxed")


# --------------------------------------------------------------------------- over time


def representative_points(results: Results, limit: int = 4) -> list[int]:
    """A few points that span the sweep: its corners (two parameters), ends and middle (one).

    Works on any design: each target corner takes the finished point nearest
    to it in rank-scaled coordinates. At most `limit` points, in point order.
    """
    pts = results.points()
    if pts.height == 0:
        return []
    names = results.varying[:2]
    if not names:
        return [int(pts["point"][0])]
    coords = []
    for p in names:
        col = pts[p]
        order = {v: i for i, v in enumerate(sorted(col.unique().to_list(), key=_sort_key))}
        denom = max(1, len(order) - 1)
        coords.append(np.array([order[v] / denom for v in col.to_list()]))
    xy = np.stack(coords, axis=1)
    if len(names) == 1:
        targets = [[0.0], [0.5], [1.0]]
    else:
        targets = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    chosen: list[int] = []
    for t in targets:
        idx = int(np.argmin(((xy - np.array(t)) ** 2).sum(axis=1)))
        point = int(pts["point"][idx])
        if point not in chosen:
            chosen.append(point)
    return sorted(chosen[:limit])


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float) else (1, str(v))


def strategy_series(
    results: Results,
    points: Iterable[int],
    metrics: Sequence[str] = ("payoff_per_deal", "share", "reputation"),
    *,
    pair: str = BASE_PAIR,
    level: float = LEVEL,
) -> pl.DataFrame:
    """Per point, strategy and step: mean and interval over replicates of strategies-table columns.

    Only the runs of `pair` (base by default) at `points`. Long form:
    `point`, `strategy`, `step`, `metric`, `mean`, `lo`, `hi`, `sd`, `n`.
    """
    points = list(points)
    runs = results.ok_runs.filter(pl.col("point").is_in(points) & (pl.col("pair") == pair))
    frame = (
        results.scan("strategies")
        .filter(pl.col("run_id").is_in(runs["run_id"].implode()))
        .filter(pl.col("negotiators") > 0)
        .join(runs.lazy().select("run_id", "point"), on="run_id")
    )
    return mean_ci(frame, ["point", "strategy", "step"], list(metrics), level=level).sort(
        "point", "strategy", "metric", "step"
    )


def step_series(
    results: Results,
    points: Iterable[int],
    metrics: Sequence[str] = ("new_contacts", "contacts", "referral_deals"),
    *,
    pair: str = BASE_PAIR,
    cumulative: Sequence[str] = ("new_contacts",),
    level: float = LEVEL,
) -> pl.DataFrame:
    """Per point and step: mean and interval over replicates of steps-table columns.

    Columns named in `cumulative` are summed up to each step first (e.g.
    contacts gained by referral so far). Long form: `point`, `step`,
    `metric`, `mean`, `lo`, `hi`, `sd`, `n`.
    """
    points = list(points)
    runs = results.ok_runs.filter(pl.col("point").is_in(points) & (pl.col("pair") == pair))
    frame = (
        results.scan("steps")
        .filter(pl.col("run_id").is_in(runs["run_id"].implode()))
        .sort("run_id", "step")
        .with_columns(*[pl.col(c).cum_sum().over("run_id") for c in cumulative if c in metrics])
        .join(runs.lazy().select("run_id", "point"), on="run_id")
    )
    return mean_ci(frame, ["point", "step"], list(metrics), level=level).sort(
        "point", "metric", "step"
    )


def referrals_happened(results: Results) -> bool:
    """Whether any finished run made a referral."""
    if "referrals" in results.ok_runs.columns:
        return bool((results.ok_runs["referrals"].fill_null(0) > 0).any())
    return False


# --------------------------------------------------------------------------- network snapshot

SNAPSHOT_MAX_N = 5000  # rebuilding and drawing a larger network takes too long for a report


@dataclass
class Snapshot:
    """The network of one run at its end, rebuilt from its configuration and seed.

    `strategy` and `wealth` per node; contacts as `u`, `v` with `origin` (1 =
    gained by referral) and `active`. `reproduced` says whether the rebuilt
    run's wealth matches the agents table of the stored run.
    """

    run_id: str
    point: int
    replicate: int
    pair: str
    steps: int
    strategy: list[str]
    wealth: np.ndarray
    u: np.ndarray
    v: np.ndarray
    origin: np.ndarray
    active: np.ndarray
    reproduced: bool | None


def run_config(results: Results, run_id: str) -> dict[str, Any]:
    """The full model configuration of a recorded run (seed included), rebuilt from the spec.

    Rebuilt with the spec's own helpers (`point_config` on the spec as run),
    because the order of `population.mix` decides the placement and the
    runs table's `config` column (canonical JSON, keys sorted) loses it.
    Whether the result is really the recorded run is for the replay to show
    (`rebuild_network` compares its wealth with the agents table): a newer
    version of the code may fill in defaults the sweep did not have.
    """
    from experiments.spec import Pair, load_spec, point_config

    row = results.runs.filter(pl.col("run_id") == run_id).row(0, named=True)
    spec = load_spec(dict(results.spec_data), preflight=False)
    info = next((p for p in results.pairs if p.name == row["pair"]), None)
    pair = Pair(info.name, info.replace, info.set) if info else None
    config = point_config(spec.base, spec.points[int(row["point"])], pair, spec.steps)
    return {**config, "seed": int(row["seed"])}


def rebuild_network(results: Results, run_id: str, *, max_n: int = SNAPSHOT_MAX_N) -> Snapshot:
    """Run one recorded run again from its configuration and seed, and keep its network.

    The agents table holds no edge list, so the run is replayed (same
    configuration, same seed: the same run) and `reproduced` records whether
    the replay's wealth matches the stored agents table. Refuses runs with
    more than `max_n` negotiators with a `ValueError`.
    """
    from environments.config import load_config
    from environments.model import ConcessionModel

    row = results.ok_runs.filter(pl.col("run_id") == run_id).row(0, named=True)
    config = run_config(results, run_id)
    n = int(config["population"]["n"])
    if n > max_n:
        raise ValueError(f"run {run_id} has {n} negotiators; a snapshot draws at most {max_n}")
    model = ConcessionModel(load_config(config), rng=int(row["seed"]))
    try:
        model.run(int(config["steps"]))
        agents = model.agents_frame()
        rel = model.relationships
        size = rel.size
        snap = Snapshot(
            run_id=run_id,
            point=int(row["point"]),
            replicate=int(row["replicate"]),
            pair=str(row["pair"]),
            steps=int(config["steps"]),
            strategy=agents["strategy"].to_list(),
            wealth=agents["wealth"].to_numpy(),
            u=rel.u[:size].copy(),
            v=rel.v[:size].copy(),
            origin=rel.origin[:size].copy(),
            active=rel.active[:size].copy(),
            reproduced=None,
        )
    finally:
        model.release()
    stored = (
        results.scan("agents")
        .filter(pl.col("run_id") == run_id)
        .sort("agent_id")
        .select("wealth")
        .collect()
    )
    if stored.height == len(snap.wealth):
        snap.reproduced = bool(np.allclose(stored["wealth"].to_numpy(), snap.wealth))
    return snap


def describe_interval(
    mean: float | None, lo: float | None, hi: float | None, digits: int = 3
) -> str:
    """'1.23 [0.98, 1.48]' (or '1.23' without an interval; '-' without a mean)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    if lo is None or hi is None:
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"
