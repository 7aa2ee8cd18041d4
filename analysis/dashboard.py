"""The classroom dashboard: reciprocity dynamics live in the browser.

`concession dashboard` serves this page with Solara. An instructor picks a
teaching preset (each says in one sentence what it shows), presses Step or
Play, and the class watches the referral network: nodes coloured by strategy
and sized by wealth or reputation, the deals of the last step drawn as edges
coloured by outcome, referral contacts dashed. Plots below follow payoff per
deal, cooperation, reputation and referrals by strategy as the model steps.

How the page is built on `mesa.visualization`: Mesa's `SolaraViz` gives the
title bar, the run controls (`ModelController`: Reset, Play/Pause, Step, the
play interval) and the seed; the model is a `DashboardModel`, a
`ConcessionModel` built from a flat set of classroom settings. Two things in
Mesa 3.3.1 decided the rest:

- `SolaraViz`'s own component grid needs `vue-grid-layout` from a CDN at run
  time and `TabsItems`, which ipyvuetify 3 no longer has; so the network and
  the plots are Solara components placed beside `SolaraViz`, not inside it.
  They re-render on Mesa's `update_counter`, as `SolaraViz` components do.
- Mesa's parameter inputs cannot be moved by the program, so a preset could
  not show its values in them. The parameters are this page's own sliders,
  bound to one reactive dict that `SolaraViz` hands to the model on Reset.
  Choosing a preset loads all of its values into the sliders and restarts;
  moving a slider and pressing Reset applies the change.

Solara's page loads its front-end files (the Vuetify app, require.js, Font
Awesome) from a CDN through its own caching proxy. `ensure_frontend_assets`
fills that cache from the npm registry (`npm pack`) when it is empty, so the
page also works on a machine without the CDN, as in a locked-down classroom.

Of the `concession` commands only `dashboard` imports this module (it imports solara).
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import polars as pl
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

# Mesa 3.3.1's ComponentsView trips Solara's rules-of-hooks check when mesa.visualization is
# imported; this page never renders it (see the module docstring), so the warning is noise.
warnings.filterwarnings(
    "ignore",
    message=r".*ComponentsView: `use_state` found despite early return",
    category=UserWarning,
)
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from analysis.palette import OUTCOME_COLOURS, REFERRAL_COLOUR, strategy_colour  # noqa: E402
from environments.config import ConfigError, load_config  # noqa: E402
from environments.model import ConcessionModel  # noqa: E402
from environments.relationships import ORIGIN_REFERRAL  # noqa: E402

# ------------------------------------------------------------------ settings

#: Network kinds an instructor can pick, with the shape parameters used for
#: small classroom populations (a loaded file is for `concession run`).
NETWORK_SHAPES: dict[str, dict[str, Any]] = {
    "barabasi_albert": {"m": 2},
    "watts_strogatz": {"k": 4, "p": 0.1},
    "erdos_renyi": {"mean_degree": 4.0},
    "ring": {"k": 4},
    "communities": {"blocks": 3, "mean_degree": 5.0, "mixing": 0.1},
    "complete": {},
}

# Givers first, then the takers, as an instructor reads them.
MIX_ORDER = ("strategic", "reciprocal", "naive", "transactional", "exploitative", "holdout")
MIX_KEYS = tuple(f"mix_{name}" for name in MIX_ORDER)

#: Every classroom setting and its default. A preset gives all of them.
DEFAULT_SETTINGS: dict[str, Any] = {
    "n": 60,
    **{key: 0.0 for key in MIX_KEYS},
    "asymmetry": 3.0,
    "continuation": 0.9,
    "recognition": 0.5,
    "batna": 0.5,
    "weakness": 0.5,
    "expectation_rate": 0.3,
    "gossip": 0.0,
    "referral": 0.0,
    "network": "barabasi_albert",
    "protocol": "offer-response",
    "matching": "edges",
}

DEFAULT_SEED = 1


@dataclass(frozen=True)
class Slider:
    """One numeric control: its setting, label, range and step."""

    key: str
    label: str
    low: float
    high: float
    step: float
    integer: bool = False


SLIDERS: tuple[Slider, ...] = (
    Slider("n", "negotiators", 10, 500, 10, integer=True),
    *(Slider(f"mix_{name}", f"share {name}", 0.0, 1.0, 0.05) for name in MIX_ORDER),
    Slider("asymmetry", "asymmetry (value / cost)", 0.5, 10.0, 0.5),
    Slider("continuation", "continuation w", 0.0, 1.0, 0.05),
    Slider("recognition", "recognition of unframed gifts", 0.0, 1.0, 0.1),
    Slider("batna", "BATNA strength (upper bound)", 0.0, 2.0, 0.1),
    Slider("weakness", "weakness sensitivity", 0.0, 5.0, 0.25),
    Slider("expectation_rate", "expectation rate (precedent)", 0.0, 1.0, 0.05),
    Slider("gossip", "gossip probability q", 0.0, 1.0, 0.05),
    Slider("referral", "referral probability", 0.0, 1.0, 0.05),
)

CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "network": ("network", tuple(NETWORK_SHAPES)),
    "protocol": ("deal protocol", ("offer-response", "simultaneous")),
    "matching": ("who deals", ("edges", "initiator")),
}


@dataclass(frozen=True)
class Preset:
    """A teaching preset: one sentence for the page, what to point at, and every setting."""

    name: str
    sentence: str
    look_for: str
    settings: dict[str, Any] = field(default_factory=dict)


def _preset(name: str, sentence: str, look_for: str, **changes: Any) -> Preset:
    mix = changes.pop("mix")
    settings = {**DEFAULT_SETTINGS, **{f"mix_{k}": v for k, v in mix.items()}, **changes}
    return Preset(name, sentence, look_for, settings)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _preset(
            "gift to a reciprocal partner",
            "A strategic giver hands a reciprocal partner something cheap to give and valuable to "
            "get; the partner returns it, and both end up far above the holdouts who never give.",
            "Green edges (gifts returned) around blue and green nodes; in 'Payoff per deal' blue "
            "and green climb well above black.",
            mix={"strategic": 0.3, "reciprocal": 0.4, "holdout": 0.3},
        ),
        _preset(
            "gift to an exploiter",
            "Naive givers keep giving to exploiters, who take every gift and return nothing: the "
            "givers earn less per deal than the holdouts who give nothing at all.",
            "Orange edges (gifts not returned) from pink nodes to red ones; in 'Payoff per deal' "
            "pink falls below black.",
            mix={"naive": 0.2, "holdout": 0.2, "exploitative": 0.6},
        ),
        _preset(
            "one-off market",
            "A market of strangers: everyone can deal with everyone, both sides decide at once, "
            "and every relationship ends after one deal, so a gift is never repaid: holdouts "
            "out-earn the reciprocal givers.",
            "A sea of orange edges (gifts not returned), big black nodes; black above green in "
            "'Payoff per deal'. Then set continuation w to 0.9 and press Reset: the order flips.",
            mix={"reciprocal": 0.5, "holdout": 0.5},
            n=30,
            network="complete",
            continuation=0.0,
            protocol="simultaneous",
        ),
        _preset(
            "strong BATNA reads as weakness",
            "The same givers and partners as in 'gift to a reciprocal partner', but partners with "
            "a strong outside option read a gift as weakness and escalate instead of returning it.",
            "Far fewer green edges, more orange ones and walk-aways; cooperation and the givers' "
            "payoff fall. Set BATNA strength to 0 and press Reset to compare.",
            mix={"strategic": 0.3, "reciprocal": 0.4, "holdout": 0.3},
            batna=1.0,
            weakness=3.0,
        ),
        _preset(
            "word of mouth",
            "Neighbours hear how deals went and satisfied partners refer each other: the givers' "
            "reputation rises, the exploiters' collapses, and new business flows to the givers.",
            "Dashed blue referral contacts appearing around blue and green nodes; 'Reputation' "
            "and 'Referrals received' separate by strategy.",
            mix={"strategic": 0.3, "reciprocal": 0.3, "exploitative": 0.2, "holdout": 0.2},
            gossip=0.3,
            referral=0.2,
            matching="initiator",
        ),
        _preset(
            "precedent",
            "When a gift given every time becomes the baseline, it stops earning goodwill: naive "
            "givers stop getting referrals, while strategic givers, who frame each gift as a "
            "one-time exception, keep earning them.",
            "'Referrals received' per negotiator: blue keeps climbing, pink flattens. Lower the "
            "expectation rate to 0.5 and press Reset: pink catches up.",
            mix={"strategic": 0.5, "naive": 0.5},
            expectation_rate=1.0,
            referral=0.3,
            matching="initiator",
        ),
    )
}
DEFAULT_PRESET = "gift to a reciprocal partner"


def complete_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in; an unknown setting is a `ConfigError` naming it."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ConfigError(
            f"unknown dashboard setting(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(DEFAULT_SETTINGS)}"
        )
    return {**DEFAULT_SETTINGS, **settings}


def strategy_mix(settings: Mapping[str, Any]) -> dict[str, float]:
    """The population mix: the share sliders normalised to sum to 1 (all zero: equal shares)."""
    weights = {name: max(0.0, float(settings[f"mix_{name}"])) for name in MIX_ORDER}
    total = sum(weights.values())
    if total <= 0:
        return {name: 1.0 / len(weights) for name in weights}
    return {name: w / total for name, w in weights.items() if w > 0}


def build_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The model configuration (sections of `ModelConfig`) for a set of classroom settings."""
    s = complete_settings(settings)
    kind = s["network"]
    if kind not in NETWORK_SHAPES:
        raise ConfigError(f"network = {kind!r}; choose one of {', '.join(NETWORK_SHAPES)}")
    shape = dict(NETWORK_SHAPES[kind])
    if kind == "communities":
        # Small classes: a block of n / blocks nodes holds at most n / blocks - 1 neighbours.
        inside = int(s["n"]) // shape["blocks"] - 1
        shape["mean_degree"] = min(shape["mean_degree"], 0.9 * inside / (1 - shape["mixing"]))
    return {
        "population": {"n": int(s["n"]), "mix": strategy_mix(s)},
        "network": {"kind": kind, **shape},
        "items": {"count": 3, "asymmetry": float(s["asymmetry"])},
        "deal": {
            "protocol": s["protocol"],
            "matching": s["matching"],
            "continuation": float(s["continuation"]),
            "recognition": float(s["recognition"]),
            "batna": {"low": 0.0, "high": float(s["batna"])},
        },
        "behaviour": {
            "weakness_sensitivity": float(s["weakness"]),
            "expectation_rate": float(s["expectation_rate"]),
        },
        "reputation": {"gossip_prob": float(s["gossip"]), "referral_prob": float(s["referral"])},
    }


def seed_value(seed: int | str | None) -> int:
    """A seed from what was typed: a whole number as is, any other text through a stable hash."""
    if seed is None or str(seed).strip() == "":
        return DEFAULT_SEED
    text = str(seed).strip()
    try:
        return abs(int(text))
    except ValueError:
        return zlib.crc32(text.encode())


class DashboardModel(ConcessionModel):
    """A `ConcessionModel` built from flat classroom settings, as the dashboard's sliders give them.

    `settings` is a dict of `DEFAULT_SETTINGS` keys (missing ones take the
    default), or anything with a `.value` holding one (the page's reactive
    settings, read when Mesa's Reset builds the model). It also records,
    per step, the referrals received per negotiator of each strategy.
    """

    def __init__(self, settings: Any = None, seed: int | str | None = DEFAULT_SEED) -> None:
        values = complete_settings(getattr(settings, "value", settings))
        super().__init__(build_config(values), rng=seed_value(seed))
        self.settings = values
        self._positions: np.ndarray | None = None
        self._plot_panels: PlotPanels | None = None  # the plots, drawn on first use
        self._referral_records: list[np.ndarray] = []

    def step(self) -> None:
        """One step of the game, then the dashboard's own record of referrals by strategy."""
        super().step()
        ns = len(self.strategy_names)
        count = np.bincount(self.strategy, minlength=ns)
        received = np.bincount(self.strategy, weights=self.referrals_received, minlength=ns)
        self._referral_records.append(
            np.divide(received, count, out=np.full(ns, np.nan), where=count > 0)
        )

    def referrals_frame(self) -> pl.DataFrame:
        """Per step and strategy: referrals received per negotiator since the start."""
        if not self._referral_records:
            return pl.DataFrame(
                schema={"step": pl.Int64, "strategy": pl.Utf8, "referrals_received": pl.Float64}
            )
        ns = len(self.strategy_names)
        steps = len(self._referral_records)
        return pl.DataFrame(
            {
                "step": np.repeat(np.arange(1, steps + 1), ns),
                "strategy": self.strategy_names * steps,
                "referrals_received": np.concatenate(self._referral_records),
            }
        )

    def positions(self) -> np.ndarray:
        """Where each negotiator is drawn: a layout of the initial graph, computed once per model."""
        if self._positions is None:
            graph = nx.Graph()
            graph.add_nodes_from(range(self.n))
            graph.add_edges_from(self.graph.edges.tolist())
            if self.settings["network"] in ("ring", "complete"):
                layout = nx.circular_layout(graph)
            else:
                layout = nx.spring_layout(graph, seed=self.seed % (2**32), iterations=50)
            self._positions = np.array([layout[i] for i in range(self.n)], dtype=np.float64)
        return self._positions


# ------------------------------------------------------------------ figures

# Deals are drawn in this order, so that the rarer, telling outcomes lie on top.
_DRAW_ORDER = ("no gives", "reciprocated", "not returned", "walked away")
_OUTCOME_WIDTH = {"no gives": 0.6, "reciprocated": 1.6, "not returned": 1.6, "walked away": 1.2}


def _scaled(values: np.ndarray, low: float = 14.0, high: float = 220.0) -> np.ndarray:
    """Marker areas from any values (NaN counts as the smallest)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=np.nan)
    finite = np.isfinite(v)
    if not finite.any():
        return np.full(len(v), (low + high) / 3)
    lo, hi = np.min(v[finite]), np.max(v[finite])
    v = np.where(finite, v, lo)
    if hi - lo < 1e-12:
        return np.full(len(v), (low + high) / 3)
    return low + (high - low) * (v - lo) / (hi - lo)


# At most this many contacts and deals are drawn (an even sample of them): a complete
# network of 300 has 44,850, which would take seconds to draw and show only a blur.
MAX_DRAWN = 3000


def _evenly(items: np.ndarray, limit: int) -> np.ndarray:
    """`items`, or an evenly spaced sample of `limit` of them."""
    if len(items) <= limit:
        return items
    return items[np.linspace(0, len(items) - 1, limit).astype(np.int64)]


def network_figure(model: DashboardModel, size_by: str = "wealth") -> Figure:
    """The referral network now: strategies, wealth or reputation, the last step's deals, referrals.

    Above `MAX_DRAWN` contacts or deals, an even sample of them is drawn.
    """
    fig = Figure(figsize=(6.6, 6.0), dpi=90)
    ax = fig.add_axes((0.0, 0.16, 1.0, 0.84))
    ax.set_axis_off()
    pos = model.positions()
    rel = model.relationships
    pairs = _evenly(rel.active_pairs(), MAX_DRAWN)
    ends = np.stack([rel.u[pairs], rel.v[pairs]], axis=1)
    referral = rel.origin[pairs] == ORIGIN_REFERRAL
    segments = pos[ends]
    ax.add_collection(
        LineCollection(segments[~referral], colors="#D8D8D8", linewidths=0.6, zorder=1)
    )
    ax.add_collection(
        LineCollection(
            segments[referral],
            colors=REFERRAL_COLOUR,
            linewidths=0.8,
            linestyles=(0, (3, 2)),
            alpha=0.55,
            zorder=2,
        )
    )
    deals = model.last_deals()
    # Thinner lines when there are many deals, so a dense market stays readable.
    thin = min(1.0, math.sqrt(250 / max(deals.height, 1)))
    if deals.height:
        shown = _evenly(np.arange(deals.height), MAX_DRAWN)
        pair = deals["pair"].to_numpy()[shown]
        outcome = deals["outcome"].to_numpy()[shown]
        on_referral = rel.origin[pair] == ORIGIN_REFERRAL
        seg = pos[np.stack([rel.u[pair], rel.v[pair]], axis=1)]
        for z, name in enumerate(_DRAW_ORDER):
            for dashed in (False, True):
                rows = (outcome == name) & (on_referral == dashed)
                if rows.any():
                    ax.add_collection(
                        LineCollection(
                            seg[rows],
                            colors=OUTCOME_COLOURS[name],
                            linewidths=_OUTCOME_WIDTH[name] * thin,
                            linestyles=(0, (3, 2)) if dashed else "solid",
                            alpha=0.9,
                            zorder=3 + z,
                        )
                    )
    # Smaller markers and lines for larger classes, so that they do not hide each other.
    shrink = min(1.0, math.sqrt(100 / model.n))
    # Contacts that a referral created in this very step: word of mouth at work.
    if model.steps:
        fresh = pairs[referral & (rel.created[pairs] == model.steps)]
        if len(fresh):
            ax.add_collection(
                LineCollection(
                    pos[np.stack([rel.u[fresh], rel.v[fresh]], axis=1)],
                    colors=REFERRAL_COLOUR,
                    linewidths=2.6 * shrink,
                    zorder=8,
                )
            )
    names = model.strategy_names
    colours = np.array([strategy_colour(s, names) for s in names])[model.strategy]
    value = model.reputation() if size_by == "reputation" else model.wealth
    ax.scatter(
        pos[:, 0],
        pos[:, 1],
        s=_scaled(value, 14.0 * shrink, 220.0 * shrink),
        c=colours,
        edgecolors="white",
        linewidths=0.6,
        zorder=10,
    )
    pad = 0.08
    ax.set_xlim(pos[:, 0].min() - pad, pos[:, 0].max() + pad)
    ax.set_ylim(pos[:, 1].min() - pad, pos[:, 1].max() + pad)
    ax.set_aspect("equal", adjustable="box")
    present = [s for i, s in enumerate(names) if (model.strategy == i).any()]
    strategy_handles = [
        Line2D([], [], marker="o", ls="", ms=8, mfc=strategy_colour(s, names), mec="white", label=s)
        for s in present
    ]
    edge_handles = [
        Line2D([], [], color=OUTCOME_COLOURS[name], lw=2, label=name)
        for name in ("reciprocated", "not returned", "walked away", "no gives")
    ]
    edge_handles += [
        Line2D([], [], color=REFERRAL_COLOUR, lw=1, ls=(0, (3, 2)), label="referral contact"),
        Line2D([], [], color=REFERRAL_COLOUR, lw=2.6, label="referred this step"),
    ]
    fig.legend(
        handles=strategy_handles,
        loc="lower left",
        bbox_to_anchor=(0.01, 0.0),
        ncol=2,
        fontsize=9,
        frameon=False,
        title=f"strategy (size: {size_by})",
        title_fontsize=9,
    )
    fig.legend(
        handles=edge_handles,
        loc="lower right",
        bbox_to_anchor=(0.99, 0.0),
        ncol=2,
        fontsize=9,
        frameon=False,
        title="deals of the last step"
        + (f" ({MAX_DRAWN:,} of {deals.height:,} drawn)" if deals.height > MAX_DRAWN else ""),
        title_fontsize=9,
    )
    return fig


def _smooth(df: pl.DataFrame, column: str, window: int = 5) -> pl.DataFrame:
    """A column's moving average over the last `window` steps, per strategy."""
    return df.sort("strategy", "step").with_columns(
        pl.col(column).rolling_mean(window, min_samples=1).over("strategy").alias(column)
    )


# The plots by strategy: (grid position, title, column, smoothed, frame), frame being
# "strategy" (model.strategy_frame) or "referrals" (model.referrals_frame).
_PANELS = (
    ((0, 0), "Payoff per deal (5-step average)", "payoff_per_deal", True, "strategy"),
    ((0, 1), "Cooperation rate (5-step average)", "cooperation_rate", True, "strategy"),
    ((0, 2), "Reputation (mean belief of others)", "reputation", False, "strategy"),
    ((1, 0), "Referrals received per negotiator", "referrals_received", False, "referrals"),
    ((1, 2), "Wealth per negotiator", "wealth_mean", False, "strategy"),
)
_WORD_OF_MOUTH = (
    ("referrals", REFERRAL_COLOUR, "referrals"),
    ("new_contacts", "#7F7F7F", "new contacts"),
    ("negative_word_of_mouth", OUTCOME_COLOURS["walked away"], "negative word of mouth"),
)


class PlotPanels:
    """The six plots of one model: drawn once, then only their lines change as it steps.

    Re-using the figure keeps its axes, ticks and legends, which are most of
    the time a fresh figure takes to draw.
    """

    def __init__(self, model: DashboardModel) -> None:
        names = model.strategy_names
        self.names = [s for i, s in enumerate(names) if (model.strategy == i).any()]
        self.figure = Figure(figsize=(11.0, 5.6), dpi=90)
        axes = self.figure.subplots(2, 3)
        self.figure.subplots_adjust(
            left=0.06, right=0.99, top=0.86, bottom=0.09, wspace=0.28, hspace=0.5
        )
        self.axes = list(axes.flat)
        for ax in self.axes:
            # Few ticks: tick labels are most of the time it takes to draw these plots.
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.25)
        for ax in axes[1]:
            ax.set_xlabel("step", fontsize=8)
        self.lines: dict[tuple[str, str], Line2D] = {}
        for (row, col), title, column, _, _ in _PANELS:
            ax = axes[row, col]
            ax.set_title(title, fontsize=9, loc="left")
            for name in self.names:
                (self.lines[column, name],) = ax.plot(
                    [], [], color=strategy_colour(name, names), lw=1.6, label=name
                )
        for ax in self.axes:
            ax.set_xlim(0, 10)  # until the first step
            ax.set_ylim(0, 1)
        self.fixed_y = (axes[0, 1], axes[0, 2])
        self.counts = (axes[1, 0], axes[1, 1])  # counts start at 0 and show at least 0..1
        for ax in self.fixed_y:
            ax.set_ylim(-0.03, 1.03)  # rates and beliefs: the whole 0..1 range, always
        (self.everyone,) = axes[0, 1].plot([], [], color="#555555", lw=1.2, ls="--")
        mouth = axes[1, 1]
        mouth.set_title("Word of mouth per step", fontsize=9, loc="left")
        for column, colour, label in _WORD_OF_MOUTH:
            (self.lines[column, ""],) = mouth.plot([], [], color=colour, lw=1.4, label=label)
        mouth.legend(fontsize=7, frameon=False, loc="upper left")
        self.figure.legend(
            handles=[self.lines["payoff_per_deal", s] for s in self.names]
            + [Line2D([], [], color="#555555", lw=1.2, ls="--", label="everyone")],
            loc="upper center",
            ncol=len(self.names) + 1,
            fontsize=9,
            frameon=False,
        )
        self.waiting = self.figure.text(
            0.5, 0.45, "press Step or ▶ to start", ha="center", fontsize=14, color="#777777"
        )

    def update(self, model: DashboardModel) -> Figure:
        """The figure with the model's steps so far."""
        frames = {"strategy": model.strategy_frame(), "referrals": model.referrals_frame()}
        for _, _, column, smooth, frame in _PANELS:
            df = frames[frame]
            if column not in df.columns:
                continue
            if smooth and df.height:
                df = _smooth(df, column)
            for name in self.names:
                part = df.filter(pl.col("strategy") == name)
                y = part[column].cast(pl.Float64).fill_null(float("nan")).to_numpy()
                self.lines[column, name].set_data(part["step"].to_numpy(), y)
        steps = model.steps_frame()
        x = steps["step"].to_numpy()
        coop = steps["cooperation_rate"].rolling_mean(5, min_samples=1).to_numpy()
        self.everyone.set_data(x, coop)
        for column, _, _ in _WORD_OF_MOUTH:
            if column in steps.columns:
                self.lines[column, ""].set_data(x, steps[column].to_numpy())
        if model.steps:
            for ax in self.axes:
                ax.set_autoscalex_on(True)
                ax.set_autoscaley_on(ax not in self.fixed_y)
                ax.relim()
                ax.autoscale_view()
            for ax in self.counts:
                ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
            # Headroom for the word-of-mouth legend, so no line runs under it.
            top = self.counts[1].get_ylim()[1]
            self.counts[1].set_ylim(0, 1.45 * top)
        self.waiting.set_visible(model.steps == 0)
        return self.figure


def plots_figure(model: DashboardModel) -> Figure:
    """Six small plots over the steps so far: payoff, cooperation, reputation, referrals, wealth.

    The figure belongs to the model and is updated in place at each call.
    """
    if model._plot_panels is None:
        model._plot_panels = PlotPanels(model)
    return model._plot_panels.update(model)


def deal_summary(model: DashboardModel) -> str:
    """One line on the last step: deals by outcome, referrals and new contacts."""
    head = f"Step {model.steps} · {model.n} negotiators"
    deals = model.last_deals()
    if not model.steps or deals.height == 0:
        return f"{head} · no deals yet"
    counts = dict(deals.group_by("outcome").len().iter_rows())
    parts = ", ".join(f"{counts.get(name, 0)} {name}" for name in _DRAW_ORDER[::-1])
    line = f"{head} · {deals.height} deals in the last step: {parts}"
    last = model.steps_frame().row(-1, named=True)
    if last.get("referrals") or last.get("new_contacts"):
        line += f" · {last['referrals']} referrals, {last['new_contacts']} new contacts"
    return line


TABLE_COLUMNS = (
    ("strategy", "strategy", "{}"),
    ("negotiators", "n", "{}"),
    ("payoff_per_deal", "payoff<br>/ deal", "{:.2f}"),
    ("reciprocation_rate", "gifts<br>returned", "{:.0%}"),
    ("reputation", "repu&shy;tation", "{:.2f}"),
    ("referrals", "refer&shy;rals", "{:.1f}"),
)


def strategy_rows(model: DashboardModel) -> list[dict[str, Any]]:
    """The run so far by strategy present: negotiators, payoff per deal, gifts returned, reputation, referrals."""
    totals = model.totals_by_strategy()
    extra = (
        model.agents_frame()
        .group_by("strategy")
        .agg(
            pl.col("reputation").mean().alias("reputation"),
            pl.col("referrals_received").mean().alias("referrals"),
        )
    )
    df = totals.join(extra, on="strategy", how="left").filter(pl.col("negotiators") > 0)
    return list(df.iter_rows(named=True))


def strategy_table_html(model: DashboardModel) -> str:
    """`strategy_rows` as an HTML table, undefined figures (no deals, no gives) as a dash."""

    def cell(value: Any, spec: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return html.escape(spec.format(value))

    names = model.strategy_names
    head = "".join(f"<th>{label}</th>" for _, label, _ in TABLE_COLUMNS)
    rows = []
    for row in strategy_rows(model):
        dot = f'<span style="color:{strategy_colour(row["strategy"], names)}">&#9679;</span> '
        cells = [cell(row[key], spec) for key, _, spec in TABLE_COLUMNS]
        cells[0] = dot + cells[0]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    body = "".join(rows)
    return f'<table class="concession-strategies"><tr>{head}</tr>{body}</table>'


# ------------------------------------------------------------------ front-end files


def frontend_packages() -> list[str]:
    """The npm packages (name@version) that the installed Solara's page loads from its CDN."""
    import ipyvue
    import solara.server.settings as server_settings

    template = Path(solara.__file__).parent / "server" / "templates" / "solara.html.j2"
    found = re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.+-]+)/", template.read_text())
    vue3 = ipyvue.__version__.startswith("3")
    wanted = []
    for spec in dict.fromkeys(found):
        # The template names the Vuetify 2 and the Vuetify 3 app; only one is loaded.
        if "solara-vuetify" in spec and ("vuetify3" in spec) != vue3:
            continue
        wanted.append(spec)
    if server_settings.assets.fontawesome_enabled:
        wanted.append(server_settings.assets.fontawesome_path.strip("/").split("/")[0])
    return wanted


def ensure_frontend_assets(echo: Any = print) -> list[str]:
    """Fill Solara's CDN cache from the npm registry where it lacks a package; returns what is still missing.

    Solara's server answers `/_solara/cdn/NAME@VERSION/PATH` from its cache
    directory, fetching from a CDN only on a miss; an npm tarball holds
    exactly those files. Without `npm` (or the registry) nothing is fetched
    here and Solara falls back to the CDN, which needs internet access.
    """
    import solara.server.settings as server_settings

    cache = Path(server_settings.assets.proxy_cache_dir)
    missing = [spec for spec in frontend_packages() if not (cache / spec / "package.json").exists()]
    npm = shutil.which("npm")
    if not missing or npm is None:
        return missing
    echo(f"fetching the page's front-end files from the npm registry: {', '.join(missing)}")
    still = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in missing:
            try:
                out = subprocess.run(
                    [npm, "pack", spec, "--json", "--pack-destination", tmp],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=180,
                    cwd=tmp,
                )
                tarball = Path(tmp) / _packed_name(out.stdout, spec)
                target = cache / spec
                target.mkdir(parents=True, exist_ok=True)
                with tarfile.open(tarball) as tar:
                    members = [m for m in tar.getmembers() if m.name.startswith("package/")]
                    for member in members:
                        member.name = member.name.removeprefix("package/")
                    tar.extractall(target, members=members, filter="data")
            except (OSError, subprocess.SubprocessError, tarfile.TarError, ValueError) as exc:
                echo(f"could not fetch {spec} with npm: {str(exc).strip()[:200]}")
                still.append(spec)
    return still


def _packed_name(npm_json: str, spec: str) -> str:
    """The tarball file name from `npm pack --json` output."""
    import json

    try:
        return json.loads(npm_json)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        name, _, version = spec.rpartition("@")
        return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def serve(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Start the dashboard's Solara server in this process (it replaces the process; Ctrl-C stops it)."""
    missing = ensure_frontend_assets()
    if missing:
        print(
            "warning: the page's front-end files are not cached and npm could not fetch them "
            f"({', '.join(missing)}); Solara will load them from its CDN, which needs internet.",
            file=sys.stderr,
        )
    env = dict(os.environ)
    # A classroom server phones nobody: Solara's usage statistics are off unless asked for.
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    # Plain http on a classroom address is intended; Solara warns of it at every page load.
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS"), quiet) if w)
    print(f"classroom dashboard on http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    args = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "analysis.dashboard:page",
        "--host",
        host,
        "--port",
        str(port),
        "--production",  # no file watcher, no reloads, minified front end
        "--no-open",
        "--log-level",
        "warning",
    ]
    os.execve(sys.executable, args, env)


# ------------------------------------------------------------------ the page

# Module-level reactive values are per browser session under Solara's server.
preset_choice = solara.reactive(DEFAULT_PRESET)
settings_state = solara.reactive(dict(PRESETS[DEFAULT_PRESET].settings))
node_size = solara.reactive("wealth")


def _format(slider: Slider, value: float) -> str:
    return f"{int(value)}" if slider.integer else f"{value:g}"


@solara.component
def LessonCard(model: solara.Reactive[DashboardModel]) -> None:
    """The preset picker and its sentence (top of the sidebar)."""

    def choose(name: str) -> None:
        preset = PRESETS[name]
        preset_choice.set(name)
        settings_state.set(dict(preset.settings))
        model.set(DashboardModel(preset.settings, seed=model.value.seed))

    with solara.Card("Lesson"):
        solara.Select(
            label="teaching preset",
            value=preset_choice.value,
            values=list(PRESETS),
            on_value=choose,
        )
        solara.HTML(
            tag="p",
            unsafe_innerHTML=(
                "<i>A preset loads all of its values into the parameters below and restarts. "
                "Move any parameter and press <b>Reset</b> to see what it changes. "
                "The seed applies on Reset too.</i>"
            ),
            style={"font-size": "0.9em", "color": "#555"},
        )


@solara.component
def ParametersCard(model: solara.Reactive[DashboardModel]) -> None:
    """The classroom parameters: sliders and choices bound to the session's settings."""
    values = settings_state.value

    def setter(key: str, integer: bool = False) -> Any:
        def set_value(v: Any) -> None:
            settings_state.set({**settings_state.value, key: int(v) if integer else v})

        return set_value

    try:
        load_config(build_config(values))
        problem = None
    except ConfigError as exc:
        problem = str(exc)
    with solara.Card("Parameters"):
        if problem:
            solara.Error(f"These parameters make no model: {problem}", dense=True)
        elif values != model.value.settings:
            solara.Warning("Parameters changed: press Reset to apply them.", dense=True)
        for slider in SLIDERS:
            widget = solara.SliderInt if slider.integer else solara.SliderFloat
            widget(
                f"{slider.label}: {_format(slider, values[slider.key])}",
                value=values[slider.key],
                min=slider.low,
                max=slider.high,
                step=slider.step,
                on_value=setter(slider.key, slider.integer),
                thumb_label=False,
            )
            if slider.key == MIX_KEYS[-1]:
                mix = strategy_mix(values)
                solara.Text(
                    "shares are normalised: " + ", ".join(f"{k} {v:.0%}" for k, v in mix.items()),
                    style={"font-size": "0.8em", "color": "#666"},
                )
        for key, (label, options) in CHOICES.items():
            solara.Select(
                label=label, value=values[key], values=list(options), on_value=setter(key)
            )


@solara.component
def ParametersSidebar(model: solara.Reactive[DashboardModel]) -> None:
    """The parameters card in the sidebar, below SolaraViz's run controls."""
    # Solara orders sidebar parts by how deep in the page they are declared:
    # one component deeper than SolaraViz puts this card after its cards.
    _ParametersSidebarPart(model)


@solara.component
def _ParametersSidebarPart(model: solara.Reactive[DashboardModel]) -> None:
    with solara.Sidebar():
        ParametersCard(model)


@solara.component
def NetworkView(model: DashboardModel) -> None:
    """The network figure with its size switch and a one-line summary of the last step."""
    update_counter.get()
    size_by = node_size.value
    steps = model.steps
    figure = solara.use_memo(lambda: network_figure(model, size_by), [model, steps, size_by])
    with solara.Column(classes=["concession-network"], gap="4px"):
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.Text("node size:")
            solara.ToggleButtonsSingle(value=node_size, values=["wealth", "reputation"], dense=True)
        solara.FigureMatplotlib(figure, dependencies=[model, steps, size_by], format="png")
        solara.Text(deal_summary(model), classes=["concession-summary"])


@solara.component
def PlotsView(model: DashboardModel) -> None:
    """The plots of the run so far."""
    update_counter.get()
    steps = model.steps
    figure = solara.use_memo(lambda: plots_figure(model), [model, steps])
    with solara.Column(classes=["concession-plots"]):
        solara.FigureMatplotlib(figure, dependencies=[model, steps], format="png")


PAGE_CSS = """
.concession-strategies { border-collapse: collapse; font-size: 0.88em; margin-bottom: 8px; }
.concession-strategies th, .concession-strategies td {
    padding: 3px 5px; border-bottom: 1px solid #ddd; text-align: right; vertical-align: bottom;
}
.concession-strategies th:first-child, .concession-strategies td:first-child {
    text-align: left; white-space: nowrap;
}
.concession-lesson { margin: 4px 0; }
"""


@solara.component
def Main(model: DashboardModel) -> None:
    """The main area: the lesson, the network beside a table by strategy, and the plots."""
    update_counter.get()
    preset = PRESETS[preset_choice.value]
    solara.Style(PAGE_CSS)
    with solara.Column(style={"padding": "8px 16px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<h3 class="concession-lesson">{html.escape(preset.name)}</h3>'
                f"<p>{html.escape(preset.sentence)}<br>"
                f"<b>Look for:</b> {html.escape(preset.look_for)}</p>"
            ),
        )
        with solara.Columns([3, 2]):
            NetworkView(model)
            with solara.Column(classes=["concession-table"]):
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML="<h4>By strategy, so far</h4>" + strategy_table_html(model),
                )
                solara.HTML(
                    tag="p",
                    unsafe_innerHTML=(
                        "<i>payoff / deal</i>: what a negotiator earned per deal, BATNA included. "
                        "<i>gifts returned</i>: share of its gives that the partner returned in "
                        "the same deal. <i>reputation</i>: mean belief others hold about it "
                        "(0..1). <i>referrals</i>: referrals received per negotiator."
                    ),
                    style={"font-size": "0.85em", "color": "#555"},
                )
        PlotsView(model)


@solara.component
def Page() -> None:
    """The dashboard page: `solara run analysis.dashboard:page`."""
    initial = solara.use_memo(
        lambda: DashboardModel(settings_state.value, seed=DEFAULT_SEED), dependencies=[]
    )
    model = solara.use_reactive(initial)

    # Mesa 3.3 keeps every model reachable from a class-level dict; drop the
    # previous one whenever Reset or a preset replaces it, so a long lesson
    # does not pile up models.
    def release_when_replaced() -> Any:
        current = model.value
        return current.release

    solara.use_effect(release_when_replaced, [model.value])

    with solara.Sidebar():
        LessonCard(model)
    SolaraViz(
        model,
        components=[],
        model_params={
            "settings": settings_state,
            "seed": {"type": "InputText", "value": str(DEFAULT_SEED), "label": "seed (on Reset)"},
        },
        name="Concession lab · classroom",
        play_interval=200,
    )
    ParametersSidebar(model)
    Main(model.value)


page = Page
