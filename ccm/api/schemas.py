"""Reply bodies of the API (pydantic), kept apart from the tables they are made from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ccm.audit.models import Communication
from ccm.db.base import as_utc


class Problem(BaseModel):
    """RFC 9457 problem details, with ccm's stable ``code``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "urn:ccm:problem:data_invalid", "title": "Unprocessable Content",
        "status": 422, "code": "data_invalid",
        "detail": "1 data violation(s): /items/3/amount: expected number",
        "instance": "/v1/documents",
        "violations": [{"path": "/items/3/amount", "message": "expected number"}],
    }]})

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    violations: list[dict[str, str]] | None = None
    findings: list[dict[str, Any]] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems a route can answer with."""
    text = {400: "Malformed body", 401: "No API key, or an unknown or revoked one",
            403: "The key lacks the role", 404: "Not found",
            406: "No reply format the `Accept` header allows", 409: "Conflict",
            413: "Body too large", 422: "The request cannot be carried out as given",
            503: "Storage unavailable"}
    return {status: {"model": Problem, "description": text.get(status, ""),
                     "content": {"application/problem+json": {}}} for status in statuses}


class CommunicationOut(BaseModel):
    """The record of one document made for a customer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "8d0c1f8e-8a4e-4d52-9a8c-4e4f9e6b2c11", "customer_id": "C-100234",
        "template": "utility-bill", "template_version": 1, "template_kind": "bill",
        "brand": "northwind", "brand_version": 1,
        "journey": "utility-customer", "stage": "first-bill",
        "channel": "pdf", "locale": "de_DE", "media_type": "application/pdf",
        "sha256": "5f1d…", "size": 48213, "data_sha256": "0b9e…", "page_count": 2,
        "requested_by": "billing-system", "created_at": "2026-11-23T10:15:00Z",
        "content_url": "http://127.0.0.1:8000/v1/documents/8d0c1f8e-…/content",
    }]})

    id: str
    customer_id: str
    template: str
    template_version: int
    template_kind: str
    brand: str
    brand_version: int
    journey: str
    stage: str
    channel: str
    locale: str
    media_type: str
    sha256: str = Field(description="SHA-256 of the document's bytes.")
    size: int
    data_sha256: str = Field(description="SHA-256 of the customer data (canonical JSON).")
    text_sha256: str | None = Field(default=None, description="Email: its plain-text part.")
    title: str | None = None
    subject: str | None = None
    page_count: int | None = None
    sms_encoding: str | None = None
    sms_segments: int | None = None
    block_versions: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    requested_by: str
    idempotency_key: str | None = None
    batch_id: str | None = None
    batch_index: int | None = None
    created_at: datetime
    content_url: str

    @classmethod
    def of(cls, row: Communication, content_url: str) -> CommunicationOut:
        return cls(
            id=row.id, customer_id=row.customer_id, template=row.template_key,
            template_version=row.template_version, template_kind=row.template_kind,
            brand=row.brand_key, brand_version=row.brand_version, journey=row.journey_key,
            stage=row.stage_key, channel=row.channel, locale=row.locale,
            media_type=row.media_type, sha256=row.sha256, size=row.size,
            data_sha256=row.data_sha256, text_sha256=row.text_sha256, title=row.title,
            subject=row.subject, page_count=row.page_count, sms_encoding=row.sms_encoding,
            sms_segments=row.sms_segments, block_versions=dict(row.block_versions),
            warnings=list(row.warnings), requested_by=row.requested_by,
            idempotency_key=row.idempotency_key, batch_id=row.batch_id,
            batch_index=row.batch_index, created_at=as_utc(row.created_at),
            content_url=content_url,
        )


class TraceOut(BaseModel):
    customer_id: str
    communications: list[CommunicationOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next (older) page; null at the end."
    )
