"""Customer profiles, their current consent, and the history of every consent change."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, utcnow


class Purpose(enum.StrEnum):
    """Why a communication is sent; consent is given per channel and purpose.

    ``transactional`` mail (a bill, a payment reminder) is part of the contract and needs no
    opt-in; the customer can still refuse a channel for it. ``marketing`` needs an opt-in.
    """

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str | None] = mapped_column(String(20))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    postal_address: Mapped[list[str]]
    preferred_channel: Mapped[str | None] = mapped_column(String(10))
    attributes: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """The customer's current answer for one channel and purpose."""

    __tablename__ = "consents"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentChange(Base):
    """One change of consent, kept for good: who or what changed it, and when."""

    __tablename__ = "consent_changes"
    __table_args__ = (Index("ix_consent_changes_customer", "customer_id", "changed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
