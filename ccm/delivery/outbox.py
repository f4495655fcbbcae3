"""The outbox: a journey's decision to send becomes a row that a worker delivers.

A send is decided when its stage is entered (or its follow-up fires): the channel, the
time it may go (quiet hours), the marketing cap and the data are all settled then and
recorded with their reasons, so the decision can be explained later. Rendering and
delivery happen in the worker. A send's ``dedup_key`` is derived from what caused it, so
a replayed event or follow-up never makes a second send.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ccm.customers.models import Customer, Purpose
from ccm.customers.service import reachability, template_customer
from ccm.delivery.models import Send, SendEvent, SendEventKind, SendStatus
from ccm.delivery.policy import SendPolicy, choose_channel
from ccm.errors import CCMError, DataValidationError
from ccm.inputs import normalise_numbers, validate_data
from ccm.journeys.definition import CommunicationDef
from ccm.rendering.service import resolve_specs

#: Sends that count against the marketing cap: everything not suppressed or failed.
_COUNTED = (SendStatus.QUEUED, SendStatus.SENDING, SendStatus.SENT, SendStatus.DELIVERED,
            SendStatus.BOUNCED)


@dataclass(frozen=True)
class SendCause:
    """Why a send is made: journey, stage, and the event or follow-up behind it."""

    journey_key: str
    journey_version: int
    stage_key: str
    trigger: str  # "event:<id>" or "follow-up:<id>"
    trigger_event_id: str | None
    follow_up_id: int | None
    position: int  # which communication of the stage or follow-up


def dedup_key(cause: SendCause, template_key: str) -> str:
    raw = "\x00".join((cause.journey_key, cause.stage_key, cause.trigger, str(cause.position),
                       template_key))
    return hashlib.sha256(raw.encode()).hexdigest()


def add_history(session: Session, send: Send, kind: SendEventKind, at: datetime,
                **detail: Any) -> None:
    session.add(SendEvent(send_id=send.id, kind=kind.value, detail=detail, occurred_at=at))


def _marketing_sends_in(session: Session, send: Send, since: datetime,
                        until: datetime) -> int:
    """Other marketing sends of the customer due in (since, until]."""
    return session.scalar(select(func.count()).select_from(Send).where(
        Send.customer_id == send.customer_id, Send.id != send.id,
        Send.purpose == Purpose.MARKETING.value,
        Send.status.in_(_COUNTED), Send.due_at > since, Send.due_at <= until)) or 0


def send_data(customer: Customer, data: dict[str, Any]) -> dict[str, Any]:
    """The data a send renders: what its cause carried, with the customer's profile as
    ``customer`` where the data has none."""
    values: dict[str, Any] = normalise_numbers(dict(data))
    values.setdefault("customer", template_customer(customer))
    return values


def plan_send(
    session: Session,
    customer: Customer,
    communication: CommunicationDef,
    cause: SendCause,
    data: dict[str, Any],
    *,
    now: datetime,
    policy: SendPolicy,
    superseded: str | None = None,
) -> Send:
    """Decide and record one send (flushed). ``superseded`` suppresses it with that reason:
    a late event placed in the past sends nothing."""
    key = dedup_key(cause, communication.template)
    existing = session.scalar(select(Send).where(Send.dedup_key == key))
    if existing is not None:
        return existing
    # The id comes from the cause too: the same decision always has the same message id.
    send = Send(id=str(uuid.UUID(key[:32])), dedup_key=key, customer_id=customer.id,
                journey_key=cause.journey_key, journey_version=cause.journey_version,
                stage_key=cause.stage_key, template_key=communication.template,
                purpose=Purpose.TRANSACTIONAL.value, channel=None,
                status=SendStatus.QUEUED, decision=[], data={}, locale=customer.locale,
                trigger=cause.trigger, trigger_event_id=cause.trigger_event_id,
                follow_up_id=cause.follow_up_id, due_at=now, links=[], created_at=now,
                updated_at=now)
    session.add(send)
    session.flush()  # its history rows refer to it
    _decide(session, send, customer, communication, data, now=now, policy=policy,
            superseded=superseded)
    session.flush()
    return send


def _decide(session: Session, send: Send, customer: Customer, communication: CommunicationDef,
            data: dict[str, Any], *, now: datetime, policy: SendPolicy,
            superseded: str | None) -> None:
    try:
        template, _brand = resolve_specs(session, communication.template)
    except CCMError as exc:
        finish_send(session, send, SendStatus.FAILED, f"{exc.code}: {exc.detail}", now)
        return
    purpose = communication.purpose or (
        Purpose.MARKETING if template.kind == "promotion" else Purpose.TRANSACTIONAL)
    send.purpose = purpose.value
    send.data = send_data(customer, {**communication.data, **data})
    if superseded is not None:
        finish_send(session, send, SendStatus.SUPPRESSED, superseded, now)
        return
    decision = choose_channel(communication.channels, reachability(session, customer),
                              purpose, template.bodies)
    send.decision = list(decision.steps)
    if decision.channel is None:
        finish_send(session, send, SendStatus.SUPPRESSED, decision.reason, now)
        return
    send.channel = decision.channel.value
    try:
        validate_data(send.data, template.data_schema)
    except DataValidationError as exc:
        finish_send(session, send, SendStatus.FAILED, f"{exc.code}: {exc.detail}", now)
        return
    due = now
    if policy.quiet_hours is not None:
        due = policy.quiet_hours.release(now, customer.time_zone, decision.channel)
    if purpose is Purpose.MARKETING:
        for cap in policy.caps:
            sent = _marketing_sends_in(session, send, due - cap.period, due)
            if sent >= cap.limit:
                finish_send(session, send, SendStatus.SUPPRESSED,
                        f"marketing frequency cap reached: {sent} in the period "
                        f"(cap {cap.describe()})", now)
                return
    send.due_at = due
    add_history(session, send, SendEventKind.QUEUED, now, channel=send.channel,
                reason=decision.reason)
    if due > now:
        add_history(session, send, SendEventKind.DELAYED, now, until=due.isoformat(),
                    reason=f"quiet hours in {customer.time_zone}")


def finish_send(session: Session, send: Send, status: SendStatus, reason: str,
                now: datetime) -> None:
    """Make ``send`` failed or suppressed for ``reason``, in its history too."""
    send.status = status
    send.reason = reason
    kind = SendEventKind.SUPPRESSED if status is SendStatus.SUPPRESSED else SendEventKind.FAILED
    add_history(session, send, kind, now, reason=reason)
