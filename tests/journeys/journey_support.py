"""Helpers for journey tests: a settable clock, customers, events and the stock journey."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.config import Settings
from ccm.customers.schemas import CustomerProfile
from ccm.customers.service import upsert_customer
from ccm.db.session import json_dumps
from ccm.delivery.models import Send
from ccm.journeys.events import EventResult, ingest_events
from ccm.journeys.models import CustomerJourney, FollowUp, StageTransition
from ccm.journeys.orchestrator import Orchestrator, Outcome
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data, welcome_data

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Berlin


@dataclass
class Clock:
    now: datetime = START

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def quiet_settings(**overrides: Any) -> Settings:
    """Settings without quiet hours or caps unless a test asks for them."""
    return Settings(**({"quiet_hours": "", "marketing_cap": ""} | overrides))


def add_customer(session: Session, customer_id: str = "C-1", **fields: Any) -> str:
    profile: dict[str, Any] = {"name": "Jürgen Weiß", "locale": "de_DE",
                               "time_zone": "Europe/Berlin", "email": "juergen@example.de",
                               "phone": "+4915112345678",
                               "postal_address": ["Mühlenstraße 7", "21029 Hamburg"],
                               "preferred_channel": "email",
                               "attributes": {"tenure_months": 26}}
    profile.update(fields)
    upsert_customer(session, customer_id, CustomerProfile.model_validate(profile),
                    source="test", now=START)
    return customer_id


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(json_dumps(data))
    return value


def bill_payload() -> dict[str, Any]:
    return jsonable(bill_data(SAMPLE_CUSTOMERS[2]))


def welcome_payload() -> dict[str, Any]:
    return jsonable(welcome_data(SAMPLE_CUSTOMERS[2]))


def event(customer_id: str, type_: str, at: datetime, payload: dict[str, Any] | None = None,
          event_id: str | None = None) -> dict[str, Any]:
    return {"event_id": event_id or f"{customer_id}-{type_}-{at.isoformat()}",
            "customer_id": customer_id, "type": type_, "occurred_at": at.isoformat(),
            "payload": payload if payload is not None else {}}


def send_events(session: Session, settings: Settings, clock: Clock,
                *events: dict[str, Any]) -> list[EventResult]:
    return ingest_events(session, list(events), source="test", now=clock.now,
                         settings=settings)


def fire(session: Session, settings: Settings, clock: Clock, *customers: str) -> Outcome:
    """Fire the due follow-ups of ``customers`` (others' committed by other tests stay)."""
    return Orchestrator(session, settings).fire_due_follow_ups(now=clock.now,
                                                                customer_ids=customers)


def sends_of(session: Session, customer_id: str) -> list[Send]:
    return list(session.scalars(select(Send).where(Send.customer_id == customer_id)
                                .order_by(Send.created_at, Send.id)))


def stage_of(session: Session, customer_id: str, journey: str = "utility-customer") -> str:
    row = session.scalar(select(CustomerJourney).where(
        CustomerJourney.customer_id == customer_id, CustomerJourney.journey_key == journey))
    assert row is not None
    return row.stage_key


def history(session: Session, customer_id: str) -> list[tuple[str | None, str | None, str,
                                                                bool]]:
    rows = session.scalars(select(StageTransition).where(
        StageTransition.customer_id == customer_id)
        .order_by(StageTransition.occurred_at, StageTransition.id))
    return [(r.from_stage, r.to_stage, r.outcome.value, r.superseded) for r in rows]


def follow_ups_of(session: Session, customer_id: str) -> list[FollowUp]:
    return list(session.scalars(select(FollowUp).where(FollowUp.customer_id == customer_id)
                                .order_by(FollowUp.id)))
