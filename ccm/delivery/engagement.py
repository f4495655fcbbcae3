"""What customers and providers tell us after a send: opens, clicks, unsubscribes and
delivery reports. Each is kept in the send's history and comes back into the journeys as
an event (``email_opened``, ``link_clicked``, ``unsubscribed``, ``message_delivered``,
``message_bounced``, ``message_failed``), so a click on an offer can move a customer on.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ccm.config import Settings
from ccm.customers.models import Purpose
from ccm.customers.schemas import ConsentIn
from ccm.customers.service import set_consent
from ccm.db.session import begin_savepoint
from ccm.delivery.message import DeliveryChannel
from ccm.delivery.models import Send, SendEventKind, SendStatus
from ccm.delivery.outbox import add_history
from ccm.delivery.secrets import tracking_secret
from ccm.delivery.tracking import read_click, read_open, read_unsubscribe
from ccm.errors import (
    CCMError,
    InputError,
    NotFoundError,
    TrackingLinkInvalidError,
    WebhookSignatureError,
)
from ccm.journeys.events import EventIn, ingest_event
from ccm.journeys.models import Event

TRACKING_SOURCE = "tracking"
log = logging.getLogger(__name__)


def _send(session: Session, send_id: str) -> Send:
    send = session.get(Send, send_id)
    if send is None:
        raise TrackingLinkInvalidError("this link belongs to no communication")
    return send


def _journey_event(session: Session, send: Send, event_id: str, type_: str,
                   payload: dict[str, Any], now: datetime, settings: Settings) -> None:
    """Report engagement to the journeys once per ``event_id`` (a second open or click of
    the same link is history, not a new journey event)."""
    if session.scalar(select(Event.id).where(Event.event_id == event_id)) is not None:
        return
    savepoint = begin_savepoint(session)
    try:
        ingest_event(session, EventIn(event_id=event_id, customer_id=send.customer_id,
                                      type=type_, occurred_at=now, payload=payload),
                     source=TRACKING_SOURCE, now=now, settings=settings)
    except CCMError as exc:
        # The customer's click, open or unsubscribe still counts (and redirects); the
        # journey event that could not be taken is logged with its reason.
        savepoint.rollback()
        log.error("engagement event %s for send %s refused: [%s] %s", type_, send.id,
                  exc.code, exc.detail)
        return
    savepoint.commit()


def _payload(send: Send, **extra: Any) -> dict[str, Any]:
    return {"send_id": send.id, "template": send.template_key, "journey": send.journey_key,
            "stage": send.stage_key, "channel": send.channel, **extra}


def record_open(session: Session, token: str, *, now: datetime, settings: Settings) -> Send:
    send = _send(session, read_open(tracking_secret(session, settings), token))
    add_history(session, send, SendEventKind.OPENED, now)
    _journey_event(session, send, f"open:{send.id}", "email_opened", _payload(send), now,
                   settings)
    session.flush()
    return send


def record_click(session: Session, token: str, *, now: datetime, settings: Settings) -> str:
    """The URL the link stands for: only ever one the email itself contained."""
    send_id, index = read_click(tracking_secret(session, settings), token)
    send = _send(session, send_id)
    if not 0 <= index < len(send.links):
        raise TrackingLinkInvalidError("this link points at nothing the email contained")
    url = send.links[index]
    add_history(session, send, SendEventKind.CLICKED, now, url=url, index=index)
    _journey_event(session, send, f"click:{send.id}:{index}", "link_clicked",
                   _payload(send, url=url, link_index=index), now, settings)
    session.flush()
    return url


def check_unsubscribe(session: Session, token: str, settings: Settings) -> Send:
    return _send(session, read_unsubscribe(tracking_secret(session, settings), token))


def unsubscribe(session: Session, token: str, *, now: datetime, settings: Settings) -> Send:
    """One-click unsubscribe (RFC 8058): withdraws marketing consent for the channel the
    mail came by; repeating it changes nothing more."""
    send = check_unsubscribe(session, token, settings)
    channel = DeliveryChannel(send.channel or DeliveryChannel.EMAIL.value)
    changed = set_consent(session, send.customer_id, ConsentIn(
        channel=channel, purpose=Purpose.MARKETING, granted=False,
        source=f"one-click unsubscribe ({send.template_key}, send {send.id})"), now=now)
    if changed:
        add_history(session, send, SendEventKind.UNSUBSCRIBED, now, channel=channel.value)
    _journey_event(session, send, f"unsubscribe:{send.id}", "unsubscribed",
                   _payload(send), now, settings)
    session.flush()
    return send


def check_signature(settings: Settings, body: bytes, signature: str | None) -> None:
    """``X-CCM-Signature: sha256=<hex HMAC-SHA256 of the body>`` with CCM_WEBHOOK_SECRET."""
    if not settings.webhook_secret:
        raise WebhookSignatureError("provider callbacks are refused: CCM_WEBHOOK_SECRET is "
                                    "not set")
    expected = hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    given = (signature or "").removeprefix("sha256=").strip()
    if not hmac.compare_digest(expected, given):
        raise WebhookSignatureError("the callback's X-CCM-Signature does not match its body")


_REPORTED = {"delivered": (SendStatus.DELIVERED, SendEventKind.DELIVERED, "message_delivered"),
             "bounced": (SendStatus.BOUNCED, SendEventKind.BOUNCED, "message_bounced"),
             "failed": (SendStatus.FAILED, SendEventKind.FAILED, "message_failed")}


def provider_report(session: Session, provider: str, report: dict[str, Any], *,
                    now: datetime, settings: Settings) -> Send:
    """A provider's delivery report: ``message_id`` (the provider's id or ours), ``status``
    (delivered, bounced or failed) and an optional ``reason``."""
    message_id, status = report.get("message_id"), report.get("status")
    if not isinstance(message_id, str) or not message_id:
        raise InputError("a delivery report needs message_id")
    if status not in _REPORTED:
        raise InputError(f"status must be one of {', '.join(_REPORTED)}, not {status!r}")
    # A provider's ids are its own: another provider may use the same ones. A provider
    # that reuses an id (after a reset) means its latest message.
    send = session.scalar(select(Send).where(
        or_(and_(Send.provider == provider, Send.provider_message_id == message_id),
            Send.id == message_id)).order_by(Send.sent_at.desc().nulls_last(), Send.id).limit(1))
    if send is None:
        raise NotFoundError(f"no send with message id {message_id!r}")
    new_status, kind, event_type = _REPORTED[status]
    reason = str(report.get("reason") or "")[:500] or None
    if send.status in (SendStatus.SENT, SendStatus.DELIVERED):
        send.status = new_status
        if new_status is not SendStatus.DELIVERED:
            send.reason = f"{provider}: {reason or status}"
        send.updated_at = now
    add_history(session, send, kind, now, provider=provider, reason=reason)
    _journey_event(session, send, f"status:{send.id}:{status}", event_type,
                   _payload(send, reason=reason), now, settings)
    session.flush()
    return send
