"""Batches and their items. The items table is the queue: durable, so a restart resumes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, utcnow


class ItemStatus(enum.StrEnum):
    """Where a batch item is. ``pending`` and ``running`` are unfinished."""

    PENDING = "pending"  # valid, waiting for a worker
    RUNNING = "running"  # claimed by a worker, whose lease runs until ``lease_until``
    DONE = "done"  # rendered and recorded: ``communication_id`` names the record
    FAILED = "failed"  # invalid on arrival, or its render failed: ``error`` says why


def _item_status_type() -> Enum:
    return Enum(ItemStatus, native_enum=False, length=10,
                values_callable=lambda members: [m.value for m in members])


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    total: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class BatchItem(Base):
    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "index", name="uq_batch_items_batch_index"),
        # Workers look for claimable items: pending ones, or running ones whose lease ran out.
        Index("ix_batch_items_claim", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    index: Mapped[int]
    status: Mapped[ItemStatus] = mapped_column(_item_status_type())
    request: Mapped[dict[str, Any]]
    communication_id: Mapped[str | None] = mapped_column(ForeignKey("communications.id"))
    error: Mapped[dict[str, Any] | None]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
