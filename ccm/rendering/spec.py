"""The values rendering works on: what goes in (specs) and what comes out (a document).

Specs are plain frozen values, not database rows, so that rendering stays a pure function
that the API, the CLI and workers call alike, and that tests can call with no database.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ccm.brand.tokens import BrandTokens


class Channel(enum.StrEnum):
    PDF = "pdf"
    HTML = "html"
    EMAIL = "email"
    SMS = "sms"


MEDIA_TYPES: dict[Channel, str] = {
    Channel.PDF: "application/pdf",
    Channel.HTML: "text/html; charset=utf-8",
    Channel.EMAIL: "text/html; charset=utf-8",
    Channel.SMS: "text/plain; charset=utf-8",
}

#: PDF profiles a template kind can be written in.
PDF_VARIANTS = ("pdf/ua-1", "pdf/a-3b", "pdf/a-3a")
DEFAULT_PDF_VARIANT = "pdf/ua-1"


@dataclass(frozen=True, slots=True)
class AssetData:
    sha256: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class BrandSpec:
    key: str
    version: int
    tokens: BrandTokens
    assets: Mapping[str, AssetData]  # by SHA-256

    @cached_property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.tokens.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    version: int
    kind: str
    journey_key: str
    stage_key: str
    default_locale: str
    bodies: Mapping[str, str]  # channel -> Jinja source
    blocks: Mapping[str, str] = field(default_factory=dict)  # "block/footer" -> Jinja source
    block_versions: Mapping[str, int] = field(default_factory=dict)  # "block/footer" -> 3
    subject: str | None = None
    data_schema: Mapping[str, Any] = field(default_factory=dict)
    sample_data: Mapping[str, Any] = field(default_factory=dict)
    translations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sms_max_segments: int | None = None
    #: Emails carry the PDF as an attachment. Shapes what is sent, not what is rendered,
    #: so it is not part of the fingerprint.
    email_attach_pdf: bool = False
    pdf_variant: str = DEFAULT_PDF_VARIANT

    @property
    def channels(self) -> list[Channel]:
        return [c for c in Channel if c.value in self.bodies]

    @cached_property
    def fingerprint(self) -> str:
        """Digest of everything that shapes output; feeds the PDF identifier."""
        content = {
            "key": self.key, "version": self.version, "kind": self.kind,
            "journey": self.journey_key, "stage": self.stage_key,
            "default_locale": self.default_locale, "sms_max_segments": self.sms_max_segments,
            "bodies": dict(self.bodies),
            "blocks": dict(self.blocks), "block_versions": dict(self.block_versions),
            "subject": self.subject,
            "translations": self.translations, "pdf_variant": self.pdf_variant,
        }
        encoded = json.dumps(content, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class InlineImage:
    """An image an email shows inline (``cid:``): the mail is built with these parts."""

    content_id: str
    sha256: str
    media_type: str


@dataclass(frozen=True)
class RenderedDocument:
    """One rendered document, whatever the channel."""

    channel: Channel
    content: bytes
    media_type: str
    sha256: str
    locale: str
    template_key: str
    template_version: int
    brand_key: str
    brand_version: int
    title: str | None = None
    subject: str | None = None
    text: str | None = None  # plain-text alternative of an email
    page_count: int | None = None
    sms_encoding: str | None = None
    sms_segments: int | None = None
    sms_characters: int | None = None
    inline_images: tuple[InlineImage, ...] = ()
    block_versions: tuple[tuple[str, int], ...] = ()  # the shared blocks it was made with
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def file_extension(self) -> str:
        return {Channel.PDF: "pdf", Channel.HTML: "html", Channel.EMAIL: "email.html",
                Channel.SMS: "sms.txt"}[self.channel]
