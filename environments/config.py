"""The validated model configuration.

A configuration is read once, at the edge, from TOML or a dict, and validated
by pydantic: an unknown key, a wrong type or a value out of range is an error
that names the key, the value and what is allowed (`ConfigError`). Every
section and name here is a contract other tools rely on (see docs/model.md).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

BUILTIN_STRATEGIES = (
    "reciprocal",
    "transactional",
    "exploitative",
    "strategic",
    "naive",
    "holdout",
)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key and what is allowed."""


class Section(BaseModel):
    """A configuration section: unknown keys are refused, values are checked on assignment.

    Numbers must be written as numbers: pydantic would quietly read `"10"` or
    `true` as 10 or 1, which hides a typo (a quoted value, a flag where a
    probability belongs), so a string or a boolean where a number is expected
    is refused here, before pydantic converts it.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        expected = _number_kind(field.annotation)
        if expected is not None:
            _refuse_non_number(value, expected)
        elif _is_dict_of_numbers(field.annotation) and isinstance(value, dict):
            for key, item in value.items():
                _refuse_non_number(item, "a number", f"{key!r}: ")
        return value


def _number_kind(annotation: Any) -> str | None:
    """'a whole number' / 'a number' when `annotation` is int / float (optionally | None)."""
    args = set(get_args(annotation)) - {type(None)} if get_args(annotation) else {annotation}
    if args == {int}:
        return "a whole number"
    if args == {float} or args == {int, float}:
        return "a number"
    return None


def _is_dict_of_numbers(annotation: Any) -> bool:
    return get_origin(annotation) is dict and get_args(annotation)[1:] == (float,)


def _refuse_non_number(value: Any, expected: str, prefix: str = "") -> None:
    if isinstance(value, bool):
        raise ValueError(f"{prefix}{expected} is expected, not true/false")
    if isinstance(value, str):
        raise ValueError(f"{prefix}{expected} is expected, not a string (remove the quotes?)")


class PopulationConfig(Section):
    """Who negotiates: how many, in what strategy mix, placed how on the network."""

    n: int = Field(100, ge=2, le=50_000_000, description="number of negotiators")
    mix: dict[str, float] = Field(
        default_factory=lambda: {
            "strategic": 0.2,
            "reciprocal": 0.2,
            "transactional": 0.15,
            "exploitative": 0.15,
            "naive": 0.15,
            "holdout": 0.15,
        },
        description="strategy name -> share of the population; shares sum to 1",
    )
    placement: Literal["random", "hubs_first", "hubs_last", "attribute"] = "random"
    attribute: str = Field(
        "strategy", description="node attribute naming the strategy (placement = attribute)"
    )
    replace: dict[str, str] = Field(
        default_factory=dict,
        description="after placement, negotiators placed as A play B instead (paired counterfactuals)",
    )

    @field_validator("mix")
    @classmethod
    def _shares(cls, mix: dict[str, float]) -> dict[str, float]:
        if not mix:
            raise ValueError(
                "the mix names no strategy; give at least one, e.g. {reciprocal = 1.0}"
            )
        for name, share in mix.items():
            if not (isinstance(share, int | float) and 0.0 <= share <= 1.0) or math.isnan(share):
                raise ValueError(f"share of {name!r} is {share!r}; a share is a number in [0, 1]")
        total = sum(mix.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares sum to {total:.6g}; they must sum to 1")
        return mix


class NetworkConfig(Section):
    """The referral graph: a generator and its parameters, or a file."""

    kind: Literal[
        "barabasi_albert",
        "watts_strogatz",
        "erdos_renyi",
        "ring",
        "complete",
        "communities",
        "file",
    ] = "barabasi_albert"
    m: int = Field(3, ge=1, description="barabasi_albert: edges per new node")
    k: int = Field(4, ge=2, description="watts_strogatz / ring: neighbours per node (even)")
    p: float = Field(0.1, ge=0.0, le=1.0, description="watts_strogatz: rewiring probability")
    mean_degree: float = Field(6.0, gt=0.0, description="erdos_renyi / communities: mean degree")
    blocks: int = Field(4, ge=1, description="communities: number of equal blocks")
    mixing: float = Field(
        0.1, ge=0.0, le=1.0, description="communities: share of a node's edges that leave its block"
    )
    path: str | None = Field(None, description="file: edge-list CSV, GraphML or GML")

    @field_validator("k")
    @classmethod
    def _even(cls, k: int) -> int:
        if k % 2:
            raise ValueError(f"k is {k}; ring and watts_strogatz need an even k")
        return k

    @model_validator(mode="after")
    def _path_for_file(self) -> NetworkConfig:
        if self.kind == "file" and not self.path:
            raise ValueError(
                "kind = 'file' needs path = '...' (an edge-list CSV, GraphML or GML file)"
            )
        return self


class Item(Section):
    """One concession item given explicitly: what it costs the giver, what it is worth to the receiver."""

    cost: float = Field(ge=0.0)
    value: float = Field(ge=0.0)
    name: str | None = None


class ItemsConfig(Section):
    """The concession items and their asymmetric valuation."""

    count: int = Field(3, ge=1, le=32, description="number of items K")
    asymmetry: float = Field(3.0, gt=0.0, le=1000.0, description="mean value / cost ratio")
    dispersion: float = Field(0.5, ge=0.0, le=5.0, description="sd of log cost and log value")
    explicit: list[Item] | None = Field(None, description="items given explicitly; overrides count")

    @field_validator("explicit")
    @classmethod
    def _some(cls, items: list[Item] | None) -> list[Item] | None:
        if items is not None and not 1 <= len(items) <= 32:
            raise ValueError(f"{len(items)} explicit items; give between 1 and 32")
        return items


class Batna(Section):
    """The range a negotiator's outside option is drawn from, uniformly."""

    low: float = Field(0.0, ge=0.0)
    high: float = Field(0.5, ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> Batna:
        if self.high < self.low:
            raise ValueError(f"batna.high ({self.high}) is below batna.low ({self.low})")
        return self


class DealConfig(Section):
    """How deals form and are played."""

    surplus: float = Field(
        2.0, ge=0.0, description="base surplus S, split evenly when a deal closes"
    )
    protocol: Literal["offer-response", "simultaneous"] = "offer-response"
    matching: Literal["edges", "initiator"] = "edges"
    deals_per_step: int = Field(
        1, ge=1, le=100, description="initiator matching: deals each negotiator starts"
    )
    continuation: float = Field(
        0.9, ge=0.0, le=1.0, description="w: probability a relationship goes on after a deal"
    )
    noise: float = Field(
        0.0, ge=0.0, le=1.0, description="execution noise: a move flips with this probability"
    )
    perception_noise: float = Field(
        0.0, ge=0.0, le=1.0, description="a receiver misreads the partner's move"
    )
    recognition: float = Field(
        0.5, ge=0.0, le=1.0, description="share of an unframed gift's value perceived"
    )
    batna: Batna = Field(default_factory=Batna)


class BehaviourConfig(Section):
    """Expectations, precedent, over-giving and weakness: how receivers read gifts."""

    expectation_rate: float = Field(
        0.3, ge=0.0, le=1.0, description="eta: rate the expectation moves to what was received"
    )
    exception_weight: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="a gift framed as a one-time exception moves the expectation this much as fast",
    )
    loss_aversion: float = Field(
        2.0, ge=1.0, le=100.0, description="weight of receiving less than expected"
    )
    reciprocity_norm: float = Field(
        1.0, ge=0.0, le=100.0, description="a giver expects back this multiple of its cost"
    )
    desperation_threshold: int = Field(
        2,
        ge=0,
        le=64,
        description="more gives than this, in a deal or a run without return, signal desperation",
    )
    weakness_sensitivity: float = Field(
        0.5,
        ge=0.0,
        le=100.0,
        description="how strongly a receiver's BATNA makes it read a gift as weakness",
    )


class ReputationConfig(Section):
    """What negotiators learn about each other, and word of mouth."""

    gossip_prob: float = Field(
        0.0, ge=0.0, le=1.0, description="q: a neighbour of a participant hears of a deal"
    )
    assessment: Literal["image_scoring", "simple_standing", "stern_judging", "shunning"] = (
        "image_scoring"
    )
    perception_noise: float = Field(
        0.0, ge=0.0, le=1.0, description="a gossip hearer misreads the action"
    )
    referral_prob: float = Field(
        0.0, ge=0.0, le=1.0, description="a satisfied participant refers its partner"
    )
    contact_decay: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="an unused referral contact is dropped with this probability a step",
    )
    initial_belief: float = Field(0.5, ge=0.0, le=1.0, description="belief about a stranger")
    referral_trust: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="weight of trust in the referrer in a new contact's belief (the rest: what was heard of it)",
    )
    belief_rate: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="rate a belief moves toward a new assessment (1: binary images)",
    )
    heard_capacity: int = Field(
        32,
        ge=0,
        le=4096,
        description=(
            "negotiators outside its contacts that one remembers hearing of; when full, "
            "the least recently heard of is forgotten (0: beliefs about contacts only)"
        ),
    )


class EvolutionConfig(Section):
    """Strategy change."""

    rule: Literal["none", "imitation", "death-birth", "birth-death"] = "none"
    update_every: int = Field(10, ge=1)
    selection_intensity: float = Field(1.0, ge=0.0, le=1000.0)
    mutation_rate: float = Field(0.0, ge=0.0, le=1.0)
    updates_per_event: int = Field(
        0, ge=0, description="death-birth / birth-death: single updates per event; 0 means N"
    )


class OutputConfig(Section):
    """What a run collects besides its per-step tables."""

    agents_every: int = Field(
        0,
        ge=0,
        le=10_000_000,
        description=(
            "record the per-negotiator table every this many steps (0: only at the end); "
            "a long run of a large population can keep a few snapshots instead of one per step"
        ),
    )


class ModelConfig(Section):
    """A whole model configuration: the sections of a `concession run` file."""

    seed: int | None = Field(None, ge=0, description="root seed; None draws one from the OS")
    steps: int = Field(200, ge=0, le=10_000_000)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    items: ItemsConfig = Field(default_factory=ItemsConfig)
    deal: DealConfig = Field(default_factory=DealConfig)
    behaviour: BehaviourConfig = Field(default_factory=BehaviourConfig)
    reputation: ReputationConfig = Field(default_factory=ReputationConfig)
    evolution: EvolutionConfig = Field(default_factory=EvolutionConfig)
    strategies: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="strategy name -> its behavioural parameters"
    )
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _network_fits(self) -> ModelConfig:
        # Imported here: network imports this module. A generated network that
        # cannot exist on n nodes (m >= n, ...) is refused with the data, not
        # when a run builds it, so a sweep refuses it before writing anything.
        from environments.network import check_graph_params

        if self.network.kind != "file":
            try:
                check_graph_params(self.network, self.population.n)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
            if self.population.placement == "attribute":
                raise ValueError(
                    "population.placement = 'attribute' reads each negotiator's strategy from a "
                    "node attribute of a graph file; it needs network.kind = 'file' with a "
                    "GraphML or GML network.path"
                )
        return self

    @model_validator(mode="after")
    def _strategies_known(self) -> ModelConfig:
        # Imported here: the registry imports strategies, which import this module.
        from agents.strategy import resolve_strategy

        for old in self.population.replace:
            if old not in self.population.mix:
                raise ValueError(
                    f"population.replace names {old!r}, which is not in population.mix "
                    f"({', '.join(self.population.mix)})"
                )
        where = {name: "population.mix" for name in self.population.mix}
        where.update({name: "population.replace" for name in self.population.replace.values()})
        where.update({name: "strategies" for name in self.strategies})
        for name in sorted(where):
            try:
                cls = resolve_strategy(name)
            except ConfigError as exc:
                raise ValueError(f"{where[name]}: {exc}") from None
            cls.validate_params(self.strategies.get(name, {}), name)
        return self

    def strategy_names(self) -> list[str]:
        """The strategies that can be played, in a fixed order: the mix's, then replacements."""
        names = list(self.population.mix)
        names += [s for s in self.population.replace.values() if s not in names]
        return names

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data, with every default filled in."""
        return self.model_dump(mode="json")


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a section at `loc` accepts, for did-you-mean hints."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        current = next(
            (
                a
                for a in getattr(ann, "__args__", (ann,))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            ann,
        )
        if getattr(current, "__origin__", None) is list:
            current = current.__args__[0]
    return list(getattr(current, "model_fields", {}))


_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (`Item` in `list[Item] | None`), else itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _bound(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _allowed_range(model: type[BaseModel], loc: tuple) -> str:
    """The bounds of the field at `loc`, for a person: 'a number in [0, 1]', 'a whole number >= 2'."""
    current: Any = model
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return ""
        current = _model_in(field.annotation)
    if field is None:
        return ""
    low = high = None
    low_open = high_open = False
    for meta in field.metadata:
        for attr, is_low, is_open in (("ge", 1, 0), ("gt", 1, 1), ("le", 0, 0), ("lt", 0, 1)):
            value = getattr(meta, attr, None)
            if value is None:
                continue
            if is_low:
                low, low_open = value, bool(is_open)
            else:
                high, high_open = value, bool(is_open)
    kind = _number_kind(field.annotation) or "a value"
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f"{kind} in {left}{_bound(low)}, {_bound(high)}{right}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {_bound(low)}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {_bound(high)}"
    return ""


def describe_validation_error(exc: ValidationError, model: type[BaseModel] = ModelConfig) -> str:
    """One line per problem: the dotted key, the value given and what is allowed."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            hint = _did_you_mean(str(loc[-1]), _allowed_keys(model, loc))
            allowed = ", ".join(_allowed_keys(model, loc))
            lines.append(f"unknown key {key!r}{hint}; allowed here: {allowed}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in _BOUND_ERRORS:
            msg = f"out of range; allowed: {_allowed_range(model, loc) or msg}"
        if not loc:  # a whole-config check: its message names the keys itself
            lines.append(msg)
            continue
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"{key}{shown}: {msg}")
    return "; ".join(lines)


def load_config(
    source: ModelConfig | dict[str, Any] | str | Path | None = None, **sections: Any
) -> ModelConfig:
    """Build a validated `ModelConfig` from a config object, a dict, a TOML path, or keyword sections.

    Keyword sections are merged over the source, one level deep:
    `load_config(deal={"continuation": 0.5})`.
    """
    if isinstance(source, ModelConfig):
        data = source.to_dict()
    elif source is None:
        data = {}
    elif isinstance(source, dict):
        data = dict(source)
    else:
        data = read_toml(source)
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing file or a syntax error is a `ConfigError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
