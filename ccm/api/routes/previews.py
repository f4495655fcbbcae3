"""``/v1/templates/{key}/preview`` and ``…/versions/{n}/preview``: any version, drafts
included, or content not saved yet, rendered with its sample data or given data; never
stored, never recorded (marketing)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ccm.api.deps import Marketing, MarketingIdempotency, Services
from ccm.api.routes.brands import VersionNumber
from ccm.api.routes.templates import CONTENT_EXAMPLE, LintFindingOut, TemplateVersionIn
from ccm.api.schemas import problem_responses
from ccm.documents.preview import preview_content
from ccm.documents.service import preview_document
from ccm.errors import NotFoundError
from ccm.rendering.spec import Channel
from ccm.templates.service import (
    TemplateContent,
    get_template,
    get_template_version,
    latest_template_version,
)

router = APIRouter(tags=["templates"])

class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"channel": "sms", "locale": "de_DE"}]})

    channel: Channel
    locale: str | None = None
    data: dict[str, Any] | None = Field(
        default=None, description="Data to preview with; default: the version's sample data.")


class ContentPreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"content": CONTENT_EXAMPLE, "channels": ["sms"], "locale": "de_DE"},
        {"version": 2, "channels": ["html", "sms", "pdf"], "thumbnails": True}]})

    content: TemplateVersionIn | None = Field(
        default=None, description="Content to preview as it is being written (not saved); "
                                  "default: the stored `version`'s content.")
    version: int | None = Field(default=None, ge=1, description="A stored version (any "
                                "status) to preview when no `content` is given; default: "
                                "the latest.")
    channels: list[Channel] = Field(default_factory=lambda: list(Channel), min_length=1,
                                    max_length=4)
    locale: str | None = None
    data: dict[str, Any] | None = Field(default=None, description="Data to preview with; "
                                        "default: the content's sample data.")
    thumbnails: bool = Field(default=False, description="PNG images of the PDF's pages.")


class PreviewProblemOut(BaseModel):
    part: str = Field(description="`bodies/<channel>`, `subject` or `block/<key>`.")
    line: int | None
    message: str
    channel: str


class ContentPreviewOut(BaseModel):
    template: str
    version: int | None = Field(description="The stored version previewed; null for "
                                            "unsaved content.")
    locale: str
    renders: dict[str, dict[str, Any]] = Field(description=(
        "Per channel: html `{text}`; email `{subject, html, text}` (inline images as data "
        "URLs); sms `{text, segments, encoding, characters}`; pdf `{page_count, pages}` "
        "(pages: PNG data URLs, with `thumbnails`). Each with `warnings`."))
    errors: list[PreviewProblemOut] = Field(description="What stopped a channel rendering, "
                                                        "with its part and line.")
    lint: list[LintFindingOut]


@router.post("/templates/{key}/preview", response_model=ContentPreviewOut,
             summary="Preview content as it is being written, on every channel at once; "
                     "never stored or recorded",
             responses=problem_responses(400, 401, 403, 404, 413, 422))
def preview_content_route(key: str, body: ContentPreviewRequest, services: Services,
                          _principal: Marketing) -> ContentPreviewOut:
    """For an editor's live preview: a syntax error in one body is reported with its part
    and line while the other channels still render; the brand lint comes with it."""
    with services.unit_of_work() as session:
        template = get_template(session, key)
        row, pins = None, None
        if body.content is not None:
            content = body.content.content()
        else:
            row = (get_template_version(session, key, body.version, published_only=False)
                   if body.version is not None else latest_template_version(session, template))
            if row is None:
                raise NotFoundError(f"template {key!r} has no versions")
            content, pins = TemplateContent.of(row), row.block_pins
        preview = preview_content(
            session, template, content, [c.value for c in body.channels], locale=body.locale,
            data=body.data, thumbnails=body.thumbnails,
            version=row.version if row is not None else 0, block_pins=pins)
    return ContentPreviewOut(
        template=key, version=row.version if row is not None else None,
        locale=preview.locale, renders=preview.renders,
        errors=[PreviewProblemOut(part=e.part, line=e.line, message=e.message,
                                  channel=e.channel) for e in preview.errors],
        lint=[LintFindingOut(part=f.part, line=f.line, rule=f.rule, message=f.message)
              for f in preview.lint])


@router.post(
    "/templates/{key}/versions/{version}/preview",
    summary="Render any version (drafts too) with its sample data; never recorded",
    response_class=Response,
    responses={200: {"description": "The rendered document; `CCM-Page-Count`, "
                                    "`CCM-SMS-Segments`, `CCM-SMS-Encoding` and "
                                    "`CCM-Warnings` describe it.",
                     "content": {"application/pdf": {}, "text/html": {}, "text/plain": {}}},
               **problem_responses(400, 401, 403, 404, 413, 422)},
)
def preview(key: str, version: VersionNumber, body: PreviewRequest, services: Services,
            _principal: Marketing, guard: MarketingIdempotency) -> Response:
    with services.unit_of_work() as session:
        document = preview_document(session, key, version, body.channel.value,
                                    locale=body.locale, data=body.data)
        headers = {"CCM-Template-Version": str(document.template_version),
                   "CCM-Brand-Version": str(document.brand_version),
                   "CCM-Locale": document.locale}
        if document.page_count is not None:
            headers["CCM-Page-Count"] = str(document.page_count)
        if document.sms_segments is not None:
            headers["CCM-SMS-Segments"] = str(document.sms_segments)
            headers["CCM-SMS-Encoding"] = str(document.sms_encoding)
        if document.warnings:
            headers["CCM-Warnings"] = json.dumps(list(document.warnings))
        response = Response(document.content, media_type=document.media_type, headers=headers)
        return guard.keep(session, response)
