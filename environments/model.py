"""ConcessionModel: the Mesa model that wires the parts and steps the game.

State lives in numpy arrays owned by the model (per negotiator) and by
`Relationships` (per contact and side). A step forms all deals of the step as
arrays, asks each strategy for its decisions on the deals where it acts,
resolves payoffs with `game`, and updates memory, reputation and referrals
with array operations. The order of events in a step is documented in
docs/model.md and in `step`.

Randomness comes only from `self.rng` (Mesa's `Model(rng=...)`), drawn in a
fixed order, so a seed fixes the run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import polars as pl

from agents import decide
from agents.negotiator import Negotiator
from agents.strategy import (
    DealView,
    Opening,
    Response,
    Strategy,
    resolve_strategy,
)
from environments import evolution, game
from environments.accounting import (
    AGENT_COUNTERS,
    MEASURES,
    STEP_COUNTERS,
    add_deals,
    measures,
)
from environments.config import ModelConfig, load_config
from environments.limits import check_memory, return_freed_memory
from environments.network import (
    adjacency,
    build_graph,
    group_by_key,
    pick_other_contact,
    place_strategies,
)
from environments.relationships import ORIGIN_REFERRAL, Relationships, remember_deals
from environments.reputation import (
    ASSESSMENT,
    HeardBeliefs,
    gossip_hearers,
    hear_gossip,
    move,
    reputation_sums,
)
from environments.valuations import draw_valuations

_AGENT_MEASURES = measures(AGENT_COUNTERS)
_STEP_MEASURES = measures(STEP_COUNTERS)

# A negotiator that chooses partners by belief still picks one it believes
# worthless with this weight (it must deal with someone, and beliefs can recover).
PARTNER_FLOOR = 0.01

# What happened in a deal, for drawing the last step's deals.
DEAL_OUTCOMES = ("reciprocated", "not returned", "no gives", "walked away")


class ConcessionModel(mesa.Model):
    """Negotiators playing repeated concession games on a referral network.

    `ConcessionModel(config)` takes a `ModelConfig`, a dict, a TOML path or
    keyword sections (`ConcessionModel(deal={"continuation": 0.5})`).
    `rng` (an int seed) overrides the configuration's seed.
    """

    def __init__(
        self,
        config: ModelConfig | dict[str, Any] | str | Path | None = None,
        *,
        rng: int | None = None,
        **sections: Any,
    ) -> None:
        cfg = load_config(config, **sections)
        # A run too big for this machine is refused before anything is built
        # (a file network is checked once loaded, from its real size).
        if cfg.network.kind != "file":
            return_freed_memory(check_memory(cfg))
        seed = rng if rng is not None else cfg.seed
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        super().__init__(rng=seed)
        self.seed = int(seed)
        self.config = cfg
        self._wall = 0.0

        # Draw order is part of the contract: graph, placement, valuations,
        # BATNAs. Paired counterfactuals (population.replace) change none of
        # these, so a pair shares its base run's network and placement.
        self.graph = build_graph(cfg.network, cfg.population.n, self.rng)
        if cfg.network.kind == "file":
            return_freed_memory(check_memory(cfg, graph=self.graph))
        self.n = self.graph.n
        self.strategy_names: list[str] = cfg.strategy_names()
        self.strategies: list[Strategy] = [
            resolve_strategy(name)(cfg.strategies.get(name, {})) for name in self.strategy_names
        ]
        placed = place_strategies(
            self.graph,
            cfg.population.mix,
            cfg.population.placement,
            cfg.population.attribute,
            self.rng,
        )
        lookup = np.array(
            [
                self.strategy_names.index(cfg.population.replace.get(s, s))
                for s in cfg.population.mix
            ],
            dtype=np.int16,
        )
        self.strategy = lookup[placed]
        # The strategy placed, before any replacement (an index into the mix).
        self.placed = placed.astype(np.int16)
        # Mutation draws among the strategies the population started with (after any replacement).
        self._initial_strategies = np.unique(self.strategy)
        self.cost, self.value = draw_valuations(cfg.items, self.n, self.rng)
        self.batna = self.rng.uniform(cfg.deal.batna.low, cfg.deal.batna.high, self.n)
        self.relationships = Relationships(self.n, self.graph.edges, cfg.reputation.initial_belief)
        self.heard = HeardBeliefs(
            self.n, cfg.reputation.initial_belief, cfg.reputation.heard_capacity
        )
        self.degree = self.graph.degree()
        self._adjacency: tuple[np.ndarray, np.ndarray] | None = None
        self._chooses_partners = np.array(
            [getattr(s, "chooses_partners", False) for s in self.strategies]
        )
        self._reads_weakness_always = np.array(
            [getattr(s, "reads_gifts_as_weakness", False) for s in self.strategies]
        )
        # How each strategy decides each move: its compiled rule in the round's loop, or asked.
        self._rules = {
            move: decide.rules_for(self.strategies, move) for move in ("open", "respond")
        }
        # Whether word of mouth (gossip, referrals, warnings) follows the deals.
        self._spreads_word = cfg.reputation.gossip_prob > 0 or cfg.reputation.referral_prob > 0
        # Negotiators by wealth at the last measure: nearly sorted for the next one.
        self._wealth_order = np.arange(self.n)

        # A negotiator's counters side by side (a row each, so adding a deal
        # touches one place); each counter is also an attribute (self.wealth,
        # ...), a view of its column. The scratch rows stay zero between rounds.
        self._agent_totals = np.zeros((self.n, len(AGENT_COUNTERS)), dtype=np.float64)
        self._agent_scratch = np.zeros((self.n, MEASURES), dtype=np.float64)
        for column, name in enumerate(AGENT_COUNTERS):
            setattr(self, name, self._agent_totals[:, column])
        self._step_records: list[dict[str, float]] = []
        self._strategy_records: list[dict[str, np.ndarray]] = []
        self._agent_snapshots: list[pl.DataFrame] = []

        # Negotiators are real Mesa agents, views over the arrays above.
        Negotiator.create_agents(self, self.n)

    # ------------------------------------------------------------------ running

    def run(self, steps: int | None = None) -> ConcessionModel:
        """Run `steps` steps (default: the configuration's `steps`); returns the model."""
        steps = self.config.steps if steps is None else steps
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        self._wall += time.perf_counter() - start
        return self

    def step(self) -> None:
        """One step: form deals, play them, update memory; see docs/model.md for the order."""
        a, b, pair, side_a = self._form_deals()
        counters = np.zeros((len(self.strategies), len(STEP_COUNTERS)), np.float64)
        fresh = 0
        self._last_deals: list[tuple[np.ndarray, ...]] = []
        self._heard_of: list[tuple[np.ndarray, ...]] = []
        # Under `edges` matching every contact deals once: a single round.
        rounds = [slice(None)] if self.config.deal.matching == "edges" else self._rounds(pair)
        for rows in rounds:
            fresh += self._play(a[rows], b[rows], pair[rows], side_a[rows], counters)
        spread = self._word_of_mouth()
        decayed = self._decay_contacts()
        self._evolve()
        self._record_step(
            len(a), dict(zip(STEP_COUNTERS, counters.T, strict=True)), fresh, spread, decayed
        )
        every = self.config.output.agents_every
        if every and self.steps % every == 0:
            self._agent_snapshots.append(self._snapshot())

    def last_deals(self) -> pl.DataFrame:
        """The deals of the last step: initiator, responder, pair, and outcome.

        outcome is one of "reciprocated" (both gave), "not returned" (one side
        gave), "no gives" (closed, nobody gave), "walked away". give_* are the
        item bitmasks each side actually gave; payoff_* what each side earned.
        """
        parts = getattr(self, "_last_deals", [])
        if not parts:
            return pl.DataFrame(schema=_DEAL_SCHEMA)
        a, b, pair, code, give_a, give_b, pay_a, pay_b = (
            np.concatenate(x) for x in zip(*parts, strict=True)
        )
        return pl.DataFrame(
            {
                "initiator": a,
                "responder": b,
                "pair": pair,
                "outcome": np.array(DEAL_OUTCOMES)[code],
                "give_initiator": give_a,
                "give_responder": give_b,
                "payoff_initiator": pay_a,
                "payoff_responder": pay_b,
            },
            schema=_DEAL_SCHEMA,
        )

    # ------------------------------------------------------------------ deals

    def _form_deals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Who deals with whom this step: (initiator, responder, pair, initiator's side)."""
        rel = self.relationships
        deal = self.config.deal
        pairs = rel.active_pairs()
        if deal.matching == "edges":
            # Every contact pair deals once; which side opens is a fair coin
            # (irrelevant, and not drawn, under the simultaneous protocol).
            if deal.protocol == "simultaneous":
                side_a = np.zeros(len(pairs), dtype=np.int64)
            else:
                side_a = (self.rng.random(len(pairs)) < 0.5).astype(np.int64)
            a, b = rel.ends(pairs, side_a)
            return a, b, pairs, side_a
        # initiator: each negotiator starts deals_per_step deals with contacts
        # drawn at random; strategies that choose partners by reputation
        # (`chooses_partners`) draw them in proportion to their belief.
        ends = np.concatenate([rel.u[pairs], rel.v[pairs]])
        other = np.concatenate([rel.v[pairs], rel.u[pairs]])
        via = np.concatenate([pairs, pairs])
        side = np.concatenate([np.zeros(len(pairs), np.int64), np.ones(len(pairs), np.int64)])
        order = np.argsort(ends, kind="stable")
        ends, other, via, side = ends[order], other[order], via[order], side[order]
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=self.n), out=indptr[1:])
        deg = np.diff(indptr)
        starters = np.repeat(np.flatnonzero(deg > 0), deal.deals_per_step)
        draws = self.rng.random(len(starters))
        weight = np.where(
            self._chooses_partners[self.strategy[ends]], rel.belief[via, side] + PARTNER_FLOOR, 1.0
        )
        cum = np.cumsum(weight)
        lo = np.where(indptr[starters] > 0, cum[indptr[starters] - 1], 0.0)
        hi = cum[indptr[starters + 1] - 1]
        pick = np.searchsorted(cum, lo + draws * (hi - lo), side="right")
        pick = np.clip(pick, indptr[starters], indptr[starters + 1] - 1)
        a, b, pair = starters, other[pick], via[pick]
        return a, b, pair, rel.side_of(pair, a)

    @staticmethod
    def _rounds(pair: np.ndarray) -> list[np.ndarray]:
        """Split deals into rounds in which each contact appears once, so memory writes never collide."""
        if len(pair) == 0:
            return []
        order = np.argsort(pair, kind="stable")
        sp = pair[order]
        start = np.r_[0, np.flatnonzero(sp[1:] != sp[:-1]) + 1]
        run_start = np.repeat(start, np.diff(np.r_[start, len(sp)]))
        occurrence = np.empty(len(pair), dtype=np.int64)
        occurrence[order] = np.arange(len(sp)) - run_start
        if occurrence.max() == 0:
            return [np.arange(len(pair))]
        return [np.flatnonzero(occurrence == r) for r in range(int(occurrence.max()) + 1)]

    def _view(self, me: np.ndarray, partner: np.ndarray, flat: np.ndarray) -> DealView:
        """A lazy view for one side of a round of deals: fields are gathered when a strategy reads them."""
        rel = self.relationships
        cfg = self.config

        # (np.take is two to several times faster than fancy indexing.)
        def load(view: DealView, name: str) -> np.ndarray:
            if name == "cost_me":
                return np.take(self.cost, view.me, axis=0)
            if name == "value_me":
                return np.take(self.value, view.me, axis=0)
            if name == "cost_partner":
                return np.take(self.cost, view.partner, axis=0)
            if name == "value_partner":
                return np.take(self.value, view.partner, axis=0)
            if name == "batna_me":
                return self.batna.take(view.me)
            # This side's flat index into the contact arrays, found once per view.
            mine = view.__dict__.get("_flat")
            if mine is None:
                mine = view.__dict__["_flat"] = flat.take(view.rows)
            if name == "partner_streak":
                return rel.streak.reshape(-1).take(mine ^ 1)
            if name == "heard":
                return rel.heard.reshape(-1).take(mine) | rel.met.reshape(-1).take(mine)
            return getattr(rel, name).reshape(-1).take(mine)

        return DealView(
            me,
            partner,
            self.rng,
            cfg.deal.surplus,
            cfg.deal.continuation,
            cfg.deal.recognition,
            cfg.reputation.initial_belief,
            load,
            rows=np.arange(len(me)),
        )

    def _by_strategy(
        self,
        me: np.ndarray,
        move: str,
        view: DealView,
        out: Opening | Response,
        flat: np.ndarray,
        offer: tuple[np.ndarray, ...] = (),
    ) -> None:
        """Each strategy's decisions on the deals where `me` plays it, strategies in a fixed order.

        A strategy with a compiled rule for `move` decides in one loop over
        the round (`agents.decide`), after its draws are made here in its
        turn; any other is asked through a view of its deals. `flat` is
        `me`'s side of each deal's contact in the flattened contact arrays;
        `offer`, when responding: the offer's gives, conditional flags and
        asks, its perceived value and whether it is read as weakness.
        """
        rel, cfg = self.relationships, self.config
        rules = self._rules[move]
        order, start = group_by_key(self.strategy.take(me), len(self.strategies))
        present = np.flatnonzero(np.diff(start))
        uniform = chance = game.NO_DRAWS
        for s in present:
            # Its deals, in order (all of them when it plays every deal: no split needed).
            rows = slice(None) if len(present) == 1 else order[start[s] : start[s + 1]]
            if rules.kind[s] != decide.ASKED:
                if rules.draws[s]:  # the draws its batch method would make, in its turn
                    if not len(uniform):
                        uniform = np.empty(len(me))
                    uniform[rows] = self.rng.random(start[s + 1] - start[s])
                if rules.chances[s]:
                    if not len(chance):
                        chance = np.empty(len(me))
                    demand = rel.demand.reshape(-1).take(flat[rows])
                    chance[rows] = self.strategies[s].renege_chance(demand)
                continue
            sub = view if len(present) == 1 else view.subset(rows)
            decided = getattr(self.strategies[s], move)(sub)
            for name, value in vars(decided).items():
                # `out` starts as nothing: only decisions that do something are copied.
                if not isinstance(value, np.ndarray) or value.any():
                    getattr(out, name)[rows] = value
        if not (rules.kind[present] > decide.HOLDOUT).any():
            return
        fields = (
            rules.kind, rules.settings, order, start, me, view.partner, flat, self.cost,
            self.value, self.batna, rel.met.reshape(-1), rel.heard.reshape(-1),
            rel.belief.reshape(-1), rel.last_received.reshape(-1), rel.streak.reshape(-1),
            rel.idle.reshape(-1), rel.reneged.reshape(-1), rel.demand.reshape(-1),
            rel.expectation.reshape(-1),
        )  # fmt: skip
        half, w = cfg.deal.surplus / 2, cfg.deal.continuation
        if move == "open":
            decide.open_all(
                *fields, uniform, half, w,
                out.give, out.conditional, out.ask, out.walk, out.framed, out.one_time,
            )  # fmt: skip
        else:
            decide.respond_all(
                *fields, *offer, uniform, chance, half, w,
                out.give, out.accept, out.renege, out.walk, out.framed, out.one_time,
            )  # fmt: skip

    def _draws(self, made: bool, d: int) -> np.ndarray:
        """One uniform draw per deal if `made`, else none (`game.NO_DRAWS`): the generator moves only when a rule draws."""
        return self.rng.random(d) if made else game.NO_DRAWS

    def _play(
        self,
        a: np.ndarray,
        b: np.ndarray,
        pair: np.ndarray,
        side_a: np.ndarray,
        counters: np.ndarray,
    ) -> int:
        """Play one round of deals (each contact at most once); returns relationships ended."""
        cfg = self.config
        deal, beh = cfg.deal, cfg.behaviour
        rel = self.relationships
        d = len(a)
        simultaneous = deal.protocol == "simultaneous"
        noise, misread = deal.noise, deal.perception_noise
        # Gifts are read as weakness at random only when some BATNA is positive.
        weakness = beh.weakness_sensitivity
        weak_draws = weakness > 0 and deal.batna.high > 0
        always_weak_a = self._reads_weakness_always.take(self.strategy.take(a))
        always_weak_b = self._reads_weakness_always.take(self.strategy.take(b))

        flat_a = 2 * pair + side_a  # each side's place in the flattened contact arrays
        flat_b = flat_a ^ 1
        view_a = self._view(a, b, flat_a)
        opening = Opening.nothing(d)
        self._by_strategy(a, "open", view_a, opening, flat_a)
        opening.give = game.flip(opening.give, a, b, self.cost, self.value, noise, self.rng)

        view_b = self._view(b, a, flat_b)
        if simultaneous:
            answer = Opening.nothing(d)
            self._by_strategy(b, "open", view_b, answer, flat_b)
            answer.give = game.flip(answer.give, b, a, self.cost, self.value, noise, self.rng)
            answer_conditional = answer.conditional
            accept = renege = weak_b_offer = game.NO_FLAGS
            offer_seen = flips = game.NO_DRAWS
        else:
            view_b.offer_give = opening.give
            view_b.offer_conditional = opening.conditional
            view_b.offer_ask = opening.ask
            view_b.offer_framed = opening.framed
            offer_seen, weak_b_offer = game.offer_received(
                a, b, opening.give, opening.framed, self.cost, self.value, self.batna, always_weak_b,
                self._draws(misread > 0, d), misread, deal.recognition,
                self._draws(weak_draws, d), weakness, deal.surplus / 2,
            )  # fmt: skip
            view_b.offer_perceived, view_b.reads_weakness = offer_seen, weak_b_offer
            answer = Response.nothing(d)
            offer = (opening.give, opening.conditional, opening.ask, offer_seen, weak_b_offer)
            self._by_strategy(b, "respond", view_b, answer, flat_b, offer)
            answer_conditional = game.NO_FLAGS
            accept, renege = answer.accept, answer.renege
            flips = self._draws(noise > 0, d)

        settled, seen_by_a, seen_by_b, weak_a, weak_b, code = game.settle(
            simultaneous, a, b, self.cost, self.value, self.batna, deal.surplus / 2,
            opening.give, opening.conditional, opening.framed, opening.walk,
            answer.give, answer_conditional, opening.ask, answer.framed,
            answer.walk, accept, renege, offer_seen,
            flips, noise, self._draws(misread > 0, d), self._draws(misread > 0, d), misread,
            deal.recognition, always_weak_a, always_weak_b, weak_b_offer,
            self._draws(weak_draws, d), self._draws(weak_draws and simultaneous, d), weakness,
        )  # fmt: skip
        out = game.Outcome(*settled)
        closed = ~out.walked

        # Memory of both sides: precedent, satisfaction, streaks, demand, direct experience.
        satisfaction = self._remember(
            pair, side_a, closed, out.give_a, out.give_b, seen_by_a, seen_by_b,
            out.cost_a, out.cost_b, answer.one_time, opening.one_time, weak_a, weak_b,
        )  # fmt: skip
        if self._spreads_word:
            self._heard_of.append(
                (
                    a[closed],
                    b[closed],
                    out.give_a[closed] != 0,
                    out.give_b[closed] != 0,
                    satisfaction[0][closed],
                    satisfaction[1][closed],
                )
            )
        rel.reneged[pair[out.reneged], side_a[out.reneged]] = True
        rel.last_used[pair[closed]] = self.steps

        self._account(a, b, pair, out, counters)
        self._last_deals.append(
            (a, b, pair, code, out.give_a, out.give_b, out.payoff_a, out.payoff_b)
        )

        # The shadow of the future: each relationship ends with probability 1 - w.
        if deal.continuation < 1.0:
            ends = pair[self.rng.random(d) >= deal.continuation]
            rel.clear_memory(ends)
            # A referral made a relationship, not a tie of the network: when
            # it ends the two are no longer contacts (beliefs stay; a later
            # referral revives the contact). Graph contacts stay. This keeps
            # contacts bounded: referrals add at most 2 q_ref per deal and
            # 1 - w of them end after each deal.
            by_referral = ends[rel.origin[ends] == ORIGIN_REFERRAL]
            if len(by_referral):
                rel.active[by_referral] = False
                self._adjacency = None
            return len(ends)
        return 0

    def _remember(
        self,
        pair: np.ndarray,
        side_a: np.ndarray,
        closed: np.ndarray,
        give_a: np.ndarray,
        give_b: np.ndarray,
        seen_by_a: np.ndarray,
        seen_by_b: np.ndarray,
        cost_a: np.ndarray,
        cost_b: np.ndarray,
        one_time_to_a: np.ndarray,
        one_time_to_b: np.ndarray,
        weak_a: np.ndarray,
        weak_b: np.ndarray,
    ) -> np.ndarray:
        """Update the memory of both sides of a round's deals.

        Every deal is counted on its contact; only closed deals change
        memory: precedent (the expectation moves toward what was received,
        less for a gift framed as a one-time exception), satisfaction
        (perceived value against the expectation, losses weighted), streaks,
        demand (raised by over-giving and by gifts read as weakness), direct
        experience. Returns each side's satisfaction (row 0 side a, row 1
        side b; 0 where walked). The loop is compiled:
        `relationships.remember_deals`.
        """
        rel, beh = self.relationships, self.config.behaviour
        return remember_deals(
            pair, side_a, closed, give_a, give_b, seen_by_a, seen_by_b, cost_a, cost_b,
            one_time_to_a, one_time_to_b, weak_a, weak_b,
            rel.expectation.reshape(-1), rel.streak.reshape(-1), rel.met.reshape(-1),
            rel.last_received.reshape(-1), rel.received_total.reshape(-1), rel.idle.reshape(-1),
            rel.demand.reshape(-1), rel.belief.reshape(-1), rel.heard.reshape(-1),
            rel.deals.reshape(-1),
            beh.reciprocity_norm, beh.loss_aversion, beh.expectation_rate, beh.exception_weight,
            beh.desperation_threshold, self.config.reputation.belief_rate,
        )  # fmt: skip

    def _account(
        self,
        a: np.ndarray,
        b: np.ndarray,
        pair: np.ndarray,
        out: game.Outcome,
        counters: np.ndarray,
    ) -> None:
        """Add a round's deals to the per-negotiator counters and to this step's per-strategy `counters`."""
        referral = ~out.walked & (self.relationships.origin[pair] == ORIGIN_REFERRAL)
        deals = (
            out.give_a, out.give_b, out.walked, out.walked_a, out.walked_b, out.reneged, referral,
            out.cost_a, out.cost_b, out.value_to_a, out.value_to_b, out.payoff_a, out.payoff_b,
            self.config.deal.surplus / 2,
        )  # fmt: skip
        add_deals(self._agent_totals, self._agent_scratch, _AGENT_MEASURES, a, b, *deals)
        scratch = np.zeros((len(counters), MEASURES), np.float64)
        add_deals(
            counters, scratch, _STEP_MEASURES, self.strategy.take(a), self.strategy.take(b), *deals
        )

    # ------------------------------------------------------------------ word of mouth

    def adjacency(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Current contacts as (indptr, neighbours, pair index); rebuilt only when contacts change."""
        if self._adjacency is None:
            rel = self.relationships
            pairs = rel.active_pairs()
            indptr, nbrs, contact = adjacency(self.n, rel.u[pairs], rel.v[pairs])
            self._adjacency = (indptr, nbrs, pairs[contact])
        return self._adjacency

    def _locate(self, holder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Where `holder`'s belief about `target` lives: a flat index into the contact arrays, or -1."""
        rel = self.relationships
        pair = rel.find(holder, target)
        on_pair = pair >= 0
        flat = np.full(len(pair), -1, dtype=np.int64)
        p = pair[on_pair]
        flat[on_pair] = 2 * p + rel.side_of(p, holder[on_pair])
        return flat

    def belief_of(
        self, holder: np.ndarray, target: np.ndarray, flat: np.ndarray | None = None
    ) -> np.ndarray:
        """What `holder` believes of `target`: from the contact arrays, or from what it heard."""
        flat = self._locate(holder, target) if flat is None else flat
        on_pair = flat >= 0
        out = np.empty(len(flat))
        out[on_pair] = self.relationships.belief.reshape(-1)[flat[on_pair]]
        out[~on_pair] = self.heard.get(holder[~on_pair], target[~on_pair])
        return out

    def _set_beliefs(
        self,
        holder: np.ndarray,
        target: np.ndarray,
        values: np.ndarray,
        flat: np.ndarray | None = None,
    ) -> None:
        flat = self._locate(holder, target) if flat is None else flat
        on_pair = flat >= 0
        self.relationships.belief.reshape(-1)[flat[on_pair]] = values[on_pair]
        self.relationships.heard.reshape(-1)[flat[on_pair]] = True
        self.heard.set(holder[~on_pair], target[~on_pair], values[~on_pair])

    def _word_of_mouth(self) -> dict[str, int]:
        """Gossip, referrals and negative word of mouth about this step's closed deals."""
        rep = self.config.reputation
        counts = {"gossip": 0, "referrals": 0, "new_contacts": 0, "negative_word_of_mouth": 0}
        if not self._heard_of:  # (nothing is kept when neither gossip nor referrals are on)
            return counts
        a, b, gave_a, gave_b, sat_a, sat_b = (
            np.concatenate(x) for x in zip(*self._heard_of, strict=True)
        )
        if rep.gossip_prob > 0:
            counts["gossip"] = self._gossip(a, b, gave_a, gave_b)
        if rep.referral_prob > 0:
            teller = np.concatenate([a, b])
            about = np.concatenate([b, a])
            satisfaction = np.concatenate([sat_a, sat_b])
            counts.update(self._refer(teller, about, satisfaction))
        return counts

    def _gossip(self, a: np.ndarray, b: np.ndarray, gave_a: np.ndarray, gave_b: np.ndarray) -> int:
        """Each contact of a participant hears of the deal with probability q and assesses both actions."""
        rep = self.config.reputation
        indptr, nbrs, contact = self.adjacency()
        participant = np.concatenate([a, b])
        # Every (deal, participant, contact) triple hears with probability q.
        # Rather than a draw per triple, draw the gaps between the triples that
        # hear (geometric): the same Bernoulli(q) process, at a cost and memory
        # proportional to the q x triples that hear, not to all triples.
        ends = np.cumsum(indptr[participant + 1] - indptr[participant])
        triples = int(ends[-1]) if len(ends) else 0
        positions = bernoulli_positions(triples, rep.gossip_prob, self.rng)
        hearer, d, via, from_a = gossip_hearers(a, b, indptr, nbrs, contact, positions, ends)
        del positions
        if len(hearer) == 0:
            return 0
        seen_a, seen_b = gave_a.take(d), gave_b.take(d)
        if rep.perception_noise > 0:
            seen_a = seen_a ^ (self.rng.random(len(d)) < rep.perception_noise)
            seen_b = seen_b ^ (self.rng.random(len(d)) < rep.perception_noise)
        rel, heard = self.relationships, self.heard
        hear_gossip(
            hearer, d, via, from_a, a, b, seen_a, seen_b, ASSESSMENT[rep.assessment], rep.belief_rate,
            rel.belief.reshape(-1), rel.heard.reshape(-1), rel.index, rel.contact_bits, self.n,
            heard.target, heard.belief, heard.count, heard.initial,
        )  # fmt: skip
        return len(hearer)

    def _refer(
        self, teller: np.ndarray, about: np.ndarray, satisfaction: np.ndarray
    ) -> dict[str, int]:
        """Satisfied participants refer their partner to a contact; dissatisfied ones warn one."""
        rep = self.config.reputation
        rel = self.relationships
        speaks = (satisfaction != 0) & (self.rng.random(len(teller)) < rep.referral_prob)
        teller, about, positive = teller[speaks], about[speaks], satisfaction[speaks] > 0
        listener = pick_other_contact(self.adjacency(), teller, about, self.rng)
        ok = listener >= 0
        teller, about, positive, listener = teller[ok], about[ok], positive[ok], listener[ok]

        # Negative word of mouth: the listener's belief about the partner falls.
        neg = ~positive
        if neg.any():
            h, t = listener[neg], about[neg]
            flat = self._locate(h, t)
            fallen = move(self.belief_of(h, t, flat), np.zeros(len(h)), rep.belief_rate)
            self._set_beliefs(h, t, fallen, flat)

        # Referrals: the listener gains the partner as a contact, trusting the referrer.
        r_teller, r_about, r_listener = teller[positive], about[positive], listener[positive]
        # (Counts: adding them in any order gives the same sums; np.add.at is several times slower.)
        self.referrals_sent += np.bincount(r_teller, minlength=self.n)
        self.referrals_received += np.bincount(r_about, minlength=self.n)
        key = np.minimum(r_listener, r_about) * self.n + np.maximum(r_listener, r_about)
        _, first = np.unique(key, return_index=True)
        first = np.sort(first)
        h, t, via = r_listener[first], r_about[first], r_teller[first]
        pair = rel.find(h, t)
        revive = (pair >= 0) & ~rel.active[np.maximum(pair, 0)]
        fresh = pair < 0
        trust = rep.referral_trust
        # The new contact's belief blends trust in the referrer with what was
        # heard of it (or, for a lapsed contact, with what it still believes).
        revived = np.maximum(pair, 0)
        side_h = (rel.v[revived] == h).astype(np.int64)
        prior_h = np.where(revive, rel.belief[revived, side_h], self.heard.get(h, t))
        prior_t = np.where(revive, rel.belief[revived, 1 - side_h], self.heard.get(t, h))
        heard_h = np.where(revive, rel.heard[revived, side_h], self.heard.known(h, t))
        heard_t = np.where(revive, rel.heard[revived, 1 - side_h], self.heard.known(t, h))
        self.heard.pop(h[fresh], t[fresh])
        self.heard.pop(t[fresh], h[fresh])
        belief_h = trust * self.belief_of(h, via) + (1 - trust) * prior_h
        belief_t = trust * self.belief_of(t, via) + (1 - trust) * prior_t
        if revive.any():
            p, sh = pair[revive], side_h[revive]
            rel.active[p] = True
            rel.origin[p] = ORIGIN_REFERRAL
            rel.created[p] = self.steps
            rel.referrer[p] = via[revive]
            rel.last_used[p] = self.steps
            rel.belief[p, sh], rel.belief[p, 1 - sh] = belief_h[revive], belief_t[revive]
        if fresh.any():
            hh, tt = h[fresh], t[fresh]
            first_is_h = hh < tt
            idx = rel.add(hh, tt, origin=ORIGIN_REFERRAL, step=self.steps, referrer=via[fresh])
            rel.belief[idx, 0] = np.where(first_is_h, belief_h[fresh], belief_t[fresh])
            rel.belief[idx, 1] = np.where(first_is_h, belief_t[fresh], belief_h[fresh])
            rel.heard[idx, 0] = np.where(first_is_h, heard_h[fresh], heard_t[fresh])
            rel.heard[idx, 1] = np.where(first_is_h, heard_t[fresh], heard_h[fresh])
        added = int(revive.sum() + fresh.sum())
        if added:
            self._adjacency = None
        return {
            "referrals": int(positive.sum()),
            "new_contacts": added,
            "negative_word_of_mouth": int(neg.sum()),
        }

    def _decay_contacts(self) -> int:
        """Referral contacts unused this step are dropped with probability `contact_decay`."""
        rate = self.config.reputation.contact_decay
        if rate <= 0:
            return 0
        rel = self.relationships
        idle = np.flatnonzero(
            rel.active[: rel.size]
            & (rel.origin[: rel.size] == ORIGIN_REFERRAL)
            & (rel.last_used[: rel.size] < self.steps)
        )
        drop = idle[self.rng.random(len(idle)) < rate]
        if len(drop):
            rel.active[drop] = False
            rel.clear_memory(drop)
            self._adjacency = None
        return len(drop)

    # ------------------------------------------------------------------ evolution

    def _evolve(self) -> None:
        """Strategy change every `update_every` steps, on the payoff of the last period."""
        evo = self.config.evolution
        if evo.rule == "none" or self.steps % evo.update_every:
            return
        indptr, nbrs, _ = self.adjacency()
        payoff = self.period_payoff
        updates = evo.updates_per_event or self.n
        if evo.rule == "imitation":
            who = evolution.imitation(
                self.strategy, payoff, indptr, nbrs, evo.selection_intensity, self.rng
            )
        elif evo.rule == "death-birth":
            who = evolution.death_birth(
                self.strategy, payoff, indptr, nbrs, evo.selection_intensity, updates, self.rng
            )
        else:
            who = evolution.birth_death(
                self.strategy, payoff, indptr, nbrs, evo.selection_intensity, updates, self.rng
            )
        evolution.mutate(self.strategy, who, self._initial_strategies, evo.mutation_rate, self.rng)
        if evo.rule != "imitation":
            # Death-birth and birth-death replace a negotiator by a newcomer:
            # no one remembers it and it remembers no one. (Imitation is the
            # same negotiator changing its mind, so it keeps its memory.)
            newcomers = np.unique(who)
            self.relationships.renew(newcomers)
            self.heard.forget(newcomers)
        self.period_payoff[:] = 0.0

    def reputation(self) -> np.ndarray:
        """Mean belief others hold about each negotiator (its contacts' and those who heard of it); NaN if none."""
        rel, heard = self.relationships, self.heard
        total, count = reputation_sums(
            rel.u, rel.v, rel.active, rel.belief, rel.size,
            heard.target, heard.belief, heard.count,
        )  # fmt: skip
        return np.divide(total, count, out=np.full(self.n, np.nan), where=count > 0)

    # ------------------------------------------------------------------ measures

    def _gini(self) -> float:
        """`gini(self.wealth)`, sorted starting from the last measure's order.

        A stable sort of a nearly sorted array is several times faster than a
        sort from scratch, and the sorted values are the same.
        """
        order = self._wealth_order
        order = self._wealth_order = order[np.argsort(self.wealth[order], kind="stable")]
        return gini_of_sorted(self.wealth[order])

    def _record_step(
        self,
        n_deals: int,
        counters: dict[str, np.ndarray],
        fresh: int,
        spread: dict[str, int],
        decayed: int,
    ) -> None:
        ns = len(self.strategies)
        counts = np.bincount(self.strategy, minlength=ns).astype(np.float64)
        wealth_by = np.bincount(self.strategy, weights=self.wealth, minlength=ns)
        rec = {name: arr.copy() for name, arr in counters.items()}
        rec["negotiators"] = counts
        rec["wealth_total"] = wealth_by
        reputation = self.reputation()
        known = ~np.isnan(reputation)
        rec["reputation_total"] = np.bincount(
            self.strategy[known], weights=reputation[known], minlength=ns
        )
        rec["reputation_count"] = np.bincount(self.strategy[known], minlength=ns).astype(np.float64)
        self._strategy_records.append(rec)
        deals_sides = counters["deals"].sum()
        closed_sides = counters["closed"].sum()
        self._step_records.append(
            {
                "step": self.steps,
                "deals": n_deals,
                "closed": int(round(closed_sides / 2)),
                "walked": int(round(counters["walked"].sum() / 2)),
                "gives": int(counters["gives"].sum()),
                "giving_sides": int(counters["giving_sides"].sum()),
                "reciprocated": int(round(counters["reciprocated"].sum() / 2)),
                "reneged": int(counters["reneged"].sum()),
                "cooperation_rate": _ratio(counters["giving_sides"].sum(), closed_sides),
                "walk_rate": _ratio(counters["walked"].sum(), deals_sides),
                "payoff_per_deal": _ratio(counters["payoff"].sum(), deals_sides),
                "cost_given": float(counters["cost_given"].sum()),
                "value_received": float(counters["value_received"].sum()),
                "fresh_starts": fresh,
                "referral_deals": int(round(counters["referral_deals"].sum() / 2)),
                "referrals": spread["referrals"],
                "new_contacts": spread["new_contacts"],
                "negative_word_of_mouth": spread["negative_word_of_mouth"],
                "gossip": spread["gossip"],
                "contacts_dropped": decayed,
                "contacts": int(self.relationships.active[: self.relationships.size].sum()),
                # np.nanmean's own sum and division, without its copies and checks.
                "mean_reputation": (
                    float(np.where(known, reputation, 0.0).sum() / known.sum())
                    if known.any()
                    else float("nan")
                ),
                "gini": self._gini(),
            }
        )

    def steps_frame(self) -> pl.DataFrame:
        """One row per step: model-wide figures (see docs/model.md for each column)."""
        return pl.DataFrame(self._step_records, schema=_STEP_SCHEMA)

    def strategy_frame(self) -> pl.DataFrame:
        """One row per step and strategy: counts, payoff per deal, gives, walk-aways, shares."""
        ns = len(self.strategies)
        if not self._strategy_records:
            return pl.DataFrame(schema=_STRATEGY_SCHEMA)
        cols: dict[str, Any] = {
            "step": np.repeat(np.arange(1, len(self._strategy_records) + 1), ns),
            "strategy": self.strategy_names * len(self._strategy_records),
        }
        for name in self._strategy_records[0]:
            cols[name] = np.concatenate([r[name] for r in self._strategy_records])
        df = pl.DataFrame(cols)
        return df.select(
            "step",
            "strategy",
            pl.col("negotiators").cast(pl.Int64),
            (pl.col("negotiators") / self.n).alias("share"),
            pl.col("deals").cast(pl.Int64),
            pl.col("closed").cast(pl.Int64),
            pl.col("walked").cast(pl.Int64),
            pl.col("walked_away").cast(pl.Int64),
            pl.col("gives").cast(pl.Int64),
            pl.col("reciprocated").cast(pl.Int64),
            pl.col("reneged").cast(pl.Int64),
            "cost_given",
            "value_received",
            "payoff",
            _safe_div("payoff", "deals").alias("payoff_per_deal"),
            _safe_div("giving_sides", "closed").alias("cooperation_rate"),
            _safe_div("walked", "deals").alias("walk_rate"),
            _safe_div("wealth_total", "negotiators").alias("wealth_mean"),
            _safe_div("reputation_total", "reputation_count").alias("reputation"),
            pl.col("referral_deals").cast(pl.Int64),
            "referral_payoff",
        )

    def agents_frame(self) -> pl.DataFrame:
        """One row per negotiator, at the current step."""
        names = np.array(self.strategy_names, dtype=object)
        cost = self.cost_given
        return pl.DataFrame(
            {
                "agent_id": np.arange(self.n, dtype=np.int64),
                "strategy": names[self.strategy].tolist(),
                "placed_as": np.array(list(self.config.population.mix), dtype=object)[
                    self.placed
                ].tolist(),
                "degree": self.degree.astype(np.int64),
                "contacts": self.relationships.contacts_count().astype(np.int64),
                "batna": self.batna,
                "wealth": self.wealth,
                "deals": self.deals.astype(np.int64),
                "closed": self.closed.astype(np.int64),
                "walked": self.walked.astype(np.int64),
                "gives": self.gives.astype(np.int64),
                "giving_deals": self.giving_deals.astype(np.int64),
                "gives_reciprocated": self.gives_reciprocated.astype(np.int64),
                "reneged": self.reneged.astype(np.int64),
                "cost_given": cost,
                "value_received": self.value_received,
                "payoff_per_deal": np.divide(
                    self.wealth, self.deals, out=np.full(self.n, np.nan), where=self.deals > 0
                ),
                "reputation": self.reputation(),
                "referrals_received": self.referrals_received.astype(np.int64),
                "referrals_sent": self.referrals_sent.astype(np.int64),
                "referral_deals": self.referral_deals.astype(np.int64),
                "referral_payoff": self.referral_payoff,
                "referral_surplus": self.referral_surplus,
                # (value received + base surplus of deals that came through referrals) / cost given
                "return_on_concessions": np.divide(
                    self.value_received + self.referral_surplus,
                    cost,
                    out=np.full(self.n, np.nan),
                    where=cost > 0,
                ),
            }
        )

    def _snapshot(self) -> pl.DataFrame:
        """The agents frame now, with the step first."""
        return self.agents_frame().select(pl.lit(self.steps, pl.Int64).alias("step"), pl.all())

    def agents_table(self) -> pl.DataFrame:
        """The agents table a run writes: the end state, or with `output.agents_every` every snapshot.

        With snapshots it has a `step` column first, and always ends with the
        state after the last step (a snapshot then, even off the `agents_every` beat).
        """
        if self.config.output.agents_every <= 0:
            return self.agents_frame()
        snapshots = list(self._agent_snapshots)
        if not snapshots or snapshots[-1]["step"][0] != self.steps:
            snapshots.append(self._snapshot())
        return pl.concat(snapshots)

    def totals_by_strategy(self) -> pl.DataFrame:
        """Whole-run figures per strategy now played (every strategy of the run, even with no one left).

        Columns: negotiators, payoff per deal, gives (items) per deal,
        reciprocation rate (deals in which it gave and got a give back, per
        deal in which it gave), walk rate, mean wealth. Under strategy change
        these group negotiators by the strategy they play at the end.
        """
        # Sums per strategy with numpy, in negotiator order: a polars group_by adds up
        # partial sums per thread, so its last bits would follow the thread count.
        totals = pl.DataFrame(
            {
                "strategy": self.strategy_names,
                "negotiators": np.bincount(self.strategy, minlength=len(self.strategies)),
                **_sums_by(
                    self.strategy,
                    len(self.strategies),
                    wealth=self.wealth,
                    deals=self.deals,
                    gives=self.gives,
                    giving=self.giving_deals,
                    recip=self.gives_reciprocated,
                    walked=self.walked,
                ),
            }
        )
        return totals.select(
            "strategy",
            pl.col("negotiators").cast(pl.Int64),
            _safe_div("wealth", "deals").alias("payoff_per_deal"),
            _safe_div("gives", "deals").alias("gives_per_deal"),
            _safe_div("recip", "giving").alias("reciprocation_rate"),
            _safe_div("walked", "deals").alias("walk_rate"),
            _safe_div("wealth", "negotiators").alias("wealth_mean"),
        ).sort("strategy")

    def outcomes(self) -> dict[str, float]:
        """Flat headline outcomes of the run so far, for a runs table.

        The keys are the same for every run of a configuration: one set per
        strategy of the run (NaN where undefined). `placed_*` figures follow
        the negotiators placed as a strategy, whatever they play now: a paired
        counterfactual compares the same negotiators with and without a
        replacement. `giving_vs_holdout` is the payoff per deal of those
        placed as `strategic` minus those placed as `holdout` in the same run;
        `referral_payoff_share` the share of all payoff earned in deals
        through referral contacts (the referral lift within a run).
        """
        steps = self.steps_frame()
        # numpy's sums, never a thread pool's: the same bits on any machine and worker count.
        deals = float(self.deals.sum())
        closed = float(self.closed.sum())
        wealth = float(self.wealth.sum())
        nan = float("nan")
        out: dict[str, float] = {
            "deals": float(steps["deals"].sum()),
            "closed": float(steps["closed"].sum()),
            "cooperation_rate": _ratio(
                float(steps["giving_sides"].sum()), 2 * float(steps["closed"].sum())
            ),
            "walk_rate": _ratio(float(steps["walked"].sum()), float(steps["deals"].sum())),
            "payoff_per_deal": _ratio(wealth, deals),
            "gini": gini(self.wealth),
            "wall_time": self._wall,
            "referral_deal_share": _ratio(float(self.referral_deals.sum()), closed),
            "referral_payoff_share": _ratio(float(self.referral_payoff.sum()), wealth),
            "referrals": float(steps["referrals"].sum()),
            "new_contacts": float(steps["new_contacts"].sum()),
            "mean_reputation": float(np.nanmean(self.reputation())) if self.n else nan,
        }
        for row in self.totals_by_strategy().iter_rows(named=True):
            s = row["strategy"]
            out[f"payoff_per_deal_{s}"] = _none_nan(row["payoff_per_deal"])
            out[f"wealth_mean_{s}"] = _none_nan(row["wealth_mean"])
            out[f"share_{s}"] = row["negotiators"] / self.n
        mix = list(self.config.population.mix)
        count = np.bincount(self.placed, minlength=len(mix))
        placed = _sums_by(
            self.placed,
            len(mix),
            wealth=self.wealth,
            deals=self.deals,
            closed=self.closed,
            referral_deals=self.referral_deals,
            reputation=self.reputation(),
        )
        for s in sorted(mix):
            i = mix.index(s)
            if count[i] == 0:  # nobody placed as s
                for key in ("payoff_per_deal", "wealth_mean", "referral_deal_share", "reputation"):
                    out[f"placed_{key}_{s}"] = nan
                continue
            sums = {name: float(values[i]) for name, values in placed.items()}
            out[f"placed_payoff_per_deal_{s}"] = _ratio(sums["wealth"], sums["deals"])
            out[f"placed_wealth_mean_{s}"] = sums["wealth"] / int(count[i])
            out[f"placed_referral_deal_share_{s}"] = _ratio(sums["referral_deals"], sums["closed"])
            out[f"placed_reputation_{s}"] = sums["reputation"] / int(count[i])
        out["giving_vs_holdout"] = out.get("placed_payoff_per_deal_strategic", nan) - out.get(
            "placed_payoff_per_deal_holdout", nan
        )
        return out

    def release(self) -> None:
        """Drop Mesa's class-level references to this model so a long-lived worker does not grow."""
        mesa.Agent._ids.pop(self, None)
        self._agents.clear()


def bernoulli_positions(total: int, q: float, rng: np.random.Generator) -> np.ndarray:
    """The sorted positions in range(total) that succeed, each independently with probability q.

    Drawn as geometric gaps between successes, in batches sized to the
    expected count, so the cost is that of the successes, not of `total`.
    """
    found = []
    last = -1
    while True:
        batch = int((total - last) * q * 1.05) + 64
        # A gap past the end ends the search; capping it keeps the sum from
        # overflowing when q is tiny and the gaps astronomically long. (In
        # place: at a million negotiators a step draws tens of millions.)
        at = rng.geometric(q, batch)
        np.clip(at, 1, total + 1, out=at)
        np.cumsum(at, out=at)
        at += last
        if at[-1] >= total:
            found.append(at[: np.searchsorted(at, total)])
            break
        found.append(at)
        last = int(at[-1])
    return found[0] if len(found) == 1 else np.concatenate(found)


def _none_nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _sums_by(group: np.ndarray, groups: int, **values: np.ndarray) -> dict[str, np.ndarray]:
    """Each of `values` summed per group (0 .. groups - 1), in index order (np.bincount)."""
    return {name: np.bincount(group, weights=v, minlength=groups) for name, v in values.items()}


def _safe_div(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of wealth, shifted to be non-negative first (payoffs can be negative)."""
    return gini_of_sorted(np.sort(np.asarray(x, dtype=np.float64)))


def gini_of_sorted(x: np.ndarray) -> float:
    """`gini` of values already sorted in ascending order."""
    x = x - min(0.0, x[0]) if len(x) else x
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    n = len(x)
    # numpy's own sum, not a dot product: BLAS splits a long dot product across its
    # threads, so its last bits would depend on the process's thread count (a sweep's
    # workers have one) and on the machine, from about 100,000 negotiators on.
    return float(np.sum((2 * np.arange(1, n + 1) - n - 1) * x) / (n * total))


_STEP_SCHEMA = {
    "step": pl.Int64,
    "deals": pl.Int64,
    "closed": pl.Int64,
    "walked": pl.Int64,
    "gives": pl.Int64,
    "giving_sides": pl.Int64,
    "reciprocated": pl.Int64,
    "reneged": pl.Int64,
    "cooperation_rate": pl.Float64,
    "walk_rate": pl.Float64,
    "payoff_per_deal": pl.Float64,
    "cost_given": pl.Float64,
    "value_received": pl.Float64,
    "fresh_starts": pl.Int64,
    "referral_deals": pl.Int64,
    "referrals": pl.Int64,
    "new_contacts": pl.Int64,
    "negative_word_of_mouth": pl.Int64,
    "gossip": pl.Int64,
    "contacts_dropped": pl.Int64,
    "contacts": pl.Int64,
    "mean_reputation": pl.Float64,
    "gini": pl.Float64,
}
_STRATEGY_SCHEMA = {"step": pl.Int64, "strategy": pl.Utf8}
_DEAL_SCHEMA = {
    "initiator": pl.Int64,
    "responder": pl.Int64,
    "pair": pl.Int64,
    "outcome": pl.Utf8,
    "give_initiator": pl.Int64,
    "give_responder": pl.Int64,
    "payoff_initiator": pl.Float64,
    "payoff_responder": pl.Float64,
}
