"""The Strategy interface, the per-deal adapter and the registry.

A strategy decides, for a batch of deals at once, what a negotiator does:

- `open(view) -> Opening` when it starts a deal (and, under the `simultaneous`
  protocol, for both sides): walk away, give items, make a conditional offer
  ("I give these if you give those"), frame the give, call it a one-time
  exception.
- `respond(view) -> Response` when it answers an opening: walk away,
  reciprocate with items, accept a conditional trade, renege on it.

Items are sets encoded as bitmasks (bit k set = item k), so a batch of
decisions is a handful of integer arrays. Built-in strategies are written in
this batch form (three of them loop over the batch in compiled code; the item
choices they share with `DealView`'s helpers are in `agents.items`). A
researcher's strategy can instead be written per deal, in plain Python, by
subclassing `DealStrategy` and implementing `decide(deal) -> Action`; the
adapter loops over the batch (slower, correct).

Register a strategy with `@register("name")`; a configuration can also name
any class as `package.module:ClassName`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from agents import items
from environments.compiled import inlined
from environments.config import BUILTIN_STRATEGIES, ConfigError

Mask = np.ndarray  # int64 bitmask per deal: bit k set means item k


class StrategyParams(BaseModel):
    """Behavioural parameters of a strategy; subclasses add fields with defaults and ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- views


# The fields of a DealView, each an array with one entry (or row) per deal.
VIEW_FIELDS: dict[str, str] = {
    "cost_me": "(D, K) what each item costs me to give",
    "value_me": "(D, K) what each item is worth to me",
    "cost_partner": "(D, K) what each item costs the partner",
    "value_partner": "(D, K) what each item is worth to the partner",
    "batna_me": "my outside option",
    "met": "we have dealt in this relationship",
    "last_received": "perceived value the partner gave me last deal",
    "received_total": "perceived value received in this relationship",
    "streak": "my gives in a row the partner has not returned",
    "partner_streak": "the partner's gives in a row I have not returned",
    "idle": "deals since my last give to the partner",
    "expectation": "what I expect to receive from the partner (perceived value)",
    "demand": "my demand level toward the partner (escalation)",
    "belief": "my belief that the partner is good (0..1)",
    "reneged": "the partner reneged on me in this relationship",
    "heard": "I know something of the partner (dealt or heard): not a stranger",
    "offer_give": "responding: the items offered (mask)",
    "offer_conditional": "responding: the offer is conditional on offer_ask",
    "offer_ask": "responding: the items asked in return (mask)",
    "offer_framed": "responding: the offer's value was communicated",
    "offer_perceived": "responding: perceived value to me of the offered give",
    "reads_weakness": "responding: I read this give as weakness (my BATNA is strong)",
}


@inlined
def below_batna(expected, planned_cost, half_surplus, batna):
    """Whether a deal pays less than the BATNA: S/2 + expected - planned cost < BATNA.

    `DealView.expects_below_batna`'s rule, also for one deal in compiled rules.
    """
    return half_surplus + expected - planned_cost < batna


class DealView:
    """What one side knows when it decides, for a batch of D deals (arrays of length D).

    Memory fields are this side's memory of its relationship with the partner
    (cleared when the relationship ends); `belief` is its belief about the
    partner's reputation, which survives a relationship's end. `offer_*`
    fields are set only when responding. See `VIEW_FIELDS` for every field.

    Fields are given as keywords, or read on first use through `loader`
    (the model's way: a strategy pays only for the fields it reads).
    """

    def __init__(
        self,
        me: np.ndarray,
        partner: np.ndarray,
        rng: np.random.Generator,
        surplus: float,
        continuation: float,
        recognition: float,
        initial_belief: float,
        loader: Callable[[DealView, str], np.ndarray] | None = None,
        **fields: np.ndarray,
    ) -> None:
        self.me = me
        self.partner = partner
        self.rng = rng
        self.surplus = surplus
        self.continuation = continuation
        self.recognition = recognition
        self.initial_belief = initial_belief
        self.loader = loader
        for name, value in fields.items():
            if name not in VIEW_FIELDS and name != "rows":
                raise TypeError(f"DealView has no field {name!r}")
            setattr(self, name, value)

    def __getattr__(self, name: str) -> np.ndarray:
        # Called only for fields not set yet: load them once, on first use.
        loader = self.__dict__.get("loader")
        if loader is None or name not in VIEW_FIELDS:
            raise AttributeError(name)
        value = loader(self, name)
        setattr(self, name, value)
        return value

    def subset(self, rows: np.ndarray) -> DealView:
        """The same view restricted to some deals; loaded fields are sliced, the rest stay lazy."""
        fields = {
            name: np.take(value, rows, axis=0)
            for name, value in vars(self).items()
            if (name in VIEW_FIELDS or name == "rows") and value is not None
        }
        return DealView(
            self.me.take(rows),
            self.partner.take(rows),
            self.rng,
            self.surplus,
            self.continuation,
            self.recognition,
            self.initial_belief,
            self.loader,
            **fields,
        )

    def __len__(self) -> int:
        return len(self.me)

    @property
    def n_items(self) -> int:
        """Number of concession items K."""
        return self.cost_me.shape[1]

    def cost_of(self, mask: Mask) -> np.ndarray:
        """What giving `mask` costs me, per deal."""
        return mask_total(mask, self.cost_me)

    def value_to_partner(self, mask: Mask) -> np.ndarray:
        """What `mask` is worth to the partner, per deal."""
        return mask_total(mask, self.value_partner)

    def value_to_me(self, mask: Mask) -> np.ndarray:
        """What `mask` is worth to me, per deal."""
        return mask_total(mask, self.value_me)

    def best_gives(self, count: np.ndarray | int) -> Mask:
        """The `count` items with the best partner-value / own-cost ratio, per deal."""
        count = np.broadcast_to(np.asarray(count, dtype=np.int64), (len(self),))
        return items.best_gives(count, self.cost_me, self.value_partner)

    def gives_matching(self, target: np.ndarray) -> Mask:
        """The fewest best-ratio items whose value to the partner reaches `target` (none if target <= 0)."""
        target = np.broadcast_to(np.asarray(target, dtype=np.float64), (len(self),))
        return items.gives_matching(target, self.cost_me, self.value_partner)

    def cheapest_give(self) -> Mask:
        """The single item that costs me least: a small test give."""
        return items.cheapest(self.cost_me)

    def best_ask(self) -> tuple[Mask, np.ndarray]:
        """The single item to ask for (best value to me per unit of the partner's cost), and that ratio."""
        return items.best_asks(self.value_me, self.cost_partner)

    def expects_below_batna(
        self, planned_cost: np.ndarray | float = 0.0, expected: np.ndarray | None = None
    ) -> np.ndarray:
        """True where the deal pays less than my BATNA: S/2 + expected - planned cost < BATNA.

        `expected` is the perceived value I expect to receive; by default my
        expectation of the partner (an opener), or the offer in front of me.
        """
        if expected is None:
            expected = self.expectation
        # The rule's plain Python form: numpy over the arrays, as before it was compiled.
        return below_batna.py_func(expected, planned_cost, self.surplus / 2, self.batna_me)

    def draw(self, prob: float | np.ndarray) -> np.ndarray:
        """One Bernoulli draw per deal from the model's generator."""
        return self.uniform() < prob

    def uniform(self) -> np.ndarray:
        """One uniform draw in [0, 1) per deal from the model's generator (`draw` compares it)."""
        return self.rng.random(len(self))


def mask_bits(mask: Mask, n_items: int) -> np.ndarray:
    """(D, K) booleans: item k is in the mask."""
    return (
        np.asarray(mask, dtype=np.int64)[:, None] >> np.arange(n_items, dtype=np.int64)
    ) & 1 == 1


def mask_total(mask: Mask, per_item: np.ndarray) -> np.ndarray:
    """Sum of `per_item[d, k]` over the items k in each row's mask."""
    mask = np.broadcast_to(np.asarray(mask, dtype=np.int64), (len(per_item),))
    return items.totals(mask, np.asarray(per_item, dtype=np.float64))


def mask_count(mask: Mask) -> np.ndarray:
    """Number of items in each mask."""
    return np.bitwise_count(np.asarray(mask, dtype=np.int64)).astype(np.int64)


# --------------------------------------------------------------------------- actions


@dataclass
class Opening:
    """An opening move per deal: walk away, or give (possibly conditionally), framed or not."""

    walk: np.ndarray
    give: Mask
    conditional: np.ndarray
    ask: Mask
    framed: np.ndarray
    one_time: np.ndarray

    @classmethod
    def nothing(cls, d: int) -> Opening:
        """No walk, no give."""
        z = np.zeros(d, dtype=bool)
        return cls(z, np.zeros(d, np.int64), z.copy(), np.zeros(d, np.int64), z.copy(), z.copy())


@dataclass
class Response:
    """An answer per deal: walk away, reciprocate with items (framed or not), accept (and perhaps renege on) a trade."""

    walk: np.ndarray
    give: Mask
    accept: np.ndarray
    renege: np.ndarray
    framed: np.ndarray
    one_time: np.ndarray

    @classmethod
    def nothing(cls, d: int) -> Response:
        """No walk, no give, no acceptance."""
        z = np.zeros(d, dtype=bool)
        return cls(z, np.zeros(d, np.int64), z.copy(), z.copy(), z.copy(), z.copy())


# --------------------------------------------------------------------------- strategies


class Strategy:
    """A way of negotiating, decided for a batch of deals at once.

    Subclasses set `Params` (a `StrategyParams` model with every behavioural
    parameter, its default and range) and implement `open` and `respond`.
    `classifier` describes the strategy, as Axelrod-Python does.
    """

    name: ClassVar[str] = "strategy"
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    classifier: ClassVar[dict[str, Any]] = {}
    # The parameters a strategy's compiled rules read, in order (`settings_array`).
    settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: StrategyParams | dict[str, Any] | None = None) -> None:
        if not isinstance(params, StrategyParams):
            params = self.validate_params(params or {}, self.name)
        self.params = params

    @classmethod
    def validate_params(cls, raw: dict[str, Any], name: str) -> StrategyParams:
        """Validate `strategies.<name>` parameters; a bad one is a `ConfigError` naming the key."""
        try:
            return cls.Params.model_validate(raw)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                if err["type"] == "extra_forbidden":
                    allowed = ", ".join(cls.Params.model_fields) or "none"
                    close = difflib.get_close_matches(key, list(cls.Params.model_fields), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    problems.append(
                        f"unknown key 'strategies.{name}.{key}'{hint}; allowed: {allowed}"
                    )
                else:
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(f"strategies.{name}.{key} = {err.get('input')!r}: {msg}")
            raise ConfigError("; ".join(problems)) from None

    def settings_array(self) -> np.ndarray:
        """The parameters named in `settings`, as floats (booleans 0 or 1), for compiled rules."""
        return np.array([float(getattr(self.params, name)) for name in self.settings])

    def open(self, view: DealView) -> Opening:
        """The opening move for each deal in `view`."""
        return Opening.nothing(len(view))

    def respond(self, view: DealView) -> Response:
        """The answer to each opening in `view`."""
        return Response.nothing(len(view))


# --------------------------------------------------------------------------- per-deal adapter


@dataclass
class Action:
    """One decision in plain Python: which items to give (indices), and how.

    For an opening: `give`, `ask` (with `conditional`), `framed`, `one_time`,
    `walk`. For a response: `give` (reciprocate, `framed` or not), `accept`,
    `renege`, `walk`.
    """

    give: tuple[int, ...] = ()
    ask: tuple[int, ...] = ()
    conditional: bool = False
    framed: bool = False
    one_time: bool = False
    walk: bool = False
    accept: bool = False
    renege: bool = False


@dataclass
class Deal:
    """One deal as a plain-Python strategy sees it. Memory values are floats/bools; items are lists."""

    role: Literal["open", "respond"]
    me: int
    partner: int
    cost_me: list[float]
    value_partner: list[float]
    value_me: list[float]
    cost_partner: list[float]
    batna: float
    surplus: float
    memory: dict[str, float] = field(default_factory=dict)
    offer: dict[str, Any] | None = None
    rng: np.random.Generator | None = None


_MEMORY_FIELDS = (
    "met",
    "last_received",
    "received_total",
    "streak",
    "partner_streak",
    "idle",
    "expectation",
    "demand",
    "belief",
    "reneged",
    "heard",
)


def _items(mask: int, k: int) -> list[int]:
    return [i for i in range(k) if (int(mask) >> i) & 1]


def _mask(items: tuple[int, ...] | list[int], k: int) -> int:
    mask = 0
    for i in items:
        if not 0 <= int(i) < k:
            raise ValueError(f"item {i} out of range 0..{k - 1}")
        mask |= 1 << int(i)
    return mask


class DealStrategy(Strategy):
    """Base for strategies written one deal at a time: implement `decide(deal) -> Action`."""

    def decide(self, deal: Deal) -> Action:
        """The action for one deal; `deal.role` says whether this opens or responds."""
        return Action()

    def _deals(self, view: DealView, role: Literal["open", "respond"]):
        k = view.n_items
        for d in range(len(view)):
            offer = None
            if role == "respond":
                offer = {
                    "give": _items(view.offer_give[d], k),
                    "conditional": bool(view.offer_conditional[d]),
                    "ask": _items(view.offer_ask[d], k),
                    "framed": bool(view.offer_framed[d]),
                    "perceived": float(view.offer_perceived[d]),
                    "reads_weakness": bool(view.reads_weakness[d]),
                }
            yield Deal(
                role=role,
                me=int(view.me[d]),
                partner=int(view.partner[d]),
                cost_me=view.cost_me[d].tolist(),
                value_partner=view.value_partner[d].tolist(),
                value_me=view.value_me[d].tolist(),
                cost_partner=view.cost_partner[d].tolist(),
                batna=float(view.batna_me[d]),
                surplus=view.surplus,
                memory={f: getattr(view, f)[d].item() for f in _MEMORY_FIELDS},
                offer=offer,
                rng=view.rng,
            )

    def open(self, view: DealView) -> Opening:
        out = Opening.nothing(len(view))
        k = view.n_items
        for d, deal in enumerate(self._deals(view, "open")):
            a = self.decide(deal)
            out.walk[d], out.conditional[d] = a.walk, a.conditional
            out.framed[d], out.one_time[d] = a.framed, a.one_time
            out.give[d], out.ask[d] = _mask(a.give, k), _mask(a.ask, k)
        return out

    def respond(self, view: DealView) -> Response:
        out = Response.nothing(len(view))
        k = view.n_items
        for d, deal in enumerate(self._deals(view, "respond")):
            a = self.decide(deal)
            out.walk[d], out.accept[d], out.renege[d] = a.walk, a.accept, a.renege
            out.framed[d], out.one_time[d] = a.framed, a.one_time
            out.give[d] = _mask(a.give, k)
        return out


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, type[Strategy]] = {}


def register(name: str):
    """Class decorator: make a strategy available by `name` in configurations."""

    def deco(cls: type[Strategy]) -> type[Strategy]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def registered() -> dict[str, type[Strategy]]:
    """Every strategy registered by name (the built-ins and any registered since)."""
    import agents.strategies  # noqa: F401  (registers the built-ins)

    return dict(_REGISTRY)


def resolve_strategy(name: str) -> type[Strategy]:
    """The strategy class for a registered name or a `package.module:ClassName`.

    Naming a class runs its module's code: only name modules you trust.
    """
    known = registered()
    if name in known:
        return known[name]
    if ":" not in name:
        hint = difflib.get_close_matches(name, list(known), n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(
            f"unknown strategy {name!r}{did}; built-ins: {', '.join(BUILTIN_STRATEGIES)}; "
            "or name your own class as 'package.module:ClassName'"
        )
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the user's input being wrong
        raise ConfigError(
            f"strategy {name!r}: cannot import module {module_name!r} ({exc})"
        ) from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise ConfigError(f"strategy {name!r}: module {module_name!r} has no {attr!r}")
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(
            f"strategy {name!r} is not a Strategy subclass (subclass agents.strategy.Strategy or DealStrategy)"
        )
    if cls.name == "strategy":
        cls.name = name
    return cls
