"""The report of a results folder: one self-contained HTML page and its figures.

`build_report(DIR)` (the `concession report DIR` command) writes

- `DIR/report.html`: the question, the state of the sweep (runs planned,
  finished, failed, missing), the figures embedded as images with a sentence
  on what each shows and what it says for this sweep, the summary tables with
  their 95% intervals, the spec as run and the manifest. It needs nothing
  else to open (no scripts, no network);
- `DIR/figures/<name>.png` and `.svg`: each figure, for a paper;
- `DIR/tables/<name>.csv`: the summary tables behind the figures.

The figures fit the sweep: a backfire map (heatmap with its zero contour)
when two parameters are swept, lines along the parameter when one is, bars
when none is; time series, returns on concessions and break-even points,
referrals (when any happened) and a network snapshot (replayed from the
run's seed, for runs of at most `SNAPSHOT_MAX_N` negotiators).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from analysis import plots
from analysis.palette import strategy_colour
from analysis.summary import (
    LEVEL,
    SNAPSHOT_MAX_N,
    STRATEGY_METRICS,
    Advantage,
    Results,
    advantages,
    break_even_points,
    describe_interval,
    format_value,
    giving_advantage,
    load_results,
    paired_differences,
    parameter_label,
    rebuild_network,
    referrals_happened,
    representative_points,
    step_series,
    strategy_series,
    strategy_summary,
)
from experiments.spec import BASE_PAIR

FIGURE_NAMES = (
    "backfire_map",
    "advantage_lines",
    "advantage_bars",
    "payoff_by_strategy",
    "time_series",
    "returns_break_even",
    "referrals",
    "network",
)
# Strategy table columns of the report, in order.
REPORT_METRICS = (
    "payoff_per_deal",
    "cooperation",
    "reciprocation",
    "walk_rate",
    "referral_lift",
    "reputation",
    "return_on_concessions",
)


@dataclass
class ReportFigure:
    """A figure of the report: its files, what it shows in general and for this sweep."""

    name: str
    title: str
    shows: str
    reading: str
    png: Path
    svg: Path


@dataclass
class Headline:
    """The comparison the report is about: a giving advantage, or another pair's difference."""

    table: pl.DataFrame  # per point: paired_differences columns
    label: str  # axis label
    sentence: str  # what the number means
    advantage: Advantage | None
    pair: str
    metric: str


def build_report(
    results_dir: str | Path, *, snapshot: bool = True, max_snapshot_n: int = SNAPSHOT_MAX_N
) -> Path:
    """Write `results_dir/report.html`, its figures and tables; return the report's path.

    `snapshot=False` leaves out the network snapshot (which replays a run).
    Works on an unfinished sweep (reports what is there and what is
    missing) and leaves failed runs out (counted and listed).
    """
    results = load_results(results_dir)
    builder = _Builder(results, snapshot=snapshot, max_snapshot_n=max_snapshot_n)
    page = builder.build()
    out = results.path / "report.html"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


class _Builder:
    """Computes the tables, draws the figures the sweep calls for, and writes the page."""

    def __init__(self, results: Results, *, snapshot: bool, max_snapshot_n: int) -> None:
        self.r = results
        self.snapshot = snapshot
        self.max_snapshot_n = max_snapshot_n
        self.figdir = results.path / "figures"
        self.tabdir = results.path / "tables"
        self.figures: list[ReportFigure] = []
        self.notes: list[str] = []
        self.strategies = results.strategies
        self.labels = {p: parameter_label(p) for p in results.parameters}
        self.points = representative_points(results)
        self.panels = {p: results.point_label(p) for p in self.points}
        self.grid = (results.spec_data.get("sweep") or {}).get("design", "grid") == "grid"

    # ------------------------------------------------------------------ the page

    def build(self) -> str:
        self._clear_old_figures()
        self.summary = strategy_summary(self.r)
        self.paired = paired_differences(self.r)
        self.headline = self._headline()
        # A break-even point interpolates along a line of the grid; drawn designs have none.
        self.break_even = (
            break_even_points(self.r, self.headline.advantage)
            if self.headline is not None and self.headline.advantage is not None and self.grid
            else None
        )
        self._write_tables()
        steps: list[Callable[[], None]] = [
            self._figure_headline,
            self._figure_payoff_by_strategy,
            self._figure_time_series,
            self._figure_returns,
            self._figure_referrals,
            self._figure_network,
        ]
        for step in steps:
            step()
        return self._page()

    def _clear_old_figures(self) -> None:
        """Remove the figures a previous report wrote: a different choice would leave them stale."""
        if not self.figdir.is_dir():
            return
        for path in self.figdir.iterdir():
            if path.suffix in (".png", ".svg") and path.stem.split("-")[0] in FIGURE_NAMES:
                path.unlink()

    def _add(self, fig: Figure, name: str, title: str, shows: str, reading: str) -> None:
        png, svg = plots.save_figure(fig, self.figdir, name)
        self.figures.append(ReportFigure(name, title, shows, reading, png, svg))

    # ------------------------------------------------------------------ the headline comparison

    def _headline(self) -> Headline | None:
        found = advantages(self.r)
        if found:
            adv = found[0]
            table = giving_advantage(self.r, adv)
            return Headline(
                table,
                f"giving advantage (payoff per deal)\n{adv.label}",
                f"the payoff per deal of the negotiators placed as {adv.strategy}, giving (base run) "
                f"minus {_playing(adv.replacement)} (the '{adv.pair}' twin: same seed, network "
                "and placement)",
                adv,
                adv.pair,
                adv.metric,
            )
        if not self.r.pairs:
            self.notes.append(
                "The sweep has no paired counterfactual ([[pairs]] in the spec), so there is no "
                "giving advantage to measure: add a pair such as "
                'replace = { strategic = "holdout" }.'
            )
            return None
        pair = self.r.pairs[0]
        metric = (
            "placed_payoff_per_deal_strategic"
            if "placed_payoff_per_deal_strategic" in self.r.runs.columns
            else "payoff_per_deal"
        )
        table = paired_differences(self.r, pairs=[pair.name], metrics={pair.name: [metric]})
        who = "strategic negotiators'" if metric.endswith("strategic") else "population's"
        return Headline(
            table,
            f"payoff per deal, base minus '{pair.name}'",
            f"the {who} payoff per deal in the base run minus in its '{pair.name}' twin "
            f"(same seed; {_describe_pair(pair)})",
            None,
            pair.name,
            metric,
        )

    def _figure_headline(self) -> None:
        h = self.headline
        if h is None or h.table.height == 0:
            if h is not None:
                self.notes.append(
                    f"No (point, replicate) has both its base run and its '{h.pair}' twin "
                    "finished, so no paired difference can be shown yet."
                )
            return
        vary = self.r.varying
        reading = self._headline_reading(h)
        what = "giving advantage" if h.advantage else "paired difference"
        if len(vary) >= 2:
            x, y = vary[0], vary[1]
            pooled = len(vary) > 2
            table = h.table
            if pooled:
                table = paired_differences(
                    self.r, pairs=[h.pair], metrics={h.pair: [h.metric]}, by=[x, y]
                )
            title = (
                "Where giving pays and where it backfires" if h.advantage else "Paired difference"
            )
            labels = {"x_label": self.labels[x], "y_label": self.labels[y], "value_label": h.label}
            if self.grid:
                fig = plots.backfire_map(
                    table, x, y, title=title, giving=h.advantage is not None, **labels
                )
            else:
                fig = plots.advantage_scatter_map(table, x, y, title=title, **labels)
            shows = (
                f"The {what} ({h.sentence}) at each combination of {self.labels[x]} and "
                f"{self.labels[y]}, averaged over replicates: blue where giving paid, red where "
                "it backfired; the black line is the zero contour (where giving stops paying, "
                "interpolated between sweep points); hatched cells have a 95% interval that "
                "includes zero."
            )
            if pooled:
                others = ", ".join(self.labels[p] for p in vary[2:])
                shows += f" The other swept parameters ({others}) are averaged over."
            self._add(fig, "backfire_map", "The backfire map", shows, reading)
        elif len(vary) == 1:
            x = vary[0]
            series = self._all_advantages(by=["point", x])
            colours = {
                row["series"]: strategy_colour(row["replacement"], self.strategies)
                for row in series.select("series", "replacement").unique().iter_rows(named=True)
            }
            be = self.break_even
            if be is not None and h.advantage is not None:
                be = be.filter(pl.col("parameter") == x)
            fig = plots.advantage_lines(
                series,
                x,
                colours=colours,
                break_even=be,
                x_label=self.labels[x],
                value_label=h.label.split("\n")[0],
                title="Does giving pay along the sweep?",
            )
            shows = (
                f"The {what} ({h.sentence}) along {self.labels[x]}: mean over replicates with "
                "its 95% band; above zero giving paid, below it backfired; the diamond marks the "
                "break-even point (where the mean crosses zero) with its interval."
            )
            self._add(fig, "advantage_lines", "Giving advantage along the sweep", shows, reading)
        else:
            series = self._all_advantages(by=["point"])
            colours = {
                row["series"]: strategy_colour(row["replacement"], self.strategies)
                for row in series.select("series", "replacement").unique().iter_rows(named=True)
            }
            fig = plots.advantage_bars(
                series,
                label="series",
                colours=colours,
                value_label=h.label.split("\n")[0],
                title="Does giving pay?",
            )
            shows = (
                f"The {what} ({h.sentence}), mean over replicates with its 95% interval; one bar "
                "per paired counterfactual."
            )
            self._add(fig, "advantage_bars", "Giving advantage", shows, reading)

    def _all_advantages(self, by: Sequence[str]) -> pl.DataFrame:
        """Every measurable advantage (or the headline difference) as `series` rows."""
        h = self.headline
        assert h is not None
        frames = []
        found = advantages(self.r) if h.advantage else []
        for adv in found:
            t = giving_advantage(self.r, adv, by=by)
            frames.append(
                t.with_columns(
                    pl.lit(adv.label).alias("series"), pl.lit(adv.replacement).alias("replacement")
                )
            )
        if not frames:
            frames.append(
                h.table.with_columns(
                    pl.lit(f"base minus '{h.pair}'").alias("series"),
                    pl.lit("strategic").alias("replacement"),
                )
            )
        return pl.concat(frames, how="diagonal_relaxed")

    def _headline_reading(self, h: Headline) -> str:
        t = h.table.filter(pl.col("mean").is_not_null())
        if t.height == 0:
            return "No point has a finished pair of runs yet."
        pays = t.filter(pl.col("lo") > 0).height
        backfires = t.filter(pl.col("hi") < 0).height
        unclear = t.height - pays - backfires
        best = t.sort("mean", descending=True).row(0, named=True)
        worst = t.sort("mean").row(0, named=True)
        if h.advantage:
            what = h.advantage.label[0].upper() + h.advantage.label[1:]
            text = f"{what}: giving paid (95% interval above zero) at {pays} of {t.height} "
            text += "points, backfired (interval below zero) at "
        else:
            text = f"Base minus '{h.pair}': positive (95% interval above zero) at {pays} of "
            text += f"{t.height} points, negative (interval below zero) at "
        text += f"{backfires}, and could not be told from zero at {unclear}. "
        if self.r.varying:
            text += (
                f"Largest: {best['mean']:.3g} at {self.r.point_label(best['point'])}; "
                f"smallest: {worst['mean']:.3g} at {self.r.point_label(worst['point'])} "
                "(payoff per deal)."
            )
        else:
            text += f"Mean {describe_interval(best['mean'], best['lo'], best['hi'])}."
        if self.break_even is not None and self.break_even.height:
            text += " " + self._break_even_sentence()
        return text

    def _break_even_sentence(self) -> str:
        """'Along exploitative share giving stops paying at 0.596 (95% range 0.517 to ...) ...'."""
        be = self.break_even
        assert be is not None
        parts = []
        for x in be["parameter"].unique(maintain_order=True).to_list():
            rows = be.filter(pl.col("parameter") == x)
            label = self.labels.get(x, x)
            others = [c for c in self.r.varying if c in rows.columns and c != x]
            other = others[0] if others else None

            def where(row: dict[str, Any], other: str | None = other) -> str:
                if other is None or row.get(other) is None:
                    return ""
                return f" when {self.labels.get(other, other)} = {format_value(row[other])}"

            bits = []
            for row in rows.filter(pl.col("break_even").is_not_null()).iter_rows(named=True):
                band = _interval(row["ci_from"], row["ci_to"])
                band = f" (95% range {band})" if band != "-" else ""
                bits.append(f"{row['status']} at {row['break_even']:.3g}{band}{where(row)}")
            rest = rows.filter(pl.col("break_even").is_null())
            for status in rest["status"].unique(maintain_order=True).to_list():
                group = rest.filter(pl.col("status") == status)
                phrase = f"{status} the swept range" if "throughout" in status else status
                if other is None:
                    bits.append(phrase)
                    continue
                values = ", ".join(format_value(v) for v in group[other].to_list())
                bits.append(f"{phrase} when {self.labels.get(other, other)} = {values}")
            parts.append(f"along {label}, giving " + "; ".join(bits))
        return "Break-even: " + ". And ".join(parts) + "."

    # ------------------------------------------------------------------ by strategy

    def _figure_payoff_by_strategy(self) -> None:
        vary = self.r.varying
        x = vary[0] if vary else None
        # Drawn designs (random, Latin hypercube) have no second axis to make panels of.
        panel = vary[1] if len(vary) > 1 and self.grid else None
        by = [p for p in (x, panel) if p]
        table = strategy_summary(self.r, by=by) if len(vary) > 2 else self.summary
        table = table.filter(pl.col("pair") == BASE_PAIR)
        if table.filter(pl.col("metric") == "payoff_per_deal").height == 0:
            return
        fig = plots.strategy_lines(
            table,
            "payoff_per_deal",
            x,
            strategies=self.strategies,
            panel=panel,
            x_label=self.labels.get(x, x) if x else None,
            panel_label=self.labels.get(panel, panel) if panel else None,
            value_label="payoff per deal",
            title="Payoff per deal by strategy (base runs)",
            connect=self.grid or len(vary) == 1,
        )
        where = f" along {self.labels[x]}" if x else ""
        per = f", one panel per {self.labels[panel]}" if panel else ""
        shows = (
            f"Each strategy's payoff per deal (total payoff / deals over the run){where}{per}, "
            "mean over replicates with 95% bands, in the base runs (no replacement)."
        )
        if not self.grid and len(vary) > 1:
            others = ", ".join(self.labels[p] for p in vary[1:])
            shows += f" Each marker is a point of the design; {others} vary between markers."
        pay = table.filter(pl.col("metric") == "payoff_per_deal")
        means = (
            pay.group_by("strategy")
            .agg(pl.col("mean").mean())
            .sort("mean", descending=True)
            .iter_rows()
        )
        ranking = ", ".join(f"{s} {m:.3g}" for s, m in means)
        reading = f"Averaged over the shown points, payoff per deal ranks: {ranking}."
        self._add(fig, "payoff_by_strategy", "Payoff per deal by strategy", shows, reading)

    def _figure_time_series(self) -> None:
        if not self.points:
            return
        series = strategy_series(self.r, self.points)
        if series.height == 0:
            return
        metrics = {
            "payoff_per_deal": "payoff per deal",
            "share": "share",
            "reputation": "reputation",
        }
        share = series.filter(pl.col("metric") == "share")
        fixed_shares = bool(
            share.height == 0
            or share.group_by("point", "strategy")
            .agg((pl.col("mean").max() - pl.col("mean").min()).alias("range"))["range"]
            .max()
            < 1e-12
        )
        if fixed_shares:
            metrics.pop("share")
        fig = plots.time_series(
            series,
            self.panels,
            strategies=self.strategies,
            metrics=metrics,
            title="Over time, by strategy (base runs)",
        )
        rows = " and ".join(metrics.values())
        shows = (
            f"Per-step {rows} by strategy at {len(self.points)} points that span the sweep "
            "(one column each), mean over replicates with 95% bands."
        )
        if fixed_shares:
            shows += (
                " Shares never change in these runs (no strategy change), so they are not drawn."
            )
        last = series.filter(
            (pl.col("metric") == "payoff_per_deal")
            & (pl.col("step") == pl.col("step").max().over("point"))
        )
        leaders = []
        for point, label in self.panels.items():
            top = last.filter(pl.col("point") == point).sort("mean", descending=True)
            if top.height:
                leaders.append(f"{top['strategy'][0]} at {label}")
        reading = "Highest payoff per deal at the last step: " + "; ".join(leaders) + "."
        self._add(fig, "time_series", "Over time, by strategy", shows, reading)

    def _figure_returns(self) -> None:
        base = self.summary.filter(
            (pl.col("pair") == BASE_PAIR) & pl.col("point").is_in(self.points)
        )
        roc = base.filter(pl.col("metric") == "return_on_concessions")
        if roc.height == 0:
            return
        advantage = None
        be_params: list[str] = []
        h = self.headline
        if self.break_even is not None and h is not None and h.advantage is not None:
            be_params = [p for p in self.r.varying[:2] if self.r.is_numeric(p)]
            advantage = giving_advantage(self.r, h.advantage, by=self.r.varying[:2])
        fig = plots.returns_and_break_even(
            base,
            self.panels,
            strategies=self.strategies,
            advantage=advantage,
            break_even=self.break_even,
            parameters=be_params,
            labels=self.labels,
        )
        shows = (
            "Top: return on concessions ((value received + payoff of deals with referred "
            "partners) / cost of the concessions given) by strategy at points that span the "
            "sweep, mean over replicates with 95% whiskers; above 1 a strategy got back more than "
            "its gifts cost. Strategies that never give have no bar."
        )
        if be_params:
            shows += (
                " Bottom: for each value of the other parameter, the bar covers the range where "
                "the mean giving advantage is positive; the black whisker is the break-even point "
                "with its 95% interval (open where the interval leaves the swept range)."
            )
        lo, hi = roc["mean"].min(), roc["mean"].max()
        below = roc.filter(pl.col("mean") < 1)
        reading = f"Return on concessions ranges from {lo:.3g} to {hi:.3g} at the shown points"
        if below.height:
            who = sorted(set(below["strategy"].to_list()))
            reading += f"; below 1 (gifts not paid back) for {', '.join(who)} at some points."
        else:
            reading += "; every strategy that gave got back more than its gifts cost."
        if be_params and self.break_even is not None:
            reading += " " + self._break_even_sentence()
        title = "Return on concessions and break-even" if be_params else "Return on concessions"
        self._add(fig, "returns_break_even", title, shows, reading)

    # ------------------------------------------------------------------ referrals

    def _figure_referrals(self) -> None:
        if not referrals_happened(self.r):
            self.notes.append(
                "No referral happened in any finished run (reputation.referral_prob is 0 in this "
                "sweep, or no deal satisfied enough), so the referral figure is left out."
            )
            return
        growth = step_series(self.r, self.points, metrics=("new_contacts",))
        referral_pair = next(
            (p for p in self.r.pairs if p.set.get("reputation.referral_prob") == 0),
            None,
        )
        if referral_pair is not None:
            metrics = [
                f"placed_payoff_per_deal_{s}"
                for s in self.strategies
                if f"placed_payoff_per_deal_{s}" in self.r.runs.columns
            ]
            diff = paired_differences(
                self.r, pairs=[referral_pair.name], metrics={referral_pair.name: metrics}
            ).filter(pl.col("point").is_in(self.points))
            lift = diff.with_columns(
                pl.col("metric").str.replace("placed_payoff_per_deal_", "").alias("strategy")
            )
            label = f"payoff per deal: with referrals\nminus '{referral_pair.name}' twin"
            how = (
                f"the paired lift: each strategy's payoff per deal with referrals minus in the "
                f"'{referral_pair.name}' twin (same seed and network, referrals off)"
            )
        else:
            lift = self.summary.filter(
                (pl.col("pair") == BASE_PAIR)
                & (pl.col("metric") == "referral_lift")
                & pl.col("point").is_in(self.points)
            )
            label = "referral lift\n(referral deals per other deal)"
            how = (
                "the referral lift: deals with partners met through referrals per deal on the "
                "original network, by strategy"
            )
        fig = plots.referral_figure(
            lift, growth, self.panels, strategies=self.strategies, lift_label=label
        )
        shows = (
            f"Left: {how}, at points that span the sweep (base runs, mean and 95% whiskers). "
            "Right: contacts gained through referrals so far, by step (mean and 95% band)."
        )
        g = growth.filter(pl.col("step") == pl.col("step").max().over("point"))
        most = g.sort("mean", descending=True).row(0, named=True) if g.height else None
        reading = ""
        if most is not None:
            reading = (
                f"By the last step, up to {most['mean']:.3g} contacts had been gained by referral "
                f"(at {self.panels.get(most['point'], most['point'])}). "
            )
        if lift.height:
            top = lift.sort("mean", descending=True).row(0, named=True)
            reading += (
                f"The largest lift is {top['strategy']}'s, {top['mean']:.3g} at "
                f"{self.panels.get(top['point'], top['point'])}."
            )
        self._add(fig, "referrals", "Referral lift and the referral network", shows, reading)

    # ------------------------------------------------------------------ network

    def _figure_network(self) -> None:
        if not self.snapshot:
            self.notes.append("The network snapshot was not drawn (--no-snapshot).")
            return
        runs = self.r.ok_runs.filter(pl.col("pair") == BASE_PAIR)
        if runs.height == 0:
            return
        h = self.headline
        choice: list[tuple[int, str]] = []
        if h is not None and h.table.height > 1 and self.r.varying:
            t = h.table.filter(pl.col("mean").is_not_null())
            best = int(t.sort("mean", descending=True)["point"][0])
            worst = int(t.sort("mean")["point"][0])
            word = "giving paid most" if h.advantage else "the difference was largest"
            low = "giving paid least" if h.advantage else "the difference was smallest"
            choice = [(best, word), (worst, low)] if best != worst else [(best, word)]
        else:
            choice = [(int(runs["point"][0]), "")]
        snaps, titles, lines = [], [], []
        for point, why in choice:
            run = runs.filter(pl.col("point") == point).sort("replicate")
            if run.height == 0:
                continue
            row = run.row(0, named=True)
            n = self._run_size(row["run_id"])
            if n is not None and n > self.max_snapshot_n:
                self.notes.append(
                    f"The network snapshot is drawn only for runs of at most {self.max_snapshot_n} "
                    f"negotiators (this sweep's have {n}): it replays the run, and a larger "
                    "network would not be readable."
                )
                return
            try:
                snap = rebuild_network(self.r, row["run_id"], max_n=self.max_snapshot_n)
            except Exception as exc:  # a report without a snapshot is still a report
                self.notes.append(f"The network snapshot could not be drawn: {exc}")
                return
            label = self.r.point_label(point)
            refs = int((snap.origin[snap.active.astype(bool)] == 1).sum())
            heading = f"{why}: " if why else ""
            titles.append(
                f"{heading}{label}\nreplicate {snap.replicate}, step {snap.steps}, "
                f"{len(snap.strategy)} negotiators, {refs} referral contacts"
            )
            snaps.append(snap)
            if snap.reproduced is False:
                lines.append(
                    f"Warning: the replay of run {snap.run_id} does not match its stored agents "
                    "table (has the model changed since the sweep ran?); the picture shows the "
                    "replay."
                )
            elif snap.reproduced:
                lines.append(f"The replay of run {snap.run_id} matches its stored wealth exactly.")
        if not snaps:
            return
        fig = plots.network_snapshots(snaps, titles, strategies=self.strategies)
        shows = (
            "The referral network of a base run at its last step, rebuilt by replaying the run "
            "from its configuration and seed (the tables hold no edge list): nodes coloured by "
            "strategy and sized by wealth; grey lines are contacts of the original network, "
            "dashed blue lines contacts gained by referral. Drawn for runs of at most "
            f"{self.max_snapshot_n} negotiators."
        )
        reading = " ".join(lines) + " " + self._wealth_sentence(snaps)
        self._add(fig, "network", "Network snapshot", shows, reading.strip())

    def _run_size(self, run_id: str) -> int | None:
        """The run's number of negotiators, from the spec as run (None if unknown)."""
        pop = (self.r.spec_data.get("base") or {}).get("population") or {}
        n = pop.get("n")
        if "population.n" in self.r.runs.columns:
            n = self.r.runs.filter(pl.col("run_id") == run_id)["population.n"][0]
        return int(n) if isinstance(n, int | float) else None

    def _wealth_sentence(self, snaps: Sequence[Any]) -> str:
        bits = []
        for snap in snaps:
            w = np.asarray(snap.wealth)
            if not len(w):
                continue
            top = int(np.argmax(w))
            richest = (
                pl.DataFrame({"s": snap.strategy, "w": w}).group_by("s").agg(pl.col("w").mean())
            )
            best = richest.sort("w", descending=True).row(0)
            bits.append(
                f"richest on average: {best[0]} ({best[1]:.0f}); the richest negotiator plays "
                f"{snap.strategy[top]}"
            )
        return (
            ("In the snapshot" + ("s" if len(bits) > 1 else "") + ": " + "; ".join(bits) + ".")
            if bits
            else ""
        )

    # ------------------------------------------------------------------ tables

    def _write_tables(self) -> None:
        self.tabdir.mkdir(parents=True, exist_ok=True)
        self.summary.write_csv(self.tabdir / "strategy_summary.csv")
        self.paired.write_csv(self.tabdir / "paired_differences.csv")
        if self.headline is not None:
            self.headline.table.write_csv(self.tabdir / "giving_advantage.csv")
        if self.break_even is not None:
            self.break_even.write_csv(self.tabdir / "break_even.csv")
        failures = self.r.failures()
        if failures.height:
            failures.write_csv(self.tabdir / "failed_runs.csv")

    # ------------------------------------------------------------------ HTML

    def _page(self) -> str:
        r = self.r
        c = r.counts
        title = f"{r.name}: report"
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{CSS}</style></head><body><main>",
            f"<h1>{_e(r.name)}</h1>",
        ]
        if r.description:
            parts.append(f'<p class="lead">{_e(r.description)}</p>')
        parts.append(self._status_html())
        if self.headline is not None and self.headline.table.height:
            parts.append(
                f'<p class="finding"><strong>Finding.</strong> '
                f"{_e(self._headline_reading(self.headline))}</p>"
            )
        parts.append(self._swept_html())
        parts.append("<h2>Figures</h2>")
        for i, f in enumerate(self.figures, 1):
            raw = f.png.read_bytes()
            data = base64.b64encode(raw).decode("ascii")
            # Figures are saved at 150 dpi: shown at 100 px per inch they read at print size.
            width = int.from_bytes(raw[16:20], "big") * 100 // 150
            parts.append(
                f'<figure id="{_e(f.name)}"><img src="data:image/png;base64,{data}" '
                f'alt="{_e(f.title)}" style="width: {width}px"><figcaption><strong>Figure {i}. {_e(f.title)}.</strong> '
                f"{_e(f.shows)}<br><em>In this sweep:</em> {_e(f.reading)} "
                f'<span class="files">(files: figures/{_e(f.png.name)}, '
                f"figures/{_e(f.svg.name)})</span></figcaption></figure>"
            )
        if self.notes:
            parts.append("<h2>Notes</h2><ul>")
            parts += [f"<li>{_e(n)}</li>" for n in self.notes]
            parts.append("</ul>")
        parts.append(self._tables_html())
        parts.append(self._methods_html())
        parts.append("<h2>The spec as run</h2>")
        parts.append(f"<pre>{_e(r.spec_text or '(no spec.toml in the folder)')}</pre>")
        parts.append("<h2>Manifest</h2>")
        parts.append(f"<pre>{_e(json.dumps(r.manifest, indent=2, default=str))}</pre>")
        parts.append(
            f"<footer>Written by <code>concession report</code> from {_e(str(r.path))}; "
            f"{c.ok} finished runs.</footer></main></body></html>"
        )
        return "\n".join(parts) + "\n"

    def _status_html(self) -> str:
        r, c = self.r, self.r.counts
        planned = "unknown" if c.planned is None else str(c.planned)
        missing = "unknown" if c.missing is None else str(c.missing)
        state = r.manifest.get("status", "unknown")
        cls = "ok" if r.complete and c.failed == 0 else "warn"
        rows = [
            ("runs planned", planned),
            ("finished", str(c.ok)),
            ("failed (left out)", str(c.failed)),
            ("missing (not run yet)", missing),
            ("sweep status", str(state)),
            ("started", str(r.manifest.get("created") or r.manifest.get("started") or "-")),
            ("ended", str(r.manifest.get("ended") or "-")),
        ]
        body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        out = [f'<section class="status {cls}"><table class="kv">{body}</table>']
        if c.missing:
            out.append(
                f"<p><strong>The sweep is unfinished:</strong> {c.missing} of {planned} planned "
                "runs are missing. Everything below uses the runs that are there; resume the sweep "
                "with the same <code>concession sweep</code> command and report again.</p>"
            )
        if c.failed:
            fails = r.failures()
            items = "".join(
                f"<tr><td><code>{_e(str(row['run_id']))}</code></td><td>{row['point']}</td>"
                f"<td>{row['replicate']}</td><td>{_e(str(row['pair']))}</td>"
                f"<td>{_e(str(row.get('error') or '')[:300])}</td></tr>"
                for row in fails.head(20).iter_rows(named=True)
            )
            more = f"<p>... and {fails.height - 20} more.</p>" if fails.height > 20 else ""
            out.append(
                f"<p><strong>{c.failed} runs failed</strong> and are left out of every table and "
                "figure (a pair with a failed twin is dropped from the paired differences). "
                "Rerun them with <code>concession sweep ... --retry-failed</code>.</p>"
                '<table class="data"><tr><th>run</th><th>point</th><th>replicate</th>'
                f"<th>pair</th><th>error</th></tr>{items}</table>{more}"
            )
        out.append("</section>")
        return "".join(out)

    def _swept_html(self) -> str:
        r = self.r
        if not r.parameters:
            return "<p>No parameter is swept.</p>"
        items = []
        for p in r.parameters:
            values = sorted(r.ok_runs[p].unique().to_list(), key=plots._order)
            shown = ", ".join(format_value(v) for v in values)
            items.append(f"<li><code>{_e(p)}</code> ({_e(self.labels[p])}): {_e(shown)}</li>")
        pairs = "".join(
            f"<li><code>{_e(p.name)}</code>: {_e(_describe_pair(p))}</li>" for p in r.pairs
        )
        reps = r.spec_data.get("replicates", "?")
        steps = r.spec_data.get("steps", "?")
        n = ((r.spec_data.get("base") or {}).get("population") or {}).get("n", "?")
        out = (
            f"<h2>The sweep</h2><p>{len(r.points())} points x {reps} replicates, {steps} steps, "
            f"{n} negotiators per run. Swept:</p><ul>{''.join(items)}</ul>"
        )
        if pairs:
            out += f"<p>Paired counterfactuals (same seed and network as the base run):</p><ul>{pairs}</ul>"
        return out

    def _tables_html(self) -> str:
        out = ["<h2>Tables</h2>"]
        params = self.r.parameters
        h = self.headline
        if h is not None and h.table.height:
            t = h.table
            rows = []
            for row in t.iter_rows(named=True):
                verdict = (
                    "pays"
                    if (row["lo"] is not None and row["lo"] > 0)
                    else "backfires"
                    if (row["hi"] is not None and row["hi"] < 0)
                    else "unclear (CI includes 0)"
                )
                if h.advantage is None:
                    verdict = verdict.replace("pays", "positive").replace("backfires", "negative")
                rows.append(
                    [format_value(row[p]) for p in params]
                    + [
                        describe_interval(row["mean"], row["lo"], row["hi"]),
                        str(row["n"]),
                        _num(row["base_mean"]),
                        _num(row["pair_mean"]),
                        verdict,
                    ]
                )
            name = "Giving advantage" if h.advantage else "Paired difference"
            base_name, pair_name = (
                (f"{h.advantage.strategy} giving", _playing(h.advantage.replacement))
                if h.advantage
                else ("base", f"'{h.pair}' twin")
            )
            head = [self.labels[p] for p in params] + [
                "mean [95% CI]",
                "replicates",
                base_name,
                pair_name,
                "verdict",
            ]
            dropped = int(t["dropped"].max() or 0)
            note = (
                f" {dropped} replicate(s) were dropped because a twin is missing or failed."
                if dropped
                else ""
            )
            out.append(
                f"<h3>{name} per point</h3><p>{_e(h.sentence[0].upper() + h.sentence[1:])}; "
                f"payoff per deal.{_e(note)}</p>"
            )
            out.append(_html_table(head, rows))
        if self.break_even is not None and self.break_even.height:
            be = self.break_even
            rows = []
            for row in be.iter_rows(named=True):
                others = [
                    f"{self.labels.get(o, o)} = {format_value(row[o])}"
                    for o in params
                    if o in be.columns and o != row["parameter"] and row.get(o) is not None
                ]
                rows.append(
                    [
                        self.labels.get(row["parameter"], row["parameter"]),
                        ", ".join(others) or "-",
                        _num(row["break_even"]),
                        _interval(row["ci_from"], row["ci_to"]),
                        row["status"],
                    ]
                )
            out.append(
                "<h3>Break-even points</h3><p>Where the mean giving advantage crosses zero along "
                "one parameter (linear interpolation between the sweep values around the sign "
                "change), with the range where its 95% limits cross zero.</p>"
            )
            out.append(
                _html_table(["along", "with", "break-even", "95% range", "giving ..."], rows)
            )
        out.append(self._strategy_tables_html())
        if self.paired.height:
            rows = [
                [format_value(row[p]) for p in params]
                + [
                    row["pair"],
                    row["metric"],
                    describe_interval(row["mean"], row["lo"], row["hi"]),
                    str(row["n"]),
                    _num(row["base_mean"]),
                    _num(row["pair_mean"]),
                ]
                for row in self.paired.iter_rows(named=True)
            ]
            head = [self.labels[p] for p in params] + [
                "pair",
                "metric",
                "base minus twin [95% CI]",
                "replicates",
                "base",
                "twin",
            ]
            out.append(
                f"<details><summary>All paired differences ({len(rows)} rows; also "
                "tables/paired_differences.csv)</summary>" + _html_table(head, rows) + "</details>"
            )
        return "".join(out)

    def _strategy_tables_html(self) -> str:
        params = self.r.parameters
        out = []
        wide = self.summary.filter(pl.col("metric").is_in(REPORT_METRICS))
        for pair in [BASE_PAIR, *[p.name for p in self.r.pairs]]:
            part = wide.filter(pl.col("pair") == pair)
            if part.height == 0:
                continue
            rows = []
            keys = ["point", *params, "strategy"]
            for key, group in part.group_by(keys, maintain_order=True):
                cells = dict(
                    zip(group["metric"].to_list(), group.iter_rows(named=True), strict=True)
                )
                k = dict(zip(keys, key, strict=True))
                rows.append(
                    [format_value(k[p]) for p in params]
                    + [str(k["strategy"])]
                    + [
                        describe_interval(cells[m]["mean"], cells[m]["lo"], cells[m]["hi"])
                        if m in cells
                        else "-"
                        for m in REPORT_METRICS
                    ]
                )
            head = (
                [self.labels[p] for p in params]
                + ["strategy"]
                + [STRATEGY_METRICS[m].split(" (")[0] for m in REPORT_METRICS]
            )
            which = "base runs" if pair == BASE_PAIR else f"'{pair}' twins"
            opened = " open" if pair == BASE_PAIR and len(rows) <= 40 else ""
            out.append(
                f"<details{opened}><summary>By strategy, {which}: mean [95% CI] over replicates "
                f"({len(rows)} rows; also tables/strategy_summary.csv)</summary>"
                + _html_table(head, rows)
                + "</details>"
            )
        return "".join(out)

    def _methods_html(self) -> str:
        level = int(LEVEL * 100)
        return (
            "<h2>How the numbers are made</h2><ul>"
            "<li>Each figure is first computed per run as a ratio of totals over the run "
            "(payoff per deal = total payoff / deals; cooperation = closed deals in which the "
            "side gave / closed deals; reciprocation = giving deals in which the partner gave "
            "back / giving deals; walk-aways = deals walked away from / deals; referral lift = "
            "deals with partners met through referrals / other deals; return on concessions = "
            "(value received + payoff of referred deals) / cost given; reputation = mean belief "
            "others hold at the last step), then averaged over the replicates of a point.</li>"
            f"<li>Intervals are two-sided {level}% Student t intervals of that mean over "
            "replicates (runs are the unit of replication); one replicate gives no interval.</li>"
            "<li>Paired differences are taken within a (point, replicate): the base run minus "
            "its twin, which shares its seed, network, placement, items and BATNAs; the giving "
            "advantage compares the same negotiators (by the strategy they were placed as) "
            "giving and not giving.</li>"
            "<li>Break-even points are located by linear interpolation between the two sweep "
            "values where the mean changes sign; their range is where the interval's limits "
            "cross zero, interpolated the same way.</li>"
            "<li>Failed runs are left out and listed; an unfinished sweep is reported as far as "
            "it got.</li></ul>"
        )


# --------------------------------------------------------------------------- helpers

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1b1b1b;
       background: #fff; margin: 0; }
main { max-width: 1300px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.lead { font-size: 1.1rem; color: #444; margin-top: 0; }
.finding { background: #eef5fb; border-left: 4px solid #0072B2; padding: 0.6rem 0.9rem; }
.status { border-left: 4px solid #009E73; padding: 0.2rem 0.9rem; margin: 1rem 0; }
.status.warn { border-left-color: #D55E00; background: #fff6ef; }
figure { margin: 1.8rem 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.93rem; color: #333; margin-top: 0.4rem; }
.files { color: #777; font-size: 0.85rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.6rem 0 1rem; }
table.data th, table.data td { border-bottom: 1px solid #e3e3e3; padding: 0.2rem 0.6rem;
       text-align: right; white-space: nowrap; }
table.data th { background: #f5f5f5; position: sticky; top: 0; }
table.kv th { text-align: left; padding-right: 1rem; font-weight: 600; }
details { margin: 0.8rem 0; } summary { cursor: pointer; font-weight: 600; }
.scroll { overflow-x: auto; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
footer { margin-top: 2rem; color: #777; font-size: 0.85rem; }
"""


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.3g}"


def _interval(lo: Any, hi: Any) -> str:
    if lo is None and hi is None:
        return "-"
    left = "below the swept range" if lo is None else f"{lo:.3g}"
    right = "beyond the swept range" if hi is None else f"{hi:.3g}"
    return f"{left} to {right}"


def _playing(strategy: str) -> str:
    return "holding out" if strategy == "holdout" else f"playing {strategy}"


def _describe_pair(pair: Any) -> str:
    bits = [f"{s} negotiators play {t}" for s, t in pair.replace.items()]
    bits += [f"{k} = {format_value(v)}" for k, v in pair.set.items()]
    return "; ".join(bits) or "a counterfactual twin"


def _html_table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="data"><tr>{th}</tr>{body}</table></div>'
