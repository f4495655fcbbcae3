"""The communications table: one row per document rendered for a customer (never previews)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, utcnow


class Communication(Base):
    """Everything needed to explain a document, and to fetch its exact bytes again."""

    __tablename__ = "communications"
    __table_args__ = (
        # The customer's trace reads newest first; the id breaks ties in one instant.
        Index("ix_communications_customer_trace", "customer_id", "created_at", "id"),
        # A batch item is recorded at most once, whichever worker finishes it.
        UniqueConstraint("batch_id", "batch_index", name="uq_communications_batch_item"),
        # A journey send is recorded at most once, however often its worker retries.
        Index("uq_communications_send_id", "send_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200))
    template_key: Mapped[str] = mapped_column(String(100))
    template_version: Mapped[int]
    template_kind: Mapped[str] = mapped_column(String(20))
    brand_key: Mapped[str] = mapped_column(String(100))
    brand_version: Mapped[int]
    journey_key: Mapped[str] = mapped_column(String(100))
    stage_key: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10))
    locale: Mapped[str] = mapped_column(String(20))
    data_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    #: An email's plain-text alternative, stored beside the HTML.
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(500))
    page_count: Mapped[int | None]
    sms_encoding: Mapped[str | None] = mapped_column(String(10))
    sms_segments: Mapped[int | None]
    block_versions: Mapped[dict[str, Any]]
    warnings: Mapped[list[str]]
    requested_by: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    batch_index: Mapped[int | None]
    #: The journey send it was made for, and the event that triggered that send.
    send_id: Mapped[str | None] = mapped_column(String(36))
    trigger_event_id: Mapped[str | None] = mapped_column(String(200))
    #: What travelled with it: attachments (the bill PDF on an email) and inline images,
    #: each ``{"role", "name", "media_type", "sha256"}``, kept in the artifact store.
    parts: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
