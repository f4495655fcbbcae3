"""Event intake: idempotent by event id, placed by the time it happened.

``ingest_events`` takes one event or a batch; each event is stored and orchestrated in a
savepoint of its own, so one refused event does not undo the others, and a batch is
handled in time order per customer, whatever order it arrived in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ccm.canonical import canonical_digest
from ccm.config import Settings
from ccm.customers.models import Customer
from ccm.customers.service import ensure_customer
from ccm.db.base import as_utc
from ccm.db.session import begin_savepoint
from ccm.documents.schemas import request_invalid
from ccm.documents.service import check_customer_id
from ccm.errors import (
    CCMError,
    DataValidationError,
    EventIdReusedError,
    InputError,
    UnknownCustomerError,
)
from ccm.inputs import normalise_numbers
from ccm.journeys.definition import CompiledJourney
from ccm.journeys.models import Event
from ccm.journeys.orchestrator import Orchestrator, Outcome

_TYPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,99}$")


class EventIn(BaseModel):
    """An event about a customer, as a billing system or ccm's own tracking reports it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "event_id": "evt-2026-11-0001", "customer_id": "C-101502", "type": "bill_issued",
        "occurred_at": "2026-11-03T09:00:00Z", "payload": {"invoice_number": "INV-2026-1"},
    }]})

    event_id: str = Field(min_length=1, max_length=200,
                          description="Unique per event: a retry with the same id is a no-op.")
    customer_id: str = Field(min_length=1, max_length=200)
    type: str = Field(description="e.g. signed_up, bill_issued, payment_received.")
    occurred_at: datetime = Field(description="When it happened (with a time zone).")
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not _TYPE.match(value):
            raise ValueError(f"{value!r} is not an event type (lower case: a-z, 0-9, _ . : -)")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (e.g. 2026-11-03T09:00:00Z)")
        return value.astimezone(UTC)


def parse_event(raw: Any) -> EventIn:
    try:
        return EventIn.model_validate(raw)
    except ValidationError as exc:
        raise request_invalid(exc) from None


@dataclass
class EventResult:
    """What became of one event: ``accepted``, ``duplicate`` (already had) or ``refused``."""

    index: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "refused"]
    outcome: Outcome = field(default_factory=Outcome)
    error: CCMError | None = None


def _fingerprint(event: EventIn) -> str:
    return canonical_digest({"customer_id": event.customer_id, "type": event.type,
                             "occurred_at": event.occurred_at.isoformat(),
                             "payload": normalise_numbers(event.payload)})


def ingest_event(
    session: Session, event: EventIn, *, source: str, now: datetime, settings: Settings,
    journeys: Sequence[CompiledJourney] | None = None,
) -> tuple[Literal["accepted", "duplicate"], Outcome]:
    """Store one event and move its customer on; a repeat of a stored event changes
    nothing. Flushes, never commits. ``journeys``: instead of the live ones."""
    check_customer_id(event.customer_id)
    fingerprint = _fingerprint(event)
    existing = session.scalar(select(Event).where(Event.event_id == event.event_id))
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise EventIdReusedError(
                f"event id {event.event_id!r} was already used for another event "
                f"({existing.type} of customer {existing.customer_id!r} at "
                f"{as_utc(existing.occurred_at).isoformat()})")
        return "duplicate", Outcome()
    if settings.events_unknown_customer == "refuse":
        customer = session.get(Customer, event.customer_id)
        if customer is None:
            raise UnknownCustomerError(
                f"no customer {event.customer_id!r}: create it with PUT /v1/customers/"
                f"{{id}} first (CCM_EVENTS_UNKNOWN_CUSTOMER=refuse)")
    else:
        customer, _ = ensure_customer(session, event.customer_id, now=now)
    row = Event(event_id=event.event_id, customer_id=event.customer_id, type=event.type,
                occurred_at=event.occurred_at, payload=normalise_numbers(event.payload),
                fingerprint=fingerprint, source=source, received_at=now)
    session.add(row)
    session.flush()
    orchestrator = Orchestrator(session, settings, journeys=journeys)
    return "accepted", orchestrator.handle_event(customer, row, now=now)


def ingest_events(
    session: Session, raw_events: Sequence[Any], *, source: str, now: datetime,
    settings: Settings, journeys: Sequence[CompiledJourney] | None = None,
) -> list[EventResult]:
    """A batch: each event checked, then stored and orchestrated in time order, each in a
    savepoint; results come back in the order the events were given."""
    if not raw_events:
        raise InputError("give at least one event")
    if len(raw_events) > settings.events_max_batch:
        raise InputError(f"a request holds at most {settings.events_max_batch} events, "
                         f"not {len(raw_events)}")
    results: list[EventResult | None] = [None] * len(raw_events)
    parsed: list[tuple[int, EventIn]] = []
    for index, raw in enumerate(raw_events):
        try:
            parsed.append((index, parse_event(raw)))
        except DataValidationError as exc:
            event_id = raw.get("event_id") if isinstance(raw, Mapping) else None
            results[index] = EventResult(index, event_id if isinstance(event_id, str) else None,
                                         "refused", error=exc)
    for index, event in sorted(parsed, key=lambda item: (item[1].occurred_at, item[0])):
        results[index] = _ingest_one(session, index, event, source=source, now=now,
                                     settings=settings, journeys=journeys)
        if len(parsed) > 1:
            # Each flush walks every object the session holds: without this, a batch of a
            # thousand events would cost more per event than events one at a time. The
            # results keep what they read (detached objects keep their loaded values).
            session.expunge_all()
    return [result for result in results if result is not None]


def _ingest_one(session: Session, index: int, event: EventIn, *, source: str, now: datetime,
                settings: Settings, journeys: Sequence[CompiledJourney] | None
                ) -> EventResult:
    savepoint = begin_savepoint(session)
    try:
        status, outcome = ingest_event(session, event, source=source, now=now,
                                       settings=settings, journeys=journeys)
    except CCMError as exc:
        savepoint.rollback()
        return EventResult(index, event.event_id, "refused", error=exc)
    except IntegrityError:
        # Another request stored the same event id at the same moment: ours is a repeat.
        savepoint.rollback()
        stored = session.scalar(select(Event).where(Event.event_id == event.event_id))
        if stored is not None and stored.fingerprint == _fingerprint(event):
            return EventResult(index, event.event_id, "duplicate")
        raise
    savepoint.commit()
    return EventResult(index, event.event_id, status, outcome)
