"""Previews of a template's content as it is being written: saved or not, every channel
at once, with the problems each channel has and the brand lint. Nothing is stored and
nothing is recorded as a communication: a preview is not a send.

A syntax error in one body does not hide the others: each channel renders (or fails) on
its own, and a failure names its part and line so an editor can mark it.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pypdfium2
from sqlalchemy.orm import Session

from ccm.errors import CCMError, InputError, TemplateSyntaxError
from ccm.inputs import normalise_numbers
from ccm.rendering.engine import default_renderer
from ccm.rendering.spec import BrandSpec, Channel, RenderedDocument
from ccm.templates.lint import LintFinding, lint_template
from ccm.templates.models import Template
from ccm.templates.service import (
    TemplateContent,
    brand_spec_for,
    pinned_blocks,
    published_blocks,
    template_spec_from,
)

#: Thumbnails are for looking, not printing: about 50 dpi, and the first pages only.
THUMBNAIL_SCALE = 0.7
MAX_THUMBNAILS = 12
_PART = re.compile(r"^template/[^/]+/(?P<part>[a-z_]+)$")


@dataclass(frozen=True)
class PreviewProblem:
    part: str  # "bodies/email", "subject", "block/letterhead", "data"
    line: int | None
    message: str
    channel: str


@dataclass
class ContentPreview:
    template: str
    locale: str
    renders: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[PreviewProblem] = field(default_factory=list)
    lint: list[LintFinding] = field(default_factory=list)


def _part_of(template_name: str | None) -> str:
    match = _PART.match(template_name or "")
    if match is None:
        return template_name or "template"
    part = match.group("part")
    return "subject" if part == "subject" else f"bodies/{part}"


def _problem(exc: CCMError, channel: Channel) -> PreviewProblem:
    if isinstance(exc, TemplateSyntaxError):
        return PreviewProblem(_part_of(exc.template), exc.line, exc.detail, channel.value)
    return PreviewProblem(f"bodies/{channel.value}", None, exc.detail, channel.value)


def pdf_thumbnails(content: bytes, *, scale: float = THUMBNAIL_SCALE,
                   limit: int = MAX_THUMBNAILS) -> list[bytes]:
    """PNG images of a PDF's first ``limit`` pages."""
    document = pypdfium2.PdfDocument(content)
    try:
        images = []
        for index in range(min(len(document), limit)):
            page = document[index]
            buffer = io.BytesIO()
            page.render(scale=scale).to_pil().save(buffer, format="PNG", optimize=True)
            images.append(buffer.getvalue())
            page.close()
        return images
    finally:
        document.close()


def _data_url(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def _with_inline_images(html: str, document: RenderedDocument, brand: BrandSpec) -> str:
    """An email's ``cid:`` images as data URLs, so a browser shows what the mail shows."""
    for image in document.inline_images:
        asset = brand.assets.get(image.sha256)
        if asset is not None:
            html = html.replace(f"cid:{image.content_id}",
                                _data_url(image.media_type, asset.content))
    return html


def _describe(document: RenderedDocument, brand: BrandSpec, thumbnails: bool
              ) -> dict[str, Any]:
    channel = document.channel
    if channel is Channel.SMS:
        return {"text": document.content.decode(), "segments": document.sms_segments,
                "encoding": document.sms_encoding, "characters": document.sms_characters,
                "warnings": list(document.warnings)}
    if channel is Channel.PDF:
        value: dict[str, Any] = {"page_count": document.page_count,
                                 "warnings": list(document.warnings)}
        if thumbnails:
            value["pages"] = [_data_url("image/png", png)
                              for png in pdf_thumbnails(document.content)]
        return value
    text = document.content.decode()
    if channel is Channel.EMAIL:
        return {"subject": document.subject, "html": _with_inline_images(text, document, brand),
                "text": document.text, "warnings": list(document.warnings)}
    return {"text": text, "warnings": list(document.warnings)}


def preview_content(
    session: Session, template: Template, content: TemplateContent, channels: Sequence[str],
    *, locale: str | None = None, data: Mapping[str, Any] | None = None,
    thumbnails: bool = False, version: int = 0, block_pins: Mapping[str, int] | None = None,
) -> ContentPreview:
    """Render ``content`` (saved or not) on each of ``channels`` it has a body for, with its
    sample data or ``data``, against the brand's live version and the live blocks (or the
    ``block_pins`` a stored version was approved with)."""
    wanted = []
    for name in dict.fromkeys(channels):
        try:
            wanted.append(Channel(name))
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            raise InputError(f"unknown channel {name!r}: expected one of {known}") from None
    # The blocks and the brand are read once and serve the render and the lint alike.
    blocks = (pinned_blocks(session, block_pins) if block_pins is not None
              else published_blocks(session))
    spec = template_spec_from(session, template, version, content, blocks)
    brand = brand_spec_for(session, template)
    values = normalise_numbers(dict(data)) if data is not None else dict(content.sample_data)
    renderer = default_renderer()
    lint = lint_template(template.kind.value, content.bodies, brand.tokens,
                         {name: source for name, (_, source) in blocks.items()})
    preview = ContentPreview(template=template.key, locale=locale or content.default_locale,
                             lint=lint)
    for channel in wanted:
        if channel not in spec.channels:
            continue
        try:
            document = renderer.render(spec, brand, values, locale, channel)
        except CCMError as exc:
            problem = _problem(exc, channel)
            if problem not in preview.errors:
                preview.errors.append(problem)
            continue
        preview.locale = document.locale
        preview.renders[channel.value] = _describe(document, brand, thumbnails)
    return preview
