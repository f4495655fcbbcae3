"""Journey simulation: a file of events played through a journey, nothing delivered.

The simulation runs the very code that live events run (intake, orchestration, channel
policy, follow-ups) inside a transaction that is rolled back at the end, with a clock that
follows the events: before each event, the follow-ups due by its time fire; after the
last, every follow-up still pending fires in turn. What it shows is what would happen —
including a draft journey, so marketing can try it before publishing. No worker runs, so
nothing is rendered or sent.

The events file is JSON Lines: one event per line (``customer_id``, ``type``,
``occurred_at``, optional ``payload`` and ``event_id``), and optionally lines
``{"customer": {"id": ..., <profile as for PUT /v1/customers>}}`` that define or override
a customer for the simulation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.config import Settings
from ccm.customers.schemas import CustomerProfile
from ccm.customers.service import upsert_customer
from ccm.db.base import as_utc
from ccm.documents.schemas import request_invalid
from ccm.errors import CCMError, InputError
from ccm.journeys.events import EventIn, ingest_events, parse_event
from ccm.journeys.models import FollowUp, FollowUpStatus
from ccm.journeys.orchestrator import Orchestrator
from ccm.journeys.service import compiled_version, get_journey_version
from ccm.journeys.views import customer_path

#: How far past the last event pending follow-ups are played out.
HORIZON = timedelta(days=366)
MAX_LINES = 100_000


@dataclass
class SimulationInput:
    customers: dict[str, CustomerProfile] = field(default_factory=dict)
    events: list[EventIn] = field(default_factory=list)


def read_events_file(lines: Iterable[str]) -> SimulationInput:
    """Parse the JSON Lines; every bad line is reported with its number, in one error."""
    found = SimulationInput()
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        if number > MAX_LINES:
            problems.append(f"more than {MAX_LINES} lines")
            break
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if isinstance(value, dict) and "customer" in value:
            profile = dict(value["customer"]) if isinstance(value["customer"], dict) else {}
            customer_id = str(profile.pop("id", "") or "")
            try:
                found.customers[customer_id or "?"] = CustomerProfile.model_validate(profile)
            except ValidationError as exc:
                problems += [f"line {number}: customer{v}" for v in request_invalid(exc).violations]
            if not customer_id:
                problems.append(f"line {number}: a customer line needs an id")
            continue
        if isinstance(value, dict):
            value.setdefault("event_id", f"simulated-{number}")
        try:
            found.events.append(parse_event(value))
        except CCMError as exc:
            violations = getattr(exc, "violations", None) or [exc.detail]
            problems += [f"line {number}: {v}" for v in violations]
    if problems:
        raise InputError("the events file has problems: " + "; ".join(problems))
    if not found.events:
        raise InputError("the events file has no events")
    return found


def simulate(
    session: Session, journey_key: str, given: SimulationInput, settings: Settings, *,
    version: int | None = None,
) -> dict[str, Any]:
    """Play ``given`` through the journey (its latest version, drafts included, unless
    ``version``) in ``session``; the caller rolls the session back. Returns each
    customer's path and sends."""
    row = (get_journey_version(session, journey_key, version, published_only=False)
           if version is not None else _latest_version(session, journey_key))
    journey = compiled_version(row)
    start = min(e.occurred_at for e in given.events)
    for customer_id, profile in given.customers.items():
        upsert_customer(session, customer_id, profile, source="simulation", now=start)
    customer_ids = sorted({e.customer_id for e in given.events} | set(given.customers))
    orchestrator = Orchestrator(session, settings, journeys=[journey])
    for event in sorted(given.events, key=lambda e: e.occurred_at):
        _fire_until(orchestrator, event.occurred_at, customer_ids)
        ingest_events(session, [event.model_dump(mode="json")], source="simulation",
                      now=event.occurred_at, settings=settings, journeys=[journey])
    last = max(e.occurred_at for e in given.events)
    _fire_until(orchestrator, last + HORIZON, customer_ids)
    return {"journey": journey.key, "version": journey.version, "status": row.status.value,
            "customers": [customer_path(session, c) for c in customer_ids]}


def _latest_version(session: Session, journey_key: str) -> Any:
    from ccm.journeys.service import journey_versions

    versions = journey_versions(session, journey_key)
    return versions[-1]


def _fire_until(orchestrator: Orchestrator, moment: datetime, customers: list[str]) -> None:
    """Fire the follow-ups due by ``moment`` one at a time, each at its own due time."""
    session = orchestrator.session
    while True:
        due = session.scalar(select(FollowUp.due_at).where(
            FollowUp.status == FollowUpStatus.PENDING, FollowUp.due_at <= moment,
            FollowUp.customer_id.in_(customers)).order_by(FollowUp.due_at).limit(1))
        if due is None:
            return
        orchestrator.fire_due_follow_ups(now=as_utc(due), limit=1, customer_ids=customers)
