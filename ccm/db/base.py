"""Declarative base shared by every table, with a naming convention Alembic can diff."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar, overload

from sqlalchemy import JSON, DateTime, Enum, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC; a naive time (SQLite gives those back) is taken as UTC already."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def text_enum(enum_type: type[enum.StrEnum], length: int = 20) -> Enum:
    """An enum stored as its values in a text column, not a native enum type: later
    versions add members without an ALTER TYPE."""
    return Enum(enum_type, native_enum=False, length=length,
                values_callable=lambda members: [m.value for m in members])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONType,
        list[str]: JSONType,
        list[Any]: JSONType,
        dict[str, str]: JSONType,
        datetime: DateTime(timezone=True),
    }


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
