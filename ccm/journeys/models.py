"""Journeys and their versions, events, where each customer is, and their stage history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccm.db.base import Base, CreatedAtMixin, text_enum, utcnow
from ccm.versioning import VersionStatus, status_column_type


class Journey(CreatedAtMixin, Base):
    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class JourneyVersion(CreatedAtMixin, Base):
    """A journey's definition (goal, stages, triggers, sends, follow-ups), frozen once
    published. The latest published version is the live one."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"), index=True)
    version: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(status_column_type())
    definition: Mapped[dict[str, Any]]
    published_at: Mapped[datetime | None]
    journey: Mapped[Journey] = relationship(lazy="joined")


class Event(Base):
    """Something that happened to a customer, as a billing system or tracking reported it.
    ``event_id`` makes intake idempotent; ``fingerprint`` tells a retry from a reuse."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_customer_time", "customer_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class JourneyStatus(enum.StrEnum):
    ACTIVE = "active"  # in a stage, moving on with events
    COMPLETED = "completed"  # the goal event arrived
    EXITED = "exited"  # an exit event took the customer out


class CustomerJourney(Base):
    """Where one customer is in one journey now."""

    __tablename__ = "customer_journeys"
    __table_args__ = (UniqueConstraint("customer_id", "journey_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    journey_key: Mapped[str] = mapped_column(String(100), index=True)
    journey_version: Mapped[int]
    stage_key: Mapped[str] = mapped_column(String(100))
    #: When the customer entered the current stage (the event's time, not arrival).
    entered_at: Mapped[datetime]
    status: Mapped[JourneyStatus] = mapped_column(text_enum(JourneyStatus))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class TransitionOutcome(enum.StrEnum):
    ENTERED = "entered"  # moved into ``to_stage``
    GOAL_REACHED = "goal_reached"  # the journey's goal event
    EXITED = "exited"  # left the journey


class StageTransition(Base):
    """One step of a customer's stage history. ``superseded``: a late event placed at its
    time, after the customer had already moved on; it is history, not the current stage."""

    __tablename__ = "stage_transitions"
    __table_args__ = (
        Index("ix_stage_transitions_customer", "customer_id", "journey_key", "occurred_at",
              "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    journey_key: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[int]
    from_stage: Mapped[str | None] = mapped_column(String(100))
    to_stage: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[TransitionOutcome] = mapped_column(text_enum(TransitionOutcome))
    #: What caused it: ``event:<event id>`` or ``follow-up:<id>``.
    trigger: Mapped[str] = mapped_column(String(250))
    event_type: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime]
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUpStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for ``due_at``
    FIRED = "fired"  # its time came: it sent or moved the customer on
    CANCELLED = "cancelled"  # an "unless" event arrived first, or the journey ended


class FollowUp(Base):
    """A durable timer: "after 14 days, send the reminder unless payment_received"."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_due", "status", "due_at"),
        Index("ix_follow_ups_customer", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    journey_key: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[int]
    stage_key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    #: When the stage that scheduled it was entered: older "unless" events do not count.
    scheduled_from: Mapped[datetime]
    due_at: Mapped[datetime]
    unless: Mapped[list[str]]
    #: The follow-up as defined (``send`` and/or ``to_stage``), frozen when scheduled.
    action: Mapped[dict[str, Any]]
    #: The data the stage was entered with: what its sends render.
    data: Mapped[dict[str, Any]]
    source_event_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[FollowUpStatus] = mapped_column(text_enum(FollowUpStatus))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
