"""Rendering stored templates: looks up the versions, then calls the pure renderer."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ccm.brand.models import Brand
from ccm.brand.service import brand_spec, published_brand_version
from ccm.db.revision import registry_revision
from ccm.inputs import normalise_numbers
from ccm.rendering.engine import Renderer, default_renderer
from ccm.rendering.spec import BrandSpec, Channel, RenderedDocument, TemplateSpec
from ccm.templates.service import (
    get_template_version,
    pdf_variant_for,
    published_block_stamps,
    template_spec,
)

#: Published versions never change, so their specs are built once (tokens validated,
#: assets and block sources loaded, fingerprints computed) and reused. The key holds each
#: row's id *and* creation time: an id alone can come back after a rollback.
_specs: dict[tuple[Any, ...], tuple[TemplateSpec, BrandSpec]] = {}
_specs_lock = threading.Lock()
_MAX_SPECS = 256


#: (template key, version asked for, registry revision) -> specs: while the revision
#: stands, the same question has the same answer, so it costs one query.
_resolved: dict[tuple[str, int | None, str], tuple[TemplateSpec, BrandSpec]] = {}


def resolve_specs(
    session: Session, template_key: str, version: int | None = None
) -> tuple[TemplateSpec, BrandSpec]:
    """The template version (latest published unless given) and its brand's live version."""
    # Read first: specs resolved after it are never older than the revision they are
    # filed under (a concurrent change can only make them newer).
    revision = registry_revision(session)
    answer = _resolved.get((template_key, version, revision))
    if answer is not None:
        return answer
    specs = _resolve(session, template_key, version)
    with _specs_lock:
        if len(_resolved) >= _MAX_SPECS:
            _resolved.clear()
        _resolved[(template_key, version, revision)] = specs
    return specs


def _resolve(
    session: Session, template_key: str, version: int | None
) -> tuple[TemplateSpec, BrandSpec]:
    row = get_template_version(session, template_key, version)
    brand = session.get(Brand, row.template.brand_id)
    assert brand is not None
    brand_row = published_brand_version(session, brand.key)
    # A version pinned to its blocks does not change when they do; one that is not (a
    # draft asked for explicitly) renders with whatever blocks are live.
    blocks = () if row.block_pins is not None else published_block_stamps(session)
    key = (row.id, row.created_at.isoformat(), brand_row.id, brand_row.created_at.isoformat(),
           blocks, pdf_variant_for(session, row.template.kind))
    cached = _specs.get(key)
    if cached is not None:
        return cached
    specs = template_spec(session, row), brand_spec(session, brand_row)
    with _specs_lock:
        if len(_specs) >= _MAX_SPECS:
            _specs.clear()
        _specs[key] = specs
    return specs


def render_document(
    session: Session,
    template_key: str,
    data: Mapping[str, Any],
    channel: Channel | str,
    *,
    locale: str | None = None,
    version: int | None = None,
    renderer: Renderer | None = None,
) -> RenderedDocument:
    template, brand = resolve_specs(session, template_key, version)
    values = normalise_numbers(dict(data))
    return (renderer or default_renderer()).render(template, brand, values, locale, channel)
