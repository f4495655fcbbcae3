from __future__ import annotations

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ccm.db.base import Base, CreatedAtMixin


class Asset(CreatedAtMixin, Base):
    """Bytes of a logo, image or font; the primary key is their SHA-256, so never changed."""

    __tablename__ = "assets"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
