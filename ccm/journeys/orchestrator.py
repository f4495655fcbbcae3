"""Orchestration: an event (or a follow-up's time) moves a customer through a journey.

For each live journey that listens to the event's type:

1. pending follow-ups whose ``unless`` names the event are cancelled, if the event
   happened between their scheduling and their due time (so a late-arriving payment still
   cancels the reminder, but a payment from before the bill does not);
2. an exit trigger takes the customer out of the journey;
3. the first stage (in the ideal path's order) with a matching entry trigger is entered:
   the transition is recorded, the stage's communications are decided (outbox) and its
   follow-ups scheduled;
4. the goal event completes the journey.

Events are placed by the time they happened, not the time they arrived. A late event that
would move a customer into a stage before the one they are in now is recorded in the
history at its time, marked ``superseded``; it does not move them back, and its sends are
suppressed with that reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ccm.config import Settings
from ccm.customers.models import Customer
from ccm.customers.service import profile_of
from ccm.db.base import as_utc
from ccm.delivery.models import Send
from ccm.delivery.outbox import SendCause, plan_send
from ccm.delivery.policy import SendPolicy
from ccm.journeys.definition import CompiledJourney, FollowUpDef, Trigger, parse_duration
from ccm.journeys.models import (
    CustomerJourney,
    Event,
    FollowUp,
    FollowUpStatus,
    JourneyStatus,
    StageTransition,
    TransitionOutcome,
)
from ccm.journeys.service import compiled_version, get_journey_version, live_journeys


@dataclass
class Outcome:
    """What one event or follow-up did."""

    transitions: list[StageTransition] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    scheduled: list[FollowUp] = field(default_factory=list)
    cancelled: list[FollowUp] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.transitions += other.transitions
        self.sends += other.sends
        self.scheduled += other.scheduled
        self.cancelled += other.cancelled


@dataclass(frozen=True)
class Happening:
    """An event, or a follow-up's due time, as the orchestrator sees it."""

    type: str
    occurred_at: datetime
    payload: Mapping[str, Any]
    trigger: str  # "event:<id>" or "follow-up:<id>"
    event_id: str | None = None


def _context(customer: Customer, happening: Happening) -> dict[str, Any]:
    return {"event": {"type": happening.type, "id": happening.event_id,
                      "occurred_at": happening.occurred_at.isoformat(),
                      "payload": happening.payload},
            "payload": happening.payload, "customer": profile_of(customer)}


def _matches(trigger: Trigger, happening: Happening, context: Mapping[str, Any]) -> bool:
    return trigger.event == happening.type and (
        trigger.condition is None or trigger.condition.evaluate(context))


def _instance(session: Session, customer_id: str, journey_key: str) -> CustomerJourney | None:
    return session.scalar(select(CustomerJourney).where(
        CustomerJourney.customer_id == customer_id, CustomerJourney.journey_key == journey_key))


def stage_at(session: Session, customer_id: str, journey_key: str,
             moment: datetime) -> str | None:
    """The stage the customer was in at ``moment`` (None: not yet in the journey)."""
    row = session.scalar(
        select(StageTransition).where(
            StageTransition.customer_id == customer_id,
            StageTransition.journey_key == journey_key,
            StageTransition.outcome == TransitionOutcome.ENTERED,
            StageTransition.superseded.is_(False),
            StageTransition.occurred_at <= moment,
        ).order_by(StageTransition.occurred_at.desc(), StageTransition.id.desc()).limit(1))
    return row.to_stage if row is not None else None


class Orchestrator:
    """Applies events and due follow-ups to customers' journeys (flushes, never commits)."""

    def __init__(self, session: Session, settings: Settings, *,
                 journeys: Sequence[CompiledJourney] | None = None) -> None:
        """``journeys``: match events against these instead of the live ones (a
        simulation of a draft)."""
        self.session = session
        self.settings = settings
        self.journeys = journeys

    def policy(self, journey: CompiledJourney) -> SendPolicy:
        return SendPolicy.for_journey(self.settings, journey.definition)

    # -- events ------------------------------------------------------------------------

    def handle_event(self, customer: Customer, event: Event, *, now: datetime) -> Outcome:
        happening = Happening(event.type, as_utc(event.occurred_at), event.payload,
                              f"event:{event.event_id}", event.event_id)
        outcome = Outcome()
        journeys = self.journeys if self.journeys is not None else live_journeys(self.session)
        for journey in journeys:
            if happening.type in journey.event_types():
                outcome.extend(self._apply(journey, customer, happening, now=now))
        return outcome

    def _apply(self, journey: CompiledJourney, customer: Customer, happening: Happening, *,
               now: datetime) -> Outcome:
        outcome = Outcome()
        outcome.cancelled += self._cancel_follow_ups(customer.id, journey.key, happening, now)
        instance = _instance(self.session, customer.id, journey.key)
        if instance is not None and instance.status is not JourneyStatus.ACTIVE:
            return outcome  # finished journeys are not re-entered
        context = _context(customer, happening)
        late = instance is not None and happening.occurred_at < as_utc(instance.entered_at)
        current = instance.stage_key if instance is not None else None
        stage_then = (stage_at(self.session, customer.id, journey.key, happening.occurred_at)
                      if late else current)
        if instance is not None:
            exits = (*journey.exits.get(stage_then, ()), *journey.exits[None])
            if any(_matches(t, happening, context) for t in exits):
                outcome.transitions.append(self._finish(instance, journey, happening,
                                                        TransitionOutcome.EXITED, now))
                outcome.cancelled += self._cancel_all(instance, "the customer left the "
                                                      "journey", now)
                return outcome
        target = next((stage for stage in journey.definition.stages
                       for trigger in journey.entry[stage.key]
                       if trigger.admits(stage_then) and _matches(trigger, happening, context)),
                      None)
        if target is not None:
            instance, entered = self.enter_stage(journey, customer, instance, target.key,
                                                 happening, stage_then, late=late, now=now)
            outcome.extend(entered)
        if instance is not None and _matches(journey.goal, happening, context):
            outcome.transitions.append(self._finish(instance, journey, happening,
                                                    TransitionOutcome.GOAL_REACHED, now))
            outcome.cancelled += self._cancel_all(instance, "the journey's goal was reached",
                                                  now)
        return outcome

    # -- moving between stages -----------------------------------------------------------

    def enter_stage(
        self, journey: CompiledJourney, customer: Customer, instance: CustomerJourney | None,
        stage_key: str, happening: Happening, from_stage: str | None, *, late: bool,
        now: datetime, extra_sends: tuple[Any, ...] = (), follow_up_id: int | None = None,
    ) -> tuple[CustomerJourney, Outcome]:
        outcome = Outcome()
        transition = StageTransition(
            customer_id=customer.id, journey_key=journey.key, journey_version=journey.version,
            from_stage=from_stage, to_stage=stage_key, outcome=TransitionOutcome.ENTERED,
            trigger=happening.trigger, event_type=happening.type,
            occurred_at=happening.occurred_at, superseded=late, recorded_at=now)
        self.session.add(transition)
        outcome.transitions.append(transition)
        if instance is None:
            instance = CustomerJourney(
                customer_id=customer.id, journey_key=journey.key,
                journey_version=journey.version, stage_key=stage_key,
                entered_at=happening.occurred_at, status=JourneyStatus.ACTIVE,
                started_at=happening.occurred_at)
            self.session.add(instance)
        elif not late:
            instance.stage_key = stage_key
            instance.entered_at = happening.occurred_at
            instance.journey_version = journey.version
        self.session.flush()
        superseded = None
        if late:
            superseded = (f"superseded: the event happened at {happening.occurred_at.isoformat()}"
                          f", after which the customer had already moved on to "
                          f"{instance.stage_key!r}")
        stage = journey.stage(stage_key)
        policy = self.policy(journey)
        sends = [*stage.communications, *extra_sends]
        for position, communication in enumerate(sends):
            cause = SendCause(journey.key, journey.version, stage_key, happening.trigger,
                              happening.event_id, follow_up_id, position)
            outcome.sends.append(plan_send(
                self.session, customer, communication, cause, dict(happening.payload),
                now=now, policy=policy, superseded=superseded))
        if not late:
            for follow_up in stage.follow_ups:
                outcome.scheduled.append(self._schedule(journey, customer, stage_key,
                                                        follow_up, happening))
        self.session.flush()
        return instance, outcome

    def _schedule(self, journey: CompiledJourney, customer: Customer, stage_key: str,
                  follow_up: FollowUpDef, happening: Happening) -> FollowUp:
        row = FollowUp(
            customer_id=customer.id, journey_key=journey.key, journey_version=journey.version,
            stage_key=stage_key, name=follow_up.name, scheduled_from=happening.occurred_at,
            due_at=happening.occurred_at + parse_duration(follow_up.after),
            unless=list(follow_up.unless),
            action=follow_up.model_dump(mode="json", exclude_none=True),
            data=dict(happening.payload), source_event_id=happening.event_id,
            status=FollowUpStatus.PENDING)
        self.session.add(row)
        return row

    def _finish(self, instance: CustomerJourney, journey: CompiledJourney,
                happening: Happening, outcome: TransitionOutcome,
                now: datetime) -> StageTransition:
        instance.status = (JourneyStatus.COMPLETED if outcome is TransitionOutcome.GOAL_REACHED
                           else JourneyStatus.EXITED)
        instance.finished_at = happening.occurred_at
        transition = StageTransition(
            customer_id=instance.customer_id, journey_key=journey.key,
            journey_version=journey.version, from_stage=instance.stage_key, to_stage=None,
            outcome=outcome, trigger=happening.trigger, event_type=happening.type,
            occurred_at=happening.occurred_at, superseded=False, recorded_at=now)
        self.session.add(transition)
        self.session.flush()
        return transition

    # -- follow-ups ---------------------------------------------------------------------

    def _cancel_follow_ups(self, customer_id: str, journey_key: str, happening: Happening,
                           now: datetime) -> list[FollowUp]:
        pending = self.session.scalars(select(FollowUp).where(
            FollowUp.customer_id == customer_id, FollowUp.journey_key == journey_key,
            FollowUp.status == FollowUpStatus.PENDING)).all()
        reason = f"cancelled by {happening.type} ({happening.trigger})"
        return [row for row in pending
                if happening.type in row.unless
                and as_utc(row.scheduled_from) <= happening.occurred_at < as_utc(row.due_at)
                and self._resolve(row, FollowUpStatus.CANCELLED, reason, now)]

    def _cancel_all(self, instance: CustomerJourney, reason: str,
                    now: datetime) -> list[FollowUp]:
        pending = self.session.scalars(select(FollowUp).where(
            FollowUp.customer_id == instance.customer_id,
            FollowUp.journey_key == instance.journey_key,
            FollowUp.status == FollowUpStatus.PENDING)).all()
        return [row for row in pending
                if self._resolve(row, FollowUpStatus.CANCELLED, reason, now)]

    def _resolve(self, row: FollowUp, status: FollowUpStatus, resolution: str,
                 now: datetime) -> bool:
        """Move a pending follow-up on, only if nobody else did first."""
        result = self.session.execute(
            update(FollowUp).where(FollowUp.id == row.id,
                                   FollowUp.status == FollowUpStatus.PENDING)
            .values(status=status, resolution=resolution, resolved_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self.session.refresh(row)
        return True

    def fire_due_follow_ups(self, *, now: datetime, limit: int = 100,
                            customer_ids: Collection[str] | None = None) -> Outcome:
        """Fire pending follow-ups due by ``now`` (oldest first), up to ``limit``; only
        those of ``customer_ids`` when given."""
        outcome = Outcome()
        query = (select(FollowUp).where(FollowUp.status == FollowUpStatus.PENDING,
                                        FollowUp.due_at <= now)
                 .order_by(FollowUp.due_at, FollowUp.id).limit(limit))
        if customer_ids is not None:
            query = query.where(FollowUp.customer_id.in_(list(customer_ids)))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for row in self.session.scalars(query).all():
            if self._resolve(row, FollowUpStatus.FIRED, "fired", now):
                outcome.extend(self._fire(row, now))
        return outcome

    def _fire(self, row: FollowUp, now: datetime) -> Outcome:
        customer = self.session.get(Customer, row.customer_id)
        assert customer is not None
        journey = next((j for j in self.journeys or () if j.key == row.journey_key
                        and j.version == row.journey_version), None) or compiled_version(
            get_journey_version(self.session, row.journey_key, row.journey_version,
                                published_only=False))
        action = FollowUpDef.model_validate(row.action)
        happening = Happening(f"follow-up:{row.name}", as_utc(row.due_at), row.data,
                              f"follow-up:{row.id}", row.source_event_id)
        instance = _instance(self.session, row.customer_id, row.journey_key)
        if action.to_stage is not None:
            late = instance is not None and happening.occurred_at < as_utc(instance.entered_at)
            current = instance.stage_key if instance is not None else None
            _, outcome = self.enter_stage(
                journey, customer, instance, action.to_stage, happening,
                row.stage_key if late else current, late=late, now=now,
                extra_sends=tuple(action.send), follow_up_id=row.id)
            return outcome
        outcome = Outcome()
        for position, communication in enumerate(action.send):
            cause = SendCause(journey.key, journey.version, row.stage_key, happening.trigger,
                              row.source_event_id, row.id, position)
            outcome.sends.append(plan_send(self.session, customer, communication, cause,
                                           dict(row.data), now=now,
                                           policy=self.policy(journey)))
        return outcome
