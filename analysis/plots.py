"""Figures for a paper, drawn from the tidy frames of `analysis.summary`.

Every function returns a `matplotlib.figure.Figure` built without pyplot (no
global state, no display needed); `save_figure` writes it as PNG and SVG.
Colours come from `analysis.palette`: one colour per strategy everywhere
(Okabe-Ito, colour-blind safe), the referral colour for referral contacts,
and a diverging blue (giving pays) / red (giving backfires) map centred on
zero for paired differences. Bands and whiskers are the 95% intervals of the
summary frames.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.palette import REFERRAL_COLOUR, strategy_colour

# Readable defaults: sizes for a printed page, no chart junk, light grid.
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.8,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "svg.hashsalt": "concession-lab",  # the same figure gives the same SVG file
}
DIVERGING = "RdBu"  # red: giving backfires, blue: giving pays (blue is `strategic` too)
PAYS_COLOUR = matplotlib.colormaps[DIVERGING](0.8)
BACKFIRES_COLOUR = matplotlib.colormaps[DIVERGING](0.2)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
BAND_ALPHA = 0.2


def style() -> Any:
    """A context manager that applies `STYLE` (use around building and saving a figure)."""
    return matplotlib.rc_context(STYLE)


def _figure(width: float, height: float) -> Figure:
    with style():
        return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, folder: str | Path, name: str) -> tuple[Path, Path]:
    """Write `fig` as `folder/name.png` and `folder/name.svg`; returns both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    with style():
        fig.savefig(png)
        # The layout was solved for the PNG; solving it again for the SVG doubles the time.
        engine = fig.get_layout_engine()
        fig.set_layout_engine("none")
        fig.savefig(svg, metadata={"Date": None})
        fig.set_layout_engine(engine)
    return png, svg


def _colours(strategies: Sequence[str]) -> dict[str, str]:
    known = list(strategies)
    return {s: strategy_colour(s, known) for s in known}


def _marker(strategies: Sequence[str], s: str) -> str:
    return MARKERS[list(strategies).index(s) % len(MARKERS)] if s in strategies else "o"


def _axis_values(values: Sequence[Any]) -> tuple[np.ndarray, list[str], bool]:
    """Plot positions of a parameter's values: the numbers themselves, or 0..k-1 for categories."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    labels = [_fmt(v) for v in values]
    if numeric:
        return np.asarray(values, dtype=np.float64), labels, True
    return np.arange(len(values), dtype=np.float64), labels, False


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _wrap(label: str) -> str:
    """A point's label ('a 1, b 2') one parameter per line, for crowded tick labels.

    A single 'name value' label puts the value on a line of its own.
    """
    if ", " in label:
        return label.replace(", ", "\n")
    name, _, value = label.rpartition(" ")
    return f"{name}\n{value}" if name else label


def _note(ax: Any, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="0.35",
        wrap=True,
    )


# --------------------------------------------------------------------------- backfire map


def backfire_map(
    table: pl.DataFrame,
    x: str,
    y: str,
    *,
    x_label: str | None = None,
    y_label: str | None = None,
    value_label: str = "giving advantage (payoff per deal)",
    title: str = "Where giving pays and where it backfires",
    giving: bool = True,
) -> Figure:
    """Heatmap of a paired difference over two swept parameters, with its zero contour.

    `table`: one row per (x, y) cell with `mean`, `lo`, `hi`. Cells are
    blue where giving paid and red where it backfired, on a scale
    symmetric about zero; each cell shows its mean; hatched cells have a
    95% interval that includes zero. The black line is the zero contour
    (linear between cell centres): where giving stops paying. `giving=False`
    words it as a plain paired difference (base minus twin).
    """
    xs = sorted(table[x].unique().to_list(), key=_order)
    ys = sorted(table[y].unique().to_list(), key=_order)
    grid = np.full((len(ys), len(xs)), np.nan)
    lo = np.full_like(grid, np.nan)
    hi = np.full_like(grid, np.nan)
    for row in table.iter_rows(named=True):
        i, j = ys.index(row[y]), xs.index(row[x])
        grid[i, j] = np.nan if row["mean"] is None else row["mean"]
        lo[i, j] = np.nan if row["lo"] is None else row["lo"]
        hi[i, j] = np.nan if row["hi"] is None else row["hi"]
    fig = _figure(max(5.0, 1.0 + 1.0 * len(xs)), max(3.8, 1.4 + 0.7 * len(ys)))
    with style():
        ax = fig.add_subplot()
        ax.grid(False)
        limit = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
        limit = limit if limit > 0 else 1.0
        norm = Normalize(vmin=-limit, vmax=limit)
        mesh = ax.pcolormesh(
            np.arange(len(xs) + 1) - 0.5,
            np.arange(len(ys) + 1) - 0.5,
            np.ma.masked_invalid(grid),
            cmap=DIVERGING,
            norm=norm,
            shading="flat",
        )
        cbar = fig.colorbar(mesh, ax=ax, shrink=0.9)
        cbar.set_label(value_label)
        cbar.ax.axhline(0.0, color="black", linewidth=1.5)
        small = len(xs) * len(ys) > 80
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = grid[i, j]
                if np.isnan(v):
                    ax.text(j, i, "no data", ha="center", va="center", fontsize=7, color="0.4")
                    continue
                if not np.isnan(lo[i, j]) and lo[i, j] <= 0.0 <= hi[i, j]:
                    ax.add_patch(
                        matplotlib.patches.Rectangle(
                            (j - 0.5, i - 0.5),
                            1,
                            1,
                            fill=False,
                            hatch="///",
                            edgecolor="0.45",
                            linewidth=0,
                        )
                    )
                dark = abs(v) > 0.6 * limit
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7 if small else 9,
                    color="white" if dark else "black",
                )
        finite = np.isfinite(grid)
        crosses = finite.any() and np.nanmin(grid) < 0 < np.nanmax(grid)
        if crosses and len(xs) > 1 and len(ys) > 1:
            ax.contour(
                np.arange(len(xs)),
                np.arange(len(ys)),
                np.ma.masked_invalid(grid),
                levels=[0.0],
                colors="black",
                linewidths=2.2,
                zorder=4,  # above the cells' numbers: a small backfire region stays visible
            )
        ax.set_xticks(range(len(xs)), [_fmt(v) for v in xs])
        ax.set_yticks(range(len(ys)), [_fmt(v) for v in ys])
        ax.set_xlabel(x_label or x)
        ax.set_ylabel(y_label or y)
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.set_ylim(-0.5, len(ys) - 0.5)
        hatch = "hatched: 95% CI includes 0"
        if not finite.any():
            subtitle = "no finished pair of runs"
        elif crosses:
            where = "giving stops paying" if giving else "the difference changes sign"
            subtitle = f"black line: zero contour ({where}); {hatch}"
        elif np.nanmin(grid) >= 0:
            what = "giving paid" if giving else "the difference was positive"
            subtitle = f"{what} on average at every point; {hatch}"
        else:
            what = "giving backfired" if giving else "the difference was negative"
            subtitle = f"{what} on average at every point; {hatch}"
        # Long texts inside the axes' box would shrink the map under constrained layout.
        fig.suptitle(title, x=0.02, ha="left", fontweight="bold")
        ax.set_title(subtitle, loc="left", fontsize=8.5, color="0.3", fontweight="normal")
        # Say on the scale itself which end is which: no legend box to crowd the map.
        ends = ("pays", "backfires") if giving else ("base higher", "twin higher")
        for y_pos, va, text in ((1.01, "bottom", ends[0]), (-0.01, "top", ends[1])):
            cbar.ax.text(
                0.5, y_pos, text, transform=cbar.ax.transAxes, ha="center", va=va, fontsize=8.5
            )
    return fig


def _order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float) and not isinstance(v, bool) else (1, str(v))


def advantage_scatter_map(
    table: pl.DataFrame,
    x: str,
    y: str,
    *,
    x_label: str | None = None,
    y_label: str | None = None,
    value_label: str = "giving advantage (payoff per deal)",
    title: str = "Where giving pays and where it backfires",
) -> Figure:
    """The backfire map of a random or Latin hypercube design: points coloured by the mean.

    The zero contour is interpolated on a triangulation of the points.
    """
    fig = _figure(6.0, 4.5)
    with style():
        ax = fig.add_subplot()
        xv = table[x].cast(pl.Float64).to_numpy()
        yv = table[y].cast(pl.Float64).to_numpy()
        mean = table["mean"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        limit = np.nanmax(np.abs(mean)) if np.isfinite(mean).any() else 1.0
        limit = limit if limit > 0 else 1.0
        sc = ax.scatter(
            xv, yv, c=mean, cmap=DIVERGING, norm=Normalize(-limit, limit), s=60, edgecolor="0.3"
        )
        cbar = fig.colorbar(sc, ax=ax)
        cbar.set_label(value_label)
        for px, py, m in zip(xv, yv, mean, strict=True):
            if np.isfinite(m):
                ax.annotate(
                    f"{m:.2f}",
                    (px, py),
                    textcoords="offset points",
                    xytext=(6, 4),
                    fontsize=7.5,
                    color="0.25",
                )
        ok = np.isfinite(mean)
        if ok.sum() >= 3 and np.nanmin(mean) < 0 < np.nanmax(mean):
            # Collinear points have no triangulation: then there is no contour to draw.
            with contextlib.suppress(ValueError, RuntimeError):
                ax.tricontour(xv[ok], yv[ok], mean[ok], levels=[0.0], colors="black", linewidths=2)
        ax.set_xlabel(x_label or x)
        ax.set_ylabel(y_label or y)
        ax.set_title(title, loc="left")
    return fig


# --------------------------------------------------------------------------- advantage, 1 or 0 params


def advantage_lines(
    table: pl.DataFrame,
    x: str,
    *,
    series: str = "series",
    colours: Mapping[str, str] | None = None,
    break_even: pl.DataFrame | None = None,
    x_label: str | None = None,
    value_label: str = "giving advantage (payoff per deal)",
    title: str = "Does giving pay along the sweep?",
) -> Figure:
    """A paired difference along one swept parameter, one line per `series`, with 95% bands.

    `break_even` (rows with `break_even`, `ci_from`, `ci_to`) marks where
    the mean crosses zero, with its interval as a horizontal whisker.
    """
    fig = _figure(6.5, 4.0)
    with style():
        ax = fig.add_subplot()
        values = sorted(table[x].unique().to_list(), key=_order)
        pos, labels, numeric = _axis_values(values)
        where = dict(zip(values, pos, strict=True))
        names = table[series].unique(maintain_order=True).to_list() if series in table else [None]
        for k, name in enumerate(names):
            part = table if name is None else table.filter(pl.col(series) == name)
            part = part.sort(x)
            px = np.array([where[v] for v in part[x].to_list()])
            colour = (colours or {}).get(name, f"C{k}") if name is not None else "C0"
            ax.plot(px, part["mean"].to_numpy(), marker="o", color=colour, label=name)
            lo = part["lo"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            hi = part["hi"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            ax.fill_between(px, lo, hi, color=colour, alpha=BAND_ALPHA, linewidth=0)
        ax.axhline(0.0, color="black", linewidth=1.0)
        if break_even is not None and numeric:
            for row in break_even.filter(pl.col("break_even").is_not_null()).iter_rows(named=True):
                b = row["break_even"]
                ax.axvline(b, color="0.3", linestyle="--", linewidth=1.0)
                left = row["ci_from"] if row["ci_from"] is not None else b
                right = row["ci_to"] if row["ci_to"] is not None else b
                ax.errorbar(
                    [b], [0.0], xerr=[[b - left], [right - b]], fmt="D", color="black", capsize=4
                )
                ax.annotate(
                    f"break-even {b:.3g}",
                    (b, 0.0),
                    textcoords="offset points",
                    xytext=(5, 8),
                    fontsize=8.5,
                )
        if not numeric:
            ax.set_xticks(pos, labels)
        ax.set_xlabel(x_label or x)
        ax.set_ylabel(value_label)
        ax.set_title(title, loc="left")
        if names != [None]:
            ax.legend()
    return fig


def advantage_bars(
    table: pl.DataFrame,
    *,
    label: str = "series",
    colours: Mapping[str, str] | None = None,
    value_label: str = "giving advantage (payoff per deal)",
    title: str = "Does giving pay?",
) -> Figure:
    """Bars of paired differences (one per `label`) with 95% whiskers: a sweep of one point."""
    fig = _figure(5.5, 3.8)
    with style():
        ax = fig.add_subplot()
        names = table[label].to_list()
        mean = table["mean"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        err = _whiskers(table)
        colour = [(colours or {}).get(n, "C0") for n in names]
        ax.bar(range(len(names)), mean, color=colour, yerr=err, capsize=5, alpha=0.9)
        ax.axhline(0.0, color="black", linewidth=1.0)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel(value_label)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", visible=False)
    return fig


def _whiskers(table: pl.DataFrame) -> np.ndarray:
    mean = table["mean"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    lo = table["lo"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    hi = table["hi"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return np.nan_to_num(np.vstack([mean - lo, hi - mean]), nan=0.0)


def _grouped_bars(
    ax: Axes,
    table: pl.DataFrame,
    panels: Mapping[Any, str],
    strategies: Sequence[str],
    colours: Mapping[str, str],
) -> list[str]:
    """One group of bars per panel point, one bar per strategy with its 95% whiskers.

    `table` has rows per `point` and `strategy` with `mean`, `lo`, `hi`;
    returns the strategies drawn (those present in `table`), in order.
    """
    present = [s for s in strategies if s in set(table["strategy"].to_list())]
    width = 0.8 / max(1, len(present))
    for k, s in enumerate(present):
        means, errs = [], []
        for point in panels:
            row = table.filter((pl.col("point") == point) & (pl.col("strategy") == s))
            means.append(row["mean"][0] if row.height else np.nan)
            errs.append(_whiskers(row)[:, 0] if row.height else np.zeros(2))
        xpos = np.arange(len(panels)) + (k - (len(present) - 1) / 2) * width
        ax.bar(
            xpos, means, width=width, color=colours[s], yerr=np.array(errs).T, capsize=2, label=s
        )
    return present


# --------------------------------------------------------------------------- by strategy across the sweep


def strategy_lines(
    summary: pl.DataFrame,
    metric: str,
    x: str | None,
    *,
    strategies: Sequence[str],
    panel: str | None = None,
    x_label: str | None = None,
    panel_label: str | None = None,
    value_label: str | None = None,
    title: str | None = None,
    connect: bool = True,
) -> Figure:
    """A per-strategy metric across the sweep: lines along `x` (one panel per value of `panel`).

    `summary` is `strategy_summary` filtered to one pair. Without `x` (a
    sweep of one point) the strategies are bars. `connect=False` (points of
    a drawn design, where other parameters vary too) draws each point with
    its whisker and no line or band.
    """
    part = summary.filter(pl.col("metric") == metric)
    colours = _colours(strategies)
    present = [s for s in strategies if s in set(part["strategy"].to_list())]
    panels = sorted(part[panel].unique().to_list(), key=_order) if panel else [None]
    fig = _figure(min(16.0, 1.5 + 3.6 * len(panels)), 3.8)
    with style():
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, pv in zip(axes, panels, strict=True):
            sub = part if pv is None else part.filter(pl.col(panel) == pv)
            if x is None:
                rows = [sub.filter(pl.col("strategy") == s) for s in present]
                mean = [r["mean"][0] if r.height else np.nan for r in rows]
                err = np.hstack([_whiskers(r) if r.height else np.zeros((2, 1)) for r in rows])
                ax.bar(
                    range(len(present)),
                    mean,
                    yerr=err,
                    color=[colours[s] for s in present],
                    capsize=4,
                )
                ax.set_xticks(range(len(present)), present, rotation=30, ha="right")
                ax.grid(axis="x", visible=False)
            else:
                values = sorted(sub[x].unique().to_list(), key=_order)
                pos, labels, numeric = _axis_values(values)
                where = dict(zip(values, pos, strict=True))
                for s in present:
                    line = sub.filter(pl.col("strategy") == s).sort(x)
                    if not line.height:
                        continue
                    px = np.array([where[v] for v in line[x].to_list()])
                    if not connect:
                        ax.errorbar(
                            px,
                            line["mean"].to_numpy(),
                            yerr=_whiskers(line),
                            color=colours[s],
                            marker=_marker(strategies, s),
                            markersize=5,
                            linestyle="",
                            capsize=2,
                            label=s,
                        )
                        continue
                    ax.plot(
                        px,
                        line["mean"].to_numpy(),
                        color=colours[s],
                        marker=_marker(strategies, s),
                        markersize=4,
                        label=s,
                    )
                    ax.fill_between(
                        px,
                        line["lo"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                        line["hi"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                        color=colours[s],
                        alpha=BAND_ALPHA * 0.8,
                        linewidth=0,
                    )
                if not numeric:
                    ax.set_xticks(pos, labels)
                ax.set_xlabel(x_label or x)
            if pv is not None:
                ax.set_title(f"{panel_label or panel} = {_fmt(pv)}", fontsize=10, loc="left")
        axes[0].set_ylabel(value_label or metric)
        if x is not None:
            handles = [
                Line2D([], [], color=colours[s], marker=_marker(strategies, s), label=s)
                for s in present
            ]
            fig.legend(handles=handles, loc="outside right center")
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    return fig


# --------------------------------------------------------------------------- over time


def time_series(
    series: pl.DataFrame,
    panels: Mapping[int, str],
    *,
    strategies: Sequence[str],
    metrics: Mapping[str, str],
    title: str = "Over time, by strategy",
) -> Figure:
    """Per-step means by strategy with 95% bands: one row per metric, one column per point.

    `series` is `strategy_series`; `panels` maps a point to its column title;
    `metrics` maps a metric to its axis label, in row order.
    """
    colours = _colours(strategies)
    rows, cols = len(metrics), len(panels)
    fig = _figure(min(16.0, 1.6 + 3.4 * cols), 0.6 + 2.3 * rows)
    with style():
        axes = fig.subplots(rows, cols, sharex=True, sharey="row", squeeze=False)
        present = [s for s in strategies if s in set(series["strategy"].to_list())]
        for r, (metric, label) in enumerate(metrics.items()):
            for c, (point, heading) in enumerate(panels.items()):
                ax = axes[r][c]
                part = series.filter((pl.col("point") == point) & (pl.col("metric") == metric))
                for s in present:
                    line = part.filter(pl.col("strategy") == s).sort("step")
                    if not line.height:
                        continue
                    step = line["step"].to_numpy()
                    ax.plot(step, line["mean"].to_numpy(), color=colours[s], linewidth=1.4)
                    ax.fill_between(
                        step,
                        line["lo"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                        line["hi"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                        color=colours[s],
                        alpha=BAND_ALPHA,
                        linewidth=0,
                    )
                if r == 0:
                    ax.set_title(heading, fontsize=9.5, loc="left")
                if c == 0:
                    ax.set_ylabel(label)
                if r == rows - 1:
                    ax.set_xlabel("step")
        handles = [Line2D([], [], color=colours[s], label=s) for s in present]
        fig.legend(handles=handles, loc="outside right center")
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    return fig


# --------------------------------------------------------------------------- returns and break-even


def returns_and_break_even(
    returns: pl.DataFrame,
    panels: Mapping[int, str],
    *,
    strategies: Sequence[str],
    advantage: pl.DataFrame | None = None,
    break_even: pl.DataFrame | None = None,
    parameters: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Return on concessions by strategy, and where giving pays along each swept parameter.

    Top: grouped bars of return on concessions ((value received + payoff of
    referred deals) / cost given) per strategy at the points of `panels`,
    with 95% whiskers; 1 means a negotiator got back exactly what its gifts
    cost. Bottom (one panel per numeric swept parameter in `parameters`):
    for each value of the other parameter, a bar over the range where the
    mean giving advantage (`advantage`, per point) is positive, ending at the
    break-even point with its 95% interval (`break_even`).
    """
    labels = dict(labels or {})
    colours = _colours(strategies)
    be_params = [p for p in parameters if break_even is not None and advantage is not None]
    fig = _figure(max(7.0, 4.0 * max(1, len(be_params))), 3.8 + (3.2 if be_params else 0.0))
    with style():
        if be_params:
            grid = fig.add_gridspec(2, len(be_params), height_ratios=[1.1, 1.0])
            top = fig.add_subplot(grid[0, :])
            bottoms = [fig.add_subplot(grid[1, k]) for k in range(len(be_params))]
        else:
            top, bottoms = fig.add_subplot(), []
        part = returns.filter(pl.col("metric") == "return_on_concessions")
        present = _grouped_bars(top, part, panels, strategies, colours)
        top.axhline(1.0, color="black", linewidth=1.0, linestyle="--")
        # A ratio: equal steps up and down from 1 should look equal, and a rare giver's
        # huge return must not flatten everyone else's.
        top.set_yscale("log")
        top.set_xticks(range(len(panels)), [_wrap(v) for v in panels.values()], fontsize=8.5)
        top.set_ylabel("return on concessions\n(log scale; 1 = got back its cost)")
        top.set_title("Return on concessions by strategy", loc="left")
        top.grid(axis="x", visible=False)
        if present:
            top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        else:
            _note(top, "no strategy gave anything")
        for ax, x in zip(bottoms, be_params, strict=True):
            _pays_bars(ax, advantage, break_even, x, [p for p in parameters if p != x], labels)
    return fig


def positive_segments(xs: np.ndarray, ys: np.ndarray) -> list[tuple[float, float]]:
    """The intervals of x where the piecewise-linear curve through (xs, ys) is above zero."""
    segments: list[tuple[float, float]] = []
    start: float | None = None
    for i in range(len(xs)):
        if np.isnan(ys[i]):
            if start is not None:
                segments.append((start, float(xs[i - 1])))
                start = None
            continue
        if ys[i] > 0 and start is None:
            prev = ys[i - 1] if i > 0 else np.nan
            if prev < 0:
                start = float(xs[i - 1] + (0 - prev) * (xs[i] - xs[i - 1]) / (ys[i] - prev))
            else:  # the first value, after a gap, or after an exact zero
                start = float(xs[i - 1] if prev == 0 else xs[i])
        elif ys[i] <= 0 and start is not None:
            if ys[i] < 0:
                end = float(xs[i - 1] + (0 - ys[i - 1]) * (xs[i] - xs[i - 1]) / (ys[i] - ys[i - 1]))
            else:
                end = float(xs[i])
            segments.append((start, end))
            start = None
    if start is not None:
        segments.append((start, float(xs[-1])))
    return segments


def _pays_bars(
    ax: Any,
    advantage: pl.DataFrame,
    break_even: pl.DataFrame,
    x: str,
    others: Sequence[str],
    labels: Mapping[str, str],
) -> None:
    other = others[0] if others else None
    groups = sorted(advantage[other].unique().to_list(), key=_order) if other else [None]
    xs_all = sorted(advantage[x].unique().to_list())
    for k, g in enumerate(groups):
        part = advantage if g is None else advantage.filter(pl.col(other) == g)
        part = part.group_by(x).agg(pl.col("mean").mean()).sort(x)
        xs = part[x].cast(pl.Float64).to_numpy()
        ys = part["mean"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        for a, b in positive_segments(xs, ys):
            ax.barh(k, max(b - a, 0.0), left=a, height=0.6, color=PAYS_COLOUR)
        rows = break_even.filter(pl.col("parameter") == x)
        if other is not None and other in rows.columns:
            rows = rows.filter(pl.col(other) == g)
        for row in rows.filter(pl.col("break_even").is_not_null()).iter_rows(named=True):
            b = row["break_even"]
            left = row["ci_from"] if row["ci_from"] is not None else b
            right = row["ci_to"] if row["ci_to"] is not None else b
            ax.errorbar(
                [b],
                [k],
                xerr=[[b - left], [right - b]],
                fmt="|",
                color="black",
                capsize=4,
                markersize=12,
                markeredgewidth=2,
            )
        if not positive_segments(xs, ys):
            ax.text(xs_all[0], k, " backfires throughout", va="center", fontsize=8, color="0.3")
    ax.set_yticks(range(len(groups)), [_fmt(g) if g is not None else "" for g in groups])
    if other:
        ax.set_ylabel(labels.get(other, other))
    ax.set_xlim(min(xs_all), max(xs_all))
    ax.set_xlabel(labels.get(x, x))
    ax.set_title(f"Where giving pays\nalong {labels.get(x, x)}", loc="left", fontsize=10)
    ax.grid(axis="y", visible=False)


# --------------------------------------------------------------------------- referrals


def referral_figure(
    lift: pl.DataFrame,
    growth: pl.DataFrame,
    panels: Mapping[int, str],
    *,
    strategies: Sequence[str],
    lift_label: str = "referral lift (referral deals per other deal)",
) -> Figure:
    """Referral lift by strategy (left) and the growth of the referral network (right).

    `lift`: rows per `point` (of `panels`) and `strategy` with `mean`, `lo`,
    `hi`. `growth`: `step_series` with metric `new_contacts` (cumulative
    contacts gained by referral), one line per point with a 95% band.
    """
    colours = _colours(strategies)
    fig = _figure(12.0, 4.0)
    with style():
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1.0]})
        present = _grouped_bars(left, lift, panels, strategies, colours)
        left.axhline(0.0, color="black", linewidth=0.8)
        left.set_xticks(range(len(panels)), [_wrap(v) for v in panels.values()], fontsize=8)
        left.set_ylabel(lift_label)
        left.set_title("Referral lift by strategy", loc="left")
        left.grid(axis="x", visible=False)
        if present:
            left.legend(fontsize=8, ncols=2)
        cmap = matplotlib.colormaps["viridis"]
        part = growth.filter(pl.col("metric") == "new_contacts")
        for k, (point, label) in enumerate(panels.items()):
            line = part.filter(pl.col("point") == point).sort("step")
            if not line.height:
                continue
            colour = cmap(k / max(1, len(panels) - 1) * 0.85)
            step = line["step"].to_numpy()
            right.plot(step, line["mean"].to_numpy(), color=colour, label=label)
            right.fill_between(
                step,
                line["lo"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                line["hi"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                color=colour,
                alpha=BAND_ALPHA,
                linewidth=0,
            )
        right.set_xlabel("step")
        right.set_ylabel("contacts gained by referral (cumulative)")
        right.set_title("Growth of the referral network", loc="left")
        right.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- network snapshot


def network_layout(n: int, u: np.ndarray, v: np.ndarray, seed: int = 0) -> np.ndarray:
    """Node positions (n x 2) by a force-directed layout, seeded; fewer iterations for big graphs."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(u.tolist(), v.tolist(), strict=True))
    iterations = 50 if n <= 1000 else 25
    pos = nx.spring_layout(graph, seed=seed, iterations=iterations)
    return np.array([pos[i] for i in range(n)])


def network_snapshot(
    snapshot: Any,
    *,
    strategies: Sequence[str],
    title: str | None = None,
    ax: Any = None,
    fig: Figure | None = None,
    layout_seed: int = 0,
) -> Figure:
    """The network of one run at its end: nodes coloured by strategy and sized by wealth.

    `snapshot` is a `summary.Snapshot`. Contacts on the original network are
    thin grey lines; contacts gained by referral are dashed lines in the
    referral colour. Active contacts only (dropped ones are not drawn).
    """
    from matplotlib.collections import LineCollection

    colours = _colours(strategies)
    n = len(snapshot.strategy)
    active = snapshot.active.astype(bool)
    u, v, origin = snapshot.u[active], snapshot.v[active], snapshot.origin[active]
    xy = network_layout(n, u, v, seed=layout_seed)
    if fig is None:
        fig = _figure(7.0, 6.5)
    with style():
        if ax is None:
            ax = fig.add_subplot()
        ax.set_axis_off()
        graph_edges = origin == 0
        segs = np.stack([xy[u], xy[v]], axis=1)
        lw = 0.5 if n <= 500 else 0.2
        ax.add_collection(
            LineCollection(segs[graph_edges], colors="0.55", linewidths=lw, alpha=0.5, zorder=1)
        )
        if (~graph_edges).any():
            ax.add_collection(
                LineCollection(
                    segs[~graph_edges],
                    colors=REFERRAL_COLOUR,
                    linewidths=max(0.6, 2 * lw),
                    linestyles="--",
                    alpha=0.8,
                    zorder=2,
                )
            )
        w = np.asarray(snapshot.wealth, dtype=np.float64)
        span = np.ptp(w) if len(w) and np.ptp(w) > 0 else 1.0
        base = 60.0 if n <= 300 else (20.0 if n <= 2000 else 8.0)
        size = base * (0.15 + 1.6 * (w - w.min()) / span) if len(w) else w
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=size,
            c=[colours.get(s, "0.5") for s in snapshot.strategy],
            edgecolors="white",
            linewidths=0.4 if n <= 500 else 0.0,
            zorder=3,
        )
        ax.autoscale_view()
        present = [s for s in strategies if s in set(snapshot.strategy)]
        handles = [
            Line2D([], [], marker="o", linestyle="", color=colours[s], label=s) for s in present
        ]
        handles.append(Line2D([], [], color="0.55", label="contact on the network"))
        if (~graph_edges).any():
            handles.append(
                Line2D([], [], color=REFERRAL_COLOUR, linestyle="--", label="contact by referral")
            )
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        refs = int((~graph_edges).sum())
        ax.set_title(
            title or f"Network at step {snapshot.steps}: {n} negotiators, {refs} referral contacts",
            loc="left",
            fontsize=10,
        )
        ax.text(
            0.0,
            -0.02,
            "node size: wealth at the end",
            transform=ax.transAxes,
            fontsize=8,
            color="0.3",
            va="top",
        )
    return fig


def network_snapshots(
    snapshots: Sequence[Any], titles: Sequence[str], *, strategies: Sequence[str]
) -> Figure:
    """Network snapshots side by side (e.g. where giving paid most and least)."""
    fig = _figure(6.5 * len(snapshots), 6.0)
    with style():
        axes = fig.subplots(1, len(snapshots), squeeze=False)[0]
        for ax, snap, title in zip(axes, snapshots, titles, strict=True):
            network_snapshot(snap, strategies=strategies, title=title, ax=ax, fig=fig)
    return fig
