"""Figures: what a reader would check on them, from small frames built by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex, to_rgba

from analysis import plots
from analysis.palette import REFERRAL_COLOUR, STRATEGY_COLOURS
from analysis.summary import Snapshot

STRATEGIES = ["strategic", "reciprocal", "exploitative", "holdout"]


def grid_table(means: list[list[float]]) -> pl.DataFrame:
    """Cells of a 2-parameter sweep: rows are y values, columns x values; CI = mean +- 0.1."""
    rows = []
    for i, y in enumerate([0.0, 0.5, 0.9][: len(means)]):
        for j, x in enumerate([0.0, 0.3, 0.6][: len(means[0])]):
            m = means[i][j]
            rows.append({"x": x, "y": y, "mean": m, "lo": m - 0.1, "hi": m + 0.1, "n": 5})
    return pl.DataFrame(rows)


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [
        ax.get_title(loc="left") for ax in fig.axes
    ]


def test_backfire_map_draws_the_zero_contour_and_hatches_unclear_cells(tmp_path):
    table = grid_table([[1.0, 0.5, -0.5], [1.0, 0.05, -1.0], [0.8, -0.2, -1.2]])
    fig = plots.backfire_map(table, "x", "y", x_label="exploitative share", y_label="w")
    ax = fig.axes[0]
    contours = [c for c in ax.collections if c.__class__.__name__ == "QuadContourSet"]
    if not contours:  # matplotlib < 3.8 keeps contour lines as LineCollections
        contours = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert contours, "the zero contour is drawn"
    assert "1.00" in texts(fig) and "-1.20" in texts(fig)
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1  # only 0.05 +- 0.1 includes zero
    assert ax.get_xlabel() == "exploitative share"
    png, svg = plots.save_figure(fig, tmp_path, "map")
    assert png.stat().st_size > 5000 and svg.read_text().startswith("<?xml")


def test_backfire_map_says_when_giving_paid_everywhere():
    fig = plots.backfire_map(grid_table([[1.0, 2.0], [0.5, 0.7]]), "x", "y")
    assert any("paid on average at every point" in t for t in texts(fig))


def test_advantage_lines_mark_the_break_even():
    table = pl.DataFrame(
        {
            "x": [0.0, 0.5, 1.0] * 2,
            "mean": [1.0, 0.2, -0.6, 0.5, 0.4, 0.3],
            "lo": [0.8, 0.0, -0.8, 0.3, 0.2, 0.1],
            "hi": [1.2, 0.4, -0.4, 0.7, 0.6, 0.5],
            "series": ["vs holdout"] * 3 + ["vs naive"] * 3,
        }
    )
    be = pl.DataFrame({"break_even": [0.625], "ci_from": [0.5], "ci_to": [0.75]})
    colours = {"vs holdout": STRATEGY_COLOURS["holdout"], "vs naive": STRATEGY_COLOURS["naive"]}
    fig = plots.advantage_lines(table, "x", colours=colours, break_even=be)
    ax = fig.axes[0]
    lines = {line.get_label(): to_hex(line.get_color()) for line in ax.lines}
    assert lines["vs holdout"] == STRATEGY_COLOURS["holdout"].lower()
    assert lines["vs naive"] == STRATEGY_COLOURS["naive"].lower()
    assert any("break-even 0.625" in t.get_text() for t in ax.texts)


def test_advantage_bars_have_whiskers():
    table = pl.DataFrame(
        {"series": ["a", "b"], "mean": [0.5, -0.2], "lo": [0.3, -0.5], "hi": [0.7, 0.1]}
    )
    fig = plots.advantage_bars(table)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.5, -0.2])
    assert ax.get_xticklabels()[1].get_text() == "b"


def series_frame() -> pl.DataFrame:
    rows = []
    for point in (0, 1):
        for s in ("strategic", "exploitative"):
            for step in range(1, 6):
                for metric in ("payoff_per_deal", "reputation"):
                    m = step * (1 if s == "strategic" else 0.5)
                    rows.append(
                        {
                            "point": point,
                            "strategy": s,
                            "step": step,
                            "metric": metric,
                            "mean": m,
                            "lo": m - 0.2,
                            "hi": m + 0.2,
                        }
                    )
    return pl.DataFrame(rows)


def test_time_series_one_colour_per_strategy_everywhere():
    metrics = {"payoff_per_deal": "payoff per deal", "reputation": "reputation"}
    fig = plots.time_series(
        series_frame(), {0: "a 0", 1: "a 1"}, strategies=STRATEGIES, metrics=metrics
    )
    axes = [ax for ax in fig.axes if ax.lines]
    assert len(axes) == 4  # 2 metrics x 2 points
    for ax in axes:
        colours = sorted(to_hex(line.get_color()) for line in ax.lines)
        expected = sorted(STRATEGY_COLOURS[s].lower() for s in ("strategic", "exploitative"))
        assert colours == expected
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["strategic", "exploitative"]


def test_strategy_lines_panels_and_bars():
    rows = []
    for panel in ("p", "q"):
        for x in (0.0, 1.0):
            for s in ("strategic", "holdout"):
                rows.append(
                    {
                        "x": x,
                        "panel": panel,
                        "strategy": s,
                        "metric": "payoff_per_deal",
                        "mean": 1.0 + x,
                        "lo": 0.5 + x,
                        "hi": 1.5 + x,
                    }
                )
    table = pl.DataFrame(rows)
    fig = plots.strategy_lines(table, "payoff_per_deal", "x", strategies=STRATEGIES, panel="panel")
    assert len(fig.axes) == 2
    assert fig.axes[1].get_title(loc="left") == "panel = q"
    bars = plots.strategy_lines(
        table.filter((pl.col("x") == 0.0) & (pl.col("panel") == "p")),
        "payoff_per_deal",
        None,
        strategies=STRATEGIES,
    )
    colours = [to_hex(p.get_facecolor()) for p in bars.axes[0].patches]
    assert colours == [STRATEGY_COLOURS["strategic"].lower(), STRATEGY_COLOURS["holdout"].lower()]


def test_positive_segments():
    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert plots.positive_segments(xs, np.array([1.0, -1.0, -1.0, 1.0, 1.0])) == [
        (0.0, 0.5),
        (2.5, 4.0),
    ]
    assert plots.positive_segments(xs, -np.ones(5)) == []
    assert plots.positive_segments(xs, np.ones(5)) == [(0.0, 4.0)]


def test_returns_and_break_even_uses_a_log_scale_and_one_panel_per_parameter():
    returns = pl.DataFrame(
        {
            "point": [0, 0, 1, 1],
            "strategy": ["strategic", "exploitative"] * 2,
            "metric": ["return_on_concessions"] * 4,
            "mean": [3.0, 400.0, 1.5, 50.0],
            "lo": [2.5, 200.0, 1.0, 40.0],
            "hi": [3.5, 600.0, 2.0, 60.0],
        }
    )
    advantage = pl.DataFrame(
        {
            "a": [0.0, 0.5, 0.0, 0.5],
            "b": [1.0, 1.0, 2.0, 2.0],
            "mean": [1.0, -1.0, 1.0, 0.5],
        }
    )
    be = pl.DataFrame(
        {
            "parameter": ["a", "a", "b", "b"],
            "b": [1.0, 2.0, None, None],
            "a": [None, None, 0.0, 0.5],
            "break_even": [0.25, None, None, 1.5],
            "ci_from": [0.2, None, None, None],
            "ci_to": [0.3, None, None, None],
            "status": ["stops paying", "pays throughout", "pays throughout", "stops paying"],
        }
    )
    fig = plots.returns_and_break_even(
        returns,
        {0: "a 0, b 1", 1: "a 0.5, b 2"},
        strategies=STRATEGIES,
        advantage=advantage,
        break_even=be,
        parameters=["a", "b"],
        labels={"a": "A", "b": "B"},
    )
    top, left, right = fig.axes
    assert top.get_yscale() == "log"
    assert [t.get_text() for t in top.get_xticklabels()] == ["a 0\nb 1", "a 0.5\nb 2"]
    # b = 1: pays from 0 to the crossing at 0.25; b = 2: pays throughout [0, 0.5]
    widths = sorted(round(p.get_width(), 6) for p in left.patches)
    assert widths == [0.25, 0.5]
    assert left.get_xlabel() == "A" and right.get_xlabel() == "B"


def test_referral_figure():
    lift = pl.DataFrame(
        {
            "point": [0, 0],
            "strategy": ["strategic", "holdout"],
            "mean": [0.3, 0.1],
            "lo": [0.2, 0.0],
            "hi": [0.4, 0.2],
        }
    )
    growth = pl.DataFrame(
        {
            "point": [0] * 3,
            "step": [1, 2, 3],
            "metric": ["new_contacts"] * 3,
            "mean": [1.0, 3.0, 6.0],
            "lo": [0.5, 2.0, 5.0],
            "hi": [1.5, 4.0, 7.0],
        }
    )
    fig = plots.referral_figure(lift, growth, {0: "x 1"}, strategies=STRATEGIES)
    left, right = fig.axes
    assert [round(p.get_height(), 6) for p in left.patches] == [0.3, 0.1]
    assert list(right.lines[0].get_ydata()) == [1.0, 3.0, 6.0]


def test_network_snapshot_colours_sizes_and_referral_edges():
    snap = Snapshot(
        run_id="r",
        point=0,
        replicate=0,
        pair="base",
        steps=10,
        strategy=["strategic", "strategic", "holdout", "exploitative"],
        wealth=np.array([10.0, 0.0, 5.0, 20.0]),
        u=np.array([0, 1, 2, 0]),
        v=np.array([1, 2, 3, 3]),
        origin=np.array([0, 0, 0, 1], dtype=np.int8),
        active=np.array([True, True, True, True]),
        reproduced=True,
    )
    fig = plots.network_snapshot(snap, strategies=STRATEGIES)
    ax = fig.axes[0]
    [nodes] = [c for c in ax.collections if isinstance(c, PathCollection)]
    faces = [to_hex(c) for c in nodes.get_facecolors()]
    assert faces == [STRATEGY_COLOURS[s].lower() for s in snap.strategy]
    sizes = nodes.get_sizes()
    assert sizes[3] > sizes[0] > sizes[2] > sizes[1]  # sized by wealth
    edges = [c for c in ax.collections if isinstance(c, LineCollection)]
    referral = [c for c in edges if to_rgba(c.get_colors()[0])[:3] == to_rgba(REFERRAL_COLOUR)[:3]]
    assert len(referral) == 1 and len(referral[0].get_segments()) == 1
    assert "1 referral contacts" in ax.get_title(loc="left")


def test_network_layout_is_seeded():
    u, v = np.array([0, 1, 2]), np.array([1, 2, 0])
    a = plots.network_layout(3, u, v, seed=4)
    b = plots.network_layout(3, u, v, seed=4)
    assert np.allclose(a, b)


def test_scatter_map_of_a_drawn_design_labels_each_point():
    table = pl.DataFrame(
        {
            "x": [0.1, 0.5, 0.9, 0.3, 0.7],
            "y": [0.2, 0.8, 0.4, 0.6, 0.1],
            "mean": [1.0, -0.5, 0.2, 0.4, -0.1],
        }
    )
    fig = plots.advantage_scatter_map(table, "x", "y")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        ["1.00", "-0.50", "0.20", "0.40", "-0.10"]
    )
