"""API keys, kept only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: The key's first characters, shown in listings so a person can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(20))
    #: SHA-256 of the whole key. Keys are 256 random bits, so a fast hash is enough: there
    #: is no password to guess, and a slow hash would cost every request.
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[str]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
