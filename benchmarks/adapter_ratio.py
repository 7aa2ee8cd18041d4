"""The batch strategies against the same strategies through the per-deal adapter, W1 at N = 10,000.

    .venv/bin/python benchmarks/adapter_ratio.py [--quick] [--n N] [--steps S]

Each of the six built-in strategies is rewritten here, faithfully, one deal at
a time (`agents.strategy.DealStrategy.decide(deal) -> Action`), and
registered as `<name>-per-deal`. Before timing, a small W1 run (N = 300) is
played once with the built-ins and once with the twins, from the same seed,
and the step, strategy and agent tables must be identical (the check is
printed; a mismatch stops the benchmark). Then W1 (everything on) at
N = 10,000 is timed for a few steps each way (the adapter is slow) and the
ratio of deals per second printed. Target: the batch form at least 50 times
faster. Prints figures; asserts nothing about time.

The per-deal `Deal` carries no continuation probability, which `strategic`'s
checklist reads: its twin takes it from the batch view before it loops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402
from polars.testing import assert_frame_equal  # noqa: E402

from agents.strategies.exploitative import ExploitativeParams  # noqa: E402
from agents.strategies.naive import NaiveParams  # noqa: E402
from agents.strategies.reciprocal import ReciprocalParams  # noqa: E402
from agents.strategies.strategic import StrategicParams  # noqa: E402
from agents.strategies.transactional import TransactionalParams  # noqa: E402
from agents.strategy import (  # noqa: E402
    Action,
    Deal,
    DealStrategy,
    DealView,
    Opening,
    Response,
    StrategyParams,
    register,
)
from benchmarks.workloads import (  # noqa: E402
    emit,
    fmt_rate,
    machine_line,
    peak_mib,
    time_model,
    w1_config,
)

SUFFIX = "-per-deal"

# --------------------------------------------------------------------------- per-deal helpers
# Each mirrors a `DealView` helper for one deal, with the same floating-point
# operations in the same order, so the decisions are bit-for-bit the same.


def _ratios(num: list[float], den: list[float]) -> list[float]:
    return [a / max(b, 1e-12) for a, b in zip(num, den, strict=True)]


def _argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=xs.__getitem__)  # the first maximum, as numpy's argmax


def _argmin(xs: list[float]) -> int:
    return min(range(len(xs)), key=xs.__getitem__)


def best_give(deal: Deal) -> int:
    """The item with the best value to the partner per unit of my cost."""
    return _argmax(_ratios(deal.value_partner, deal.cost_me))


def best_gives(deal: Deal, count: int) -> tuple[int, ...]:
    """The `count` items with the best partner-value / own-cost ratio."""
    if count == 1:
        return (best_give(deal),)
    ratio = _ratios(deal.value_partner, deal.cost_me)
    order = sorted(range(len(ratio)), key=lambda k: -ratio[k])  # stable, as kind="stable"
    return tuple(order[: max(count, 0)])


def gives_matching(deal: Deal, target: float) -> tuple[int, ...]:
    """The fewest best-ratio items whose value to the partner reaches `target`."""
    if not target > 0:
        return ()
    ratio = _ratios(deal.value_partner, deal.cost_me)
    chosen = []
    total = 0.0
    for k in sorted(range(len(ratio)), key=lambda k: -ratio[k]):
        value = deal.value_partner[k]
        total = total + value
        if total - value < target:  # the value given before adding this item
            chosen.append(k)
    return tuple(chosen)


def cost_of(deal: Deal, items: tuple[int, ...] | list[int]) -> float:
    """What giving `items` costs me, summed in item order."""
    total = 0.0
    for k in sorted(items):
        total += deal.cost_me[k]
    return total


def best_ask(deal: Deal) -> tuple[int, float]:
    """The item to ask for (best value to me per unit of the partner's cost) and that ratio."""
    ratio = _ratios(deal.value_me, deal.cost_partner)
    k = _argmax(ratio)
    return k, ratio[k]


def below_batna(deal: Deal, planned: float, expected: float) -> bool:
    """The deal pays less than my BATNA: S/2 + expected - planned cost < BATNA."""
    return deal.surplus / 2 + expected - planned < deal.batna


def draw(deal: Deal, prob: float) -> bool:
    """One Bernoulli draw from the model's generator (the batch form draws one per deal too)."""
    assert deal.rng is not None
    return bool(deal.rng.random() < prob)


# --------------------------------------------------------------------------- the twins


@register("naive" + SUFFIX)
class NaivePerDeal(DealStrategy):
    """`naive`, one deal at a time."""

    Params = NaiveParams

    def decide(self, deal: Deal) -> Action:
        give = best_gives(deal, self.params.gives_per_deal)
        if deal.role == "open":
            return Action(give=give)
        return Action(give=give, accept=True)


@register("holdout" + SUFFIX)
class HoldoutPerDeal(DealStrategy):
    """`holdout`, one deal at a time."""

    Params = StrategyParams

    def decide(self, deal: Deal) -> Action:
        return Action()


@register("reciprocal" + SUFFIX)
class ReciprocalPerDeal(DealStrategy):
    """`reciprocal`, one deal at a time."""

    Params = ReciprocalParams

    def decide(self, deal: Deal) -> Action:
        p, m = self.params, deal.memory
        first_ok = True if not p.discriminating else m["belief"] >= p.standing
        if deal.role == "open":
            matched = gives_matching(deal, m["last_received"] / (1.0 + m["demand"]))
            forgive = draw(deal, p.generosity) and m["last_received"] <= 0
            first = not m["met"] and first_ok
            give = (best_give(deal),) if first or forgive else (matched if m["met"] else ())
            walk = p.walks and below_batna(deal, 0.0, m["expectation"])
            return Action(give=() if walk else give, framed=p.frames, walk=walk)
        o = deal.offer
        assert o is not None
        unconditional = not o["conditional"] and not o["reads_weakness"]
        give = gives_matching(deal, o["perceived"] / (1.0 + m["demand"])) if unconditional else ()
        if draw(deal, p.generosity) and unconditional and o["perceived"] <= 0:
            give = (best_give(deal),)
        good_standing = m["last_received"] > 0 if m["met"] else first_ok
        fair = o["perceived"] >= (1.0 + m["demand"]) * cost_of(deal, o["ask"])
        accept = o["conditional"] and fair and good_standing and not o["reads_weakness"]
        expected = 0.0 if o["conditional"] and not accept else o["perceived"]
        walk = p.walks and below_batna(deal, 0.0, expected)
        return Action(give=give, accept=accept, walk=walk)


@register("transactional" + SUFFIX)
class TransactionalPerDeal(DealStrategy):
    """`transactional`, one deal at a time."""

    Params = TransactionalParams

    def decide(self, deal: Deal) -> Action:
        p, m = self.params, deal.memory
        if deal.role == "open":
            give = best_give(deal)
            ask, _ = best_ask(deal)
            trade = deal.cost_me[give] * p.min_gain < deal.value_me[ask] and p.offers_trades
            walk = p.walks and below_batna(deal, 0.0, m["expectation"])
            return Action(
                give=(give,) if trade and not walk else (),
                ask=(ask,) if trade else (),
                conditional=trade and not walk,
                walk=walk,
            )
        o = deal.offer
        assert o is not None
        gain = o["perceived"] >= (1.0 + m["demand"]) * p.min_gain * cost_of(deal, o["ask"])
        accept = o["conditional"] and gain and not o["reads_weakness"]
        walk = False
        if p.walks:
            planned = cost_of(deal, o["ask"] if accept else ())
            expected = 0.0 if o["conditional"] and not accept else o["perceived"]
            walk = below_batna(deal, planned, expected)
        return Action(accept=accept, walk=walk)


@register("exploitative" + SUFFIX)
class ExploitativePerDeal(DealStrategy):
    """`exploitative`, one deal at a time."""

    Params = ExploitativeParams
    reads_gifts_as_weakness = True

    def decide(self, deal: Deal) -> Action:
        p, m = self.params, deal.memory
        if deal.role == "open":
            stopped = (
                m["met"]
                and m["expectation"] > 0
                and m["last_received"] < p.walk_tolerance * m["expectation"]
            )
            return Action(walk=stopped or below_batna(deal, 0.0, m["expectation"]))
        o = deal.offer
        assert o is not None
        accept = o["conditional"] and len(o["give"]) > 0
        renege_prob = 1.0 - (1.0 - p.renege_prob) ** (1.0 + m["demand"])
        renege = draw(deal, renege_prob) and accept
        stopped = o["perceived"] < p.walk_tolerance * m["expectation"] and m["met"]
        walk = (stopped and m["expectation"] > 0) or below_batna(deal, 0.0, o["perceived"])
        return Action(accept=accept, renege=renege, walk=walk)


@register("strategic" + SUFFIX)
class StrategicPerDeal(DealStrategy):
    """`strategic`, one deal at a time."""

    Params = StrategicParams
    chooses_partners = True
    continuation = 0.0  # set from the batch view: a `Deal` does not carry it

    def open(self, view: DealView) -> Opening:
        self.continuation = view.continuation
        return super().open(view)

    def respond(self, view: DealView) -> Response:
        self.continuation = view.continuation
        return super().respond(view)

    def _checklist(self, deal: Deal) -> int:
        p, m = self.params, deal.memory
        _, ask_ratio = best_ask(deal)
        likely = m["belief"] >= p.trust or m["last_received"] > 0
        return (
            int(self.continuation >= p.repeat_min)
            + int(max(_ratios(deal.value_partner, deal.cost_me)) >= p.ratio_min)
            + int(p.frames)
            + int(ask_ratio >= p.ratio_min)
            + int(likely)
        )

    def _gives(self, deal: Deal) -> tuple[int, ...]:
        p, m = self.params, deal.memory
        rested = m["streak"] == 0 or m["idle"] >= p.pause
        ok = self._checklist(deal) >= p.checklist_min and m["streak"] < p.patience and rested
        if not ok:
            return ()
        stranger = not m["met"] and not m["heard"]
        return (_argmin(deal.cost_me),) if stranger and p.tests_unknown else (best_give(deal),)

    def _avoid(self, deal: Deal) -> bool:
        p, m = self.params, deal.memory
        return p.walks and (m["reneged"] or m["belief"] < p.avoid_below)

    def decide(self, deal: Deal) -> Action:
        p, m = self.params, deal.memory
        if deal.role == "open":
            give = self._gives(deal)
            ask, ask_ratio = best_ask(deal)
            ask_now = p.conditional and m["met"] and m["streak"] > 0 and ask_ratio >= p.ratio_min
            conditional = ask_now and bool(give)
            walk = p.walks and (self._avoid(deal) or below_batna(deal, 0.0, m["expectation"]))
            return Action(
                give=() if walk else give,
                ask=(ask,) if conditional else (),
                conditional=conditional and not walk,
                framed=p.frames,
                one_time=p.one_time,
                walk=walk,
            )
        o = deal.offer
        assert o is not None
        gift = not o["conditional"] and o["perceived"] > 0
        if gift:
            match = gives_matching(deal, o["perceived"] / (1.0 + m["demand"]))
            give = () if o["reads_weakness"] else match
        else:
            give = () if o["conditional"] else self._gives(deal)
        fair = o["perceived"] >= (1.0 + m["demand"]) * cost_of(deal, o["ask"])
        accept = o["conditional"] and fair and not o["reads_weakness"]
        walk = False
        if p.walks:
            expected = 0.0 if o["conditional"] and not accept else o["perceived"]
            walk = self._avoid(deal) or below_batna(deal, 0.0, expected)
        return Action(give=give, accept=accept, framed=p.frames, one_time=p.one_time, walk=walk)


# --------------------------------------------------------------------------- measuring


def twin_config(config: dict[str, Any]) -> dict[str, Any]:
    """The same configuration with every strategy of the (default) mix replaced by its twin."""
    from environments.config import PopulationConfig

    population = dict(config.get("population", {}))
    mix = population.get("mix") or PopulationConfig().mix
    population["mix"] = {f"{name}{SUFFIX}": share for name, share in mix.items()}
    return {**config, "population": population}


# A second, richer check: initiator matching with partner choice, several deals a step,
# execution and perception noise, contact decay and strategy evolution.
RICH = {
    "deal": {
        "matching": "initiator",
        "deals_per_step": 2,
        "noise": 0.05,
        "perception_noise": 0.05,
        "continuation": 0.85,
    },
    "reputation": {
        "gossip_prob": 0.2,
        "referral_prob": 0.05,
        "contact_decay": 0.1,
        "perception_noise": 0.05,
    },
    "evolution": {"rule": "imitation", "update_every": 5, "mutation_rate": 0.01},
}


def check_identical(n: int = 300, steps: int = 15, seed: int = 5) -> None:
    """Run small models with the built-ins and with the twins; every table must match exactly."""
    from environments.model import ConcessionModel

    unsuffix = pl.col(pl.String).str.replace(SUFFIX, "", literal=True)  # strategy, placed_as
    cases = {"W1": w1_config(n, reputation=True), "rich": {**w1_config(n), **RICH}}
    for label, base in cases.items():
        batch = ConcessionModel(base, rng=seed).run(steps)
        twins = ConcessionModel(twin_config(base), rng=seed).run(steps)
        assert_frame_equal(batch.steps_frame(), twins.steps_frame(), check_exact=True)
        for frame in ("strategy_frame", "agents_frame"):
            assert_frame_equal(
                getattr(batch, frame)(),
                getattr(twins, frame)().with_columns(unsuffix),
                check_exact=True,
            )
        deals = int(batch.steps_frame()["deals"].sum())
        print(
            f"  check ({label}): N = {n}, {steps} steps, seed {seed}: the step, strategy and agent "
            f"tables of the batch strategies and their per-deal twins are identical "
            f"({deals:,} deals)"
        )


def main() -> None:
    """Check the twins, time both forms, print the ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 steps")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=None, help="default 5 (quick: 2)")
    parser.add_argument("--repeats", type=int, default=3, help="batch timings (median reported)")
    args = parser.parse_args()
    steps = args.steps or (2 if args.quick else 5)
    print(machine_line())
    print(f"adapter ratio: W1 (everything on), N = {args.n:,}, {steps} steps, all six strategies")
    check_identical()
    config = w1_config(args.n, reputation=True)
    batches = [time_model(config, steps) for _ in range(args.repeats)]
    batch = sorted(batches, key=lambda r: r["deals_per_s"])[len(batches) // 2]
    adapter = time_model(twin_config(config), steps)
    if adapter["deals"] != batch["deals"]:
        raise SystemExit(f"deal counts differ: {adapter['deals']} vs {batch['deals']}")
    ratio = batch["deals_per_s"] / adapter["deals_per_s"]
    all_runs = ", ".join(f"{r['run_s']:.3f}" for r in batches)
    print(
        f"  batch:    run {batch['run_s']:.3f} s (median of {args.repeats}: {all_runs}), "
        f"{fmt_rate(batch['deals_per_s'])}"
    )
    print(f"  per deal: run {adapter['run_s']:.3f} s, {fmt_rate(adapter['deals_per_s'])}")
    print(f"  batch / per-deal adapter: {ratio:.0f} x  ({batch['deals']:,} deals each)")
    emit(
        {
            "workload": "adapter",
            "quick": args.quick,
            "n": args.n,
            "steps": steps,
            "batch": batch,
            "batch_run_s_all": [r["run_s"] for r in batches],
            "adapter": adapter,
            "ratio": ratio,
            "peak_mib": peak_mib(),
        }
    )


if __name__ == "__main__":
    main()
