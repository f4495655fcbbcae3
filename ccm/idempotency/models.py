"""Stored replies of requests that carried an ``Idempotency-Key``."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, utcnow


class IdempotencyState(enum.StrEnum):
    IN_PROGRESS = "in_progress"  # the first request is still running; ``token`` holds it
    COMPLETED = "completed"  # the reply is stored and is what every retry gets


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    # Keys are per API key: two clients may pick the same key without meeting.
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[IdempotencyState] = mapped_column(
        Enum(IdempotencyState, native_enum=False, length=20,
             values_callable=lambda members: [m.value for m in members])
    )
    token: Mapped[str] = mapped_column(String(36))
    status_code: Mapped[int | None]
    media_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, str] | None]
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: A reply that was a stored document keeps its digest instead of a copy of its bytes.
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
