"""Rendering stored templates: looks up the versions, then calls the pure renderer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ccm.brand.models import Brand
from ccm.brand.service import brand_spec, published_brand_version
from ccm.inputs import normalise_numbers
from ccm.rendering.engine import Renderer, default_renderer
from ccm.rendering.spec import BrandSpec, Channel, RenderedDocument, TemplateSpec
from ccm.templates.service import get_template_version, template_spec


def resolve_specs(
    session: Session, template_key: str, version: int | None = None
) -> tuple[TemplateSpec, BrandSpec]:
    """The template version (latest published unless given) and its brand's live version."""
    row = get_template_version(session, template_key, version)
    brand = session.get(Brand, row.template.brand_id)
    assert brand is not None
    return template_spec(session, row), brand_spec(session, published_brand_version(session,
                                                                                    brand.key))


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
