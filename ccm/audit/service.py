"""Recording communications and reading them back: one record, or a customer's trace."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ccm.audit.models import Communication
from ccm.db.base import as_utc, utcnow
from ccm.errors import InputError, NotFoundError
from ccm.rendering.spec import RenderedDocument, TemplateSpec


@dataclass(frozen=True)
class Requester:
    """Who asked for a communication, and how the request can be told apart on a retry."""

    name: str
    idempotency_key: str | None = None
    batch_id: str | None = None
    batch_index: int | None = None


def record_communication(
    session: Session,
    *,
    customer_id: str,
    template: TemplateSpec,
    document: RenderedDocument,
    data_sha256: str,
    requester: Requester,
    text_sha256: str | None = None,
    send_id: str | None = None,
    trigger_event_id: str | None = None,
    parts: list[dict[str, str]] | None = None,
    created_at: datetime | None = None,
) -> Communication:
    """Add the record of ``document`` made for ``customer_id``; flushes, never commits."""
    row = Communication(
        id=str(uuid.uuid4()), customer_id=customer_id,
        template_key=document.template_key, template_version=document.template_version,
        template_kind=template.kind,
        brand_key=document.brand_key, brand_version=document.brand_version,
        journey_key=template.journey_key, stage_key=template.stage_key,
        channel=document.channel.value, locale=document.locale,
        data_sha256=data_sha256, sha256=document.sha256, media_type=document.media_type,
        size=document.size, text_sha256=text_sha256, title=document.title, subject=document.subject,
        page_count=document.page_count, sms_encoding=document.sms_encoding,
        sms_segments=document.sms_segments,
        block_versions=dict(document.block_versions), warnings=list(document.warnings),
        requested_by=requester.name, idempotency_key=requester.idempotency_key,
        batch_id=requester.batch_id, batch_index=requester.batch_index,
        send_id=send_id, trigger_event_id=trigger_event_id, parts=parts,
        created_at=created_at or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def get_communication(session: Session, communication_id: str) -> Communication:
    row = session.get(Communication, communication_id)
    if row is None:
        raise NotFoundError(f"no communication {communication_id!r}")
    return row


def get_communications(session: Session, ids: Sequence[str]) -> list[Communication]:
    """The records with these ids (those that exist), in no particular order."""
    rows: list[Communication] = []
    for start in range(0, len(ids), 500):  # stay under every database's parameter limit
        rows.extend(session.scalars(
            select(Communication).where(Communication.id.in_(ids[start:start + 500]))).all())
    return rows


@dataclass(frozen=True)
class TraceFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    channel: str | None = None
    journey: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class TracePage:
    communications: Sequence[Communication]
    next_cursor: str | None


def _encode_cursor(row: Communication) -> str:
    raw = json.dumps([as_utc(row.created_at).isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded))
        return as_utc(datetime.fromisoformat(created)), str(ident)
    except (ValueError, TypeError) as exc:
        raise InputError(f"cursor {cursor!r} is not one this API gave out") from exc


def customer_trace(
    session: Session,
    customer_id: str,
    filters: TraceFilter | None = None,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> TracePage:
    """The customer's communications, newest first, a page at a time.

    Paging is by cursor (the last row's time and id), so records added while a reader
    pages never shift or repeat rows.
    """
    if not 1 <= limit <= 500:
        raise InputError(f"limit must be between 1 and 500, not {limit}")
    filters = filters or TraceFilter()
    since, until = as_utc(filters.since), as_utc(filters.until)
    query = select(Communication).where(
        Communication.customer_id == customer_id
    )
    if since is not None:
        query = query.where(Communication.created_at >= since)
    if until is not None:
        query = query.where(Communication.created_at < until)
    if filters.channel is not None:
        query = query.where(Communication.channel == filters.channel)
    if filters.journey is not None:
        query = query.where(Communication.journey_key == filters.journey)
    if filters.stage is not None:
        query = query.where(Communication.stage_key == filters.stage)
    if cursor is not None:
        created, ident = _decode_cursor(cursor)
        query = query.where(or_(Communication.created_at < created,
                                and_(Communication.created_at == created,
                                     Communication.id < ident)))
    query = query.order_by(Communication.created_at.desc(), Communication.id.desc())
    rows = session.scalars(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return TracePage(rows, _encode_cursor(rows[-1]) if more else None)
