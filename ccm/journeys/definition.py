"""Journey definitions: the file format, and the checks that name every problem in one go.

A journey is written as YAML or JSON (``journeys/<key>.yaml`` in a registry folder, or the
body of ``POST /v1/journeys``)::

    key: utility-customer
    name: Utility customer
    goal: {event: offer_accepted}                 # the event that means success
    quiet_hours: {start: "21:00", end: "08:00"}   # optional; else CCM_QUIET_HOURS
    marketing_cap: {max: 2, per: 30d}             # optional; else CCM_MARKETING_CAP
    exits: [{event: contract_ended}]              # leave the journey from any stage
    stages:                                       # the ideal path, in order
      - key: first-bill
        description: The first bill is issued.
        entry:                                    # what moves a customer into the stage
          - event: bill_issued
            condition: payload.total > 0          # the expression language (expressions.py)
            from: [welcome]                       # optional: only from these stages
        communications:                           # sent on entry
          - template: utility-bill
            channels: [preferred, email, print]   # policy: first allowed channel wins
        follow_ups:                               # durable timers
          - name: reminder
            after: 14d
            unless: [payment_received]
            to_stage: payment-reminder            # and/or send: [{template: ...}]
        exits: [{event: account_closed}]

Conditions are compiled here, at load time, so a broken one is refused before any
customer meets it; evaluation never fails at send time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ccm.customers.models import Purpose
from ccm.delivery.message import DeliveryChannel
from ccm.errors import ExpressionError, JourneyInvalidError
from ccm.journeys.expressions import Condition, compile_condition

#: Names a condition can read: the event (type, occurred_at, payload) and the customer.
CONDITION_NAMES = ("event", "payload", "customer")
PREFERRED = "preferred"
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> timedelta:
    """``14d``, ``1d12h``, ``2w``, ``30m``, ``90s`` as a time span (more than zero)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 14d, 12h, 1d12h, 30m or 2w")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if span <= timedelta(0) or span > timedelta(days=3660):
        raise ValueError(f"{text!r} must be more than zero and at most ten years")
    return span


def parse_clock(text: str) -> time:
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a time of day like 21:00")
    return time(int(match.group(1)), int(match.group(2)))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError(f"{value!r} is not a key (a-z, 0-9, '-', '_')")
    return value


class TriggerDef(_Model):
    event: str = Field(min_length=1, max_length=100)
    condition: str | None = None
    from_stages: list[str | None] | None = Field(
        default=None, alias="from",
        description="Only from these stages (null: from outside the journey).")


class CommunicationDef(_Model):
    template: str = Field(min_length=1, max_length=100)
    channels: list[str] = Field(
        default_factory=lambda: [PREFERRED, "email", "sms", "print"], min_length=1,
        description="Tried in order; 'preferred' is the customer's preferred channel.")
    purpose: Purpose | None = Field(
        default=None, description="Default: marketing for promotions, else transactional.")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="Data the send always carries (a campaign's offer); the event's payload "
        "adds to it and wins where both have a field.")

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        known = {PREFERRED, *(c.value for c in DeliveryChannel)}
        for channel in value:
            if channel not in known:
                raise ValueError(f"unknown channel {channel!r} (known: {', '.join(sorted(known))})")
        return value


class FollowUpDef(_Model):
    name: str = Field(min_length=1, max_length=100)
    after: str
    unless: list[str] = Field(default_factory=list)
    send: list[CommunicationDef] = Field(default_factory=list)
    to_stage: str | None = None

    @field_validator("after")
    @classmethod
    def _after(cls, value: str) -> str:
        parse_duration(value)
        return value


class ExitDef(_Model):
    event: str = Field(min_length=1, max_length=100)
    condition: str | None = None


class StageDef(_Model):
    key: str
    name: str | None = None
    description: str = ""
    entry: list[TriggerDef] = Field(default_factory=list)
    communications: list[CommunicationDef] = Field(default_factory=list)
    follow_ups: list[FollowUpDef] = Field(default_factory=list)
    exits: list[ExitDef] = Field(default_factory=list)

    _key = field_validator("key")(_check_key)


class GoalDef(_Model):
    event: str = Field(min_length=1, max_length=100)
    condition: str | None = None


class QuietHoursDef(_Model):
    start: str
    end: str
    channels: list[Literal["email", "sms"]] = Field(
        default_factory=lambda: ["email", "sms"])  # type: ignore[arg-type]  # literals

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value


class CapDef(_Model):
    max: int = Field(ge=0, le=1000)
    per: str

    @field_validator("per")
    @classmethod
    def _per(cls, value: str) -> str:
        parse_duration(value)
        return value


class JourneyDef(_Model):
    key: str
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    goal: GoalDef
    stages: list[StageDef] = Field(min_length=1)
    exits: list[ExitDef] = Field(default_factory=list)
    quiet_hours: QuietHoursDef | None = None
    marketing_cap: CapDef | None = None

    _key = field_validator("key")(_check_key)


# -- the compiled form the orchestrator runs --------------------------------------------


@dataclass(frozen=True)
class Trigger:
    event: str
    condition: Condition | None
    from_stages: frozenset[str | None] | None  # None: from anywhere, outside included

    def admits(self, stage: str | None) -> bool:
        return self.from_stages is None or stage in self.from_stages


@dataclass(frozen=True)
class CompiledJourney:
    """A validated journey with its conditions compiled; made once per version."""

    definition: JourneyDef
    version: int
    entry: Mapping[str, tuple[Trigger, ...]]  # stage key -> its entry triggers
    exits: Mapping[str | None, tuple[Trigger, ...]]  # stage key (None: any) -> exits
    goal: Trigger

    @property
    def key(self) -> str:
        return self.definition.key

    def stage(self, key: str) -> StageDef:
        for stage in self.definition.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    @property
    def stage_keys(self) -> list[str]:
        return [stage.key for stage in self.definition.stages]

    def event_types(self) -> frozenset[str]:
        """Every event type this journey listens to (the rest are ignored quickly)."""
        types = {self.goal.event}
        types.update(t.event for triggers in self.entry.values() for t in triggers)
        types.update(t.event for triggers in self.exits.values() for t in triggers)
        types.update(u for stage in self.definition.stages for f in stage.follow_ups
                     for u in f.unless)
        return frozenset(types)


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{path}: {message}" if path else message)
    return problems


def _condition(source: str | None, where: str, problems: list[str]) -> Condition | None:
    if source is None:
        return None
    try:
        return compile_condition(source, names=CONDITION_NAMES)
    except ExpressionError as exc:
        at = f" at character {exc.position + 1}" if exc.position is not None else ""
        problems.append(f"{where}: condition {source!r}: {exc.detail}{at}")
        return None


def compile_journey(raw: Mapping[str, Any], *, version: int = 0) -> CompiledJourney:
    """Check a definition on its own (structure, conditions, stage references,
    reachability) and compile it; raises :class:`JourneyInvalidError` naming every problem."""
    key = str(raw.get("key") or "?") if isinstance(raw, Mapping) else "?"
    try:
        definition = JourneyDef.model_validate(raw)
    except ValidationError as exc:
        raise JourneyInvalidError(key, _pydantic_problems(exc)) from None
    problems: list[str] = []
    stage_keys = [stage.key for stage in definition.stages]
    for duplicate in sorted({k for k in stage_keys if stage_keys.count(k) > 1}):
        problems.append(f"stage {duplicate!r} is defined more than once")
    known = set(stage_keys)
    entry: dict[str, tuple[Trigger, ...]] = {}
    exits: dict[str | None, tuple[Trigger, ...]] = {}
    for stage in definition.stages:
        triggers = []
        for number, trigger in enumerate(stage.entry, 1):
            where = f"stage {stage.key!r} entry {number}"
            for origin in trigger.from_stages or ():
                if origin is not None and origin not in known:
                    problems.append(f"{where}: 'from' names unknown stage {origin!r}")
            triggers.append(Trigger(
                trigger.event, _condition(trigger.condition, where, problems),
                frozenset(trigger.from_stages) if trigger.from_stages is not None else None))
        entry[stage.key] = tuple(triggers)
        exits[stage.key] = tuple(
            Trigger(e.event, _condition(e.condition, f"stage {stage.key!r} exit {n}", problems),
                    None) for n, e in enumerate(stage.exits, 1))
        names = [f.name for f in stage.follow_ups]
        for duplicate in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"stage {stage.key!r}: follow-up {duplicate!r} is defined twice")
        for follow_up in stage.follow_ups:
            where = f"stage {stage.key!r} follow-up {follow_up.name!r}"
            if follow_up.to_stage is None and not follow_up.send:
                problems.append(f"{where}: needs 'send', 'to_stage' or both")
            if follow_up.to_stage is not None and follow_up.to_stage not in known:
                problems.append(f"{where}: 'to_stage' names unknown stage {follow_up.to_stage!r}")
    exits[None] = tuple(
        Trigger(e.event, _condition(e.condition, f"exit {n}", problems), None)
        for n, e in enumerate(definition.exits, 1))
    goal = Trigger(definition.goal.event,
                   _condition(definition.goal.condition, "goal", problems), None)
    problems.extend(_unreachable(definition))
    if problems:
        raise JourneyInvalidError(definition.key, problems)
    return CompiledJourney(definition, version, entry, exits, goal)


def _unreachable(definition: JourneyDef) -> list[str]:
    """Stages no path from outside the journey leads to (by entry triggers and follow-ups)."""
    reached: set[str | None] = {None}
    changed = True
    while changed:
        changed = False
        for stage in definition.stages:
            if stage.key in reached:
                continue
            by_trigger = any(t.from_stages is None or reached & set(t.from_stages)
                             for t in stage.entry)
            by_follow_up = any(f.to_stage == stage.key for s in definition.stages
                               if s.key in reached for f in s.follow_ups)
            if by_trigger or by_follow_up:
                reached.add(stage.key)
                changed = True
    return [f"stage {stage.key!r} is unreachable: no entry trigger or follow-up leads to it "
            "from a reachable stage" for stage in definition.stages if stage.key not in reached]


def communications_of(definition: JourneyDef
                      ) -> Iterable[tuple[str, str, CommunicationDef]]:
    """Every communication a journey can send: where it is defined, the stage it is sent
    in (a follow-up that moves on sends from its target) and the communication."""
    for stage in definition.stages:
        for number, communication in enumerate(stage.communications, 1):
            yield f"stage {stage.key!r} communication {number}", stage.key, communication
        for follow_up in stage.follow_ups:
            for number, communication in enumerate(follow_up.send, 1):
                yield (f"stage {stage.key!r} follow-up {follow_up.name!r} send {number}",
                       follow_up.to_stage or stage.key, communication)
