"""The outbox: one row per send a journey decided on, and the history of each send."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, text_enum, utcnow


class SendStatus(enum.StrEnum):
    """Where a send is. ``queued`` and ``sending`` are unfinished; the rest are final
    except ``sent``, which a provider's callback may still turn into delivered or bounced."""

    QUEUED = "queued"  # waiting for ``due_at`` (quiet hours, a retry's backoff)
    SENDING = "sending"  # claimed by a worker whose lease runs until ``lease_until``
    SENT = "sent"  # the provider took it
    DELIVERED = "delivered"  # the provider reported delivery
    BOUNCED = "bounced"  # the provider reported a bounce
    FAILED = "failed"  # it could not be sent: ``reason`` says why
    SUPPRESSED = "suppressed"  # no channel was allowed (consent, contact, cap, superseded)


UNFINISHED = (SendStatus.QUEUED, SendStatus.SENDING)


class Send(Base):
    """One communication a journey decided to send, from decision to delivery."""

    __tablename__ = "sends"
    __table_args__ = (
        Index("ix_sends_due", "status", "due_at"),
        Index("ix_sends_customer", "customer_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # also the message id
    #: What makes this send unique (trigger, stage, template, position): a replayed
    #: event or follow-up never makes a second send.
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    journey_key: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[int]
    stage_key: Mapped[str] = mapped_column(String(100))
    template_key: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[SendStatus] = mapped_column(text_enum(SendStatus))
    reason: Mapped[str | None] = mapped_column(Text)
    #: How the channel was chosen: each candidate and why it was taken or skipped.
    decision: Mapped[list[Any]] = mapped_column()
    data: Mapped[dict[str, Any]]
    locale: Mapped[str | None] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(250))
    trigger_event_id: Mapped[str | None] = mapped_column(String(200))
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id"))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    communication_id: Mapped[str | None] = mapped_column(ForeignKey("communications.id"))
    provider: Mapped[str | None] = mapped_column(String(50))
    provider_message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    #: The URLs the email contained, in click-link index order.
    links: Mapped[list[str]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SendEventKind(enum.StrEnum):
    QUEUED = "queued"
    SUPPRESSED = "suppressed"
    DELAYED = "delayed"  # quiet hours moved it
    RENDERED = "rendered"
    ATTEMPT_FAILED = "attempt_failed"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"


class SendEvent(Base):
    """One thing that happened to a send, in order: its delivery and engagement history."""

    __tablename__ = "send_events"
    __table_args__ = (Index("ix_send_events_send", "send_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    send_id: Mapped[str] = mapped_column(ForeignKey("sends.id"))
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstanceSecret(Base):
    """Secrets this installation made for itself (the tracking-link key) when none was
    configured, so links signed before a restart still verify after it."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
