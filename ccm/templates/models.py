from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccm.db.base import Base, CreatedAtMixin, JSONType, text_enum, utcnow
from ccm.versioning import VersionStatus, status_column_type


class TemplateKind(enum.StrEnum):
    BILL = "bill"
    LETTER = "letter"
    PROMOTION = "promotion"
    NOTICE = "notice"


class BlockKind(enum.StrEnum):
    LAYOUT = "layout"
    BLOCK = "block"



class KindProfile(Base):
    """Per template kind: which PDF profile its documents are written in."""

    __tablename__ = "kind_profiles"

    kind: Mapped[TemplateKind] = mapped_column(text_enum(TemplateKind), primary_key=True)
    pdf_variant: Mapped[str] = mapped_column(String(20))


class Block(CreatedAtMixin, Base):
    """A shared layout or block (letterhead, footer, payment slip), included by name."""

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[BlockKind] = mapped_column(text_enum(BlockKind))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Set when the block is deleted: its versions stay, so what was sent with them can
    #: still be explained, but nothing can include it any more.
    deleted_at: Mapped[datetime | None]


class BlockVersion(CreatedAtMixin, Base):
    __tablename__ = "block_versions"
    __table_args__ = (UniqueConstraint("block_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id"), index=True)
    version: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(status_column_type())
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    block: Mapped[Block] = relationship(lazy="joined")


class Template(CreatedAtMixin, Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[TemplateKind] = mapped_column(text_enum(TemplateKind))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")


class TemplateVersion(CreatedAtMixin, Base):
    """Everything needed to render one template, frozen once published."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"), index=True)
    version: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(status_column_type())
    journey_key: Mapped[str] = mapped_column(String(100))
    stage_key: Mapped[str] = mapped_column(String(100))
    default_locale: Mapped[str] = mapped_column(String(20))
    bodies: Mapped[dict[str, Any]]
    subject: Mapped[str | None] = mapped_column(Text)
    data_schema: Mapped[dict[str, Any]]
    sample_data: Mapped[dict[str, Any]]
    translations: Mapped[dict[str, Any]]
    sms_max_segments: Mapped[int | None]
    email_attach_pdf: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Who wrote this version (an API key's name; ``registry load`` for loaded files).
    created_by: Mapped[str | None] = mapped_column(String(100))
    #: The block and layout versions this version was submitted and approved with, by
    #: include name: what was approved is what is sent, whatever the blocks do later.
    #: None while it is a draft (a draft renders with the live blocks).
    block_pins: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    published_at: Mapped[datetime | None]
    template: Mapped[Template] = relationship(lazy="joined")


class LifecycleAction(Base):
    """One step in a template version's life: who did what, when, and why."""

    __tablename__ = "template_version_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"),
                                                     index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text, default="")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
