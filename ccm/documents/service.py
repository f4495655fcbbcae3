"""The document service: the one path from a request to a recorded communication.

The API (single and batch), the CLI and workers all go through here, so every document a
customer receives is checked, rendered, stored and recorded the same way. Checking is a
step of its own (:func:`prepare_document`) so a batch can check every item up front.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ccm.artifacts import ArtifactStore
from ccm.audit.models import Communication
from ccm.audit.service import Requester, record_communication
from ccm.brand.tokens import check_locale
from ccm.canonical import canonical_digest
from ccm.config import get_settings
from ccm.errors import InputError
from ccm.inputs import load_data, normalise_numbers, validate_data
from ccm.rendering.engine import Renderer, default_renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import BrandSpec, Channel, RenderedDocument, TemplateSpec
from ccm.templates.service import brand_spec_for, get_template_version, template_spec

#: Printable, no spaces at the ends, no control characters; billing systems' ids vary.
_CUSTOMER_ID = re.compile(r"^[^\x00-\x1f\x7f\s](?:[^\x00-\x1f\x7f]{0,198}[^\x00-\x1f\x7f\s])?$")


@dataclass(frozen=True)
class DocumentRequest:
    """What a billing system asks for: one template, one customer, one channel."""

    template: str
    customer_id: str
    channel: str
    version: int | None = None
    locale: str | None = None
    data: Mapping[str, Any] | None = None
    data_xml: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The request as stored for a batch item (numbers kept exact by the JSON column)."""
        return {"template": self.template, "customer_id": self.customer_id,
                "channel": self.channel, "version": self.version, "locale": self.locale,
                "data": self.data, "data_xml": self.data_xml}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> DocumentRequest:
        return cls(template=value["template"], customer_id=value["customer_id"],
                   channel=value["channel"], version=value.get("version"),
                   locale=value.get("locale"), data=value.get("data"),
                   data_xml=value.get("data_xml"))


@dataclass(frozen=True)
class PreparedDocument:
    """A request that passed every check short of rendering."""

    customer_id: str
    template: TemplateSpec
    brand: BrandSpec
    channel: Channel
    locale: str
    data: dict[str, Any]
    data_sha256: str


def check_customer_id(customer_id: str) -> str:
    if not isinstance(customer_id, str) or not _CUSTOMER_ID.match(customer_id):
        raise InputError(
            "customer_id must be 1–200 printable characters without spaces at either end"
        )
    return customer_id


def _check_channel(channel: str, template: TemplateSpec) -> Channel:
    try:
        resolved = Channel(channel)
    except ValueError:
        names = ", ".join(c.value for c in Channel)
        raise InputError(f"unknown channel {channel!r}: expected one of {names}") from None
    if resolved not in template.channels:
        declared = ", ".join(c.value for c in template.channels)
        raise InputError(
            f"template {template.key!r} v{template.version} has no {resolved.value} body "
            f"(it has: {declared})"
        )
    return resolved


def _load_request_data(request: DocumentRequest, template: TemplateSpec) -> dict[str, Any]:
    if (request.data is None) == (request.data_xml is None):
        raise InputError("give the customer's data as exactly one of data or data_xml")
    max_bytes = get_settings().data_max_bytes
    if request.data_xml is not None:
        return load_data(request.data_xml, fmt="xml", schema=template.data_schema,
                         max_bytes=max_bytes)
    if not isinstance(request.data, Mapping):
        raise InputError("data must be a JSON object")
    values: dict[str, Any] = normalise_numbers(request.data)
    return values


def prepare_document(session: Session, request: DocumentRequest) -> PreparedDocument:
    """Check ``request`` against the registry and the template's schema; no rendering."""
    customer_id = check_customer_id(request.customer_id)
    template, brand = resolve_specs(session, request.template, request.version)
    channel = _check_channel(request.channel, template)
    try:
        locale = check_locale(request.locale or template.default_locale)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    data = _load_request_data(request, template)
    validate_data(data, template.data_schema)
    return PreparedDocument(customer_id, template, brand, channel, locale, data,
                            canonical_digest(data))


def render_prepared(
    prepared: PreparedDocument, *, renderer: Renderer | None = None
) -> RenderedDocument:
    """The render alone: no database, so callers hold no connection while it runs."""
    return (renderer or default_renderer()).render(
        prepared.template, prepared.brand, prepared.data, prepared.locale, prepared.channel,
        validate=False,  # prepare_document validated it
    )


def keep_document(
    session: Session,
    store: ArtifactStore,
    prepared: PreparedDocument,
    document: RenderedDocument,
    requester: Requester,
) -> Communication:
    """Store the bytes and record the communication (flushed, not committed)."""
    # Bytes first: a record must never point at an artifact that is not there. A stored
    # artifact whose record is rolled back is harmless (content-addressed, reused).
    store.put(document.content)
    text_sha256 = store.put(document.text.encode()) if document.text is not None else None
    return record_communication(
        session, customer_id=prepared.customer_id, template=prepared.template,
        document=document, data_sha256=prepared.data_sha256, requester=requester,
        text_sha256=text_sha256,
    )


def request_document(
    session: Session,
    store: ArtifactStore,
    request: DocumentRequest,
    requester: Requester,
    *,
    renderer: Renderer | None = None,
) -> tuple[Communication, RenderedDocument]:
    """Check, render, store and record one document in one session (the CLI's way;
    the API and workers render between two short transactions instead)."""
    prepared = prepare_document(session, request)
    document = render_prepared(prepared, renderer=renderer)
    return keep_document(session, store, prepared, document, requester), document


def preview_document(
    session: Session,
    template_key: str,
    version: int,
    channel: str,
    *,
    locale: str | None = None,
    data: Mapping[str, Any] | None = None,
    renderer: Renderer | None = None,
) -> RenderedDocument:
    """Any version, drafts included, with its sample data or ``data``; never recorded."""
    row = get_template_version(session, template_key, version, published_only=False)
    spec = template_spec(session, row)
    brand = brand_spec_for(session, row.template)
    resolved = _check_channel(channel, spec)
    values = normalise_numbers(dict(data)) if data is not None else dict(spec.sample_data)
    return (renderer or default_renderer()).render(spec, brand, values, locale, resolved)
