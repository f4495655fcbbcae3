from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccm.db.base import Base, CreatedAtMixin, JSONType
from ccm.versioning import VersionStatus, status_column_type


class Brand(CreatedAtMixin, Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: A sub-brand's parent: the sub-brand's versions inherit the parent's tokens and
    #: override some of them.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    versions: Mapped[list[BrandVersion]] = relationship(
        back_populates="brand", lazy="raise", order_by="BrandVersion.version"
    )


class BrandVersion(CreatedAtMixin, Base):
    """One immutable-once-published set of brand tokens."""

    __tablename__ = "brand_versions"
    __table_args__ = (UniqueConstraint("brand_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    version: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(status_column_type())
    #: The tokens in force: for a sub-brand, its parent version's with the overrides
    #: laid over them, so a published version never changes when the parent does.
    tokens: Mapped[dict[str, Any]]
    #: A sub-brand's own tokens (what it overrides); None for a brand of its own.
    overrides: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: The parent version the tokens were inherited from.
    parent_version_id: Mapped[int | None] = mapped_column(ForeignKey("brand_versions.id"))
    #: Who wrote this version and who published it (API key names; ``registry load`` for
    #: loaded files): a brand change reaches every document, so a second person publishes.
    created_by: Mapped[str | None] = mapped_column(String(100))
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    brand: Mapped[Brand] = relationship(back_populates="versions", lazy="joined")
