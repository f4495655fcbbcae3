"""PDFs are tagged for accessibility (PDF/UA-1) by default; a template kind can ask for
PDF/A-3b for archiving. Both carry the document's language and title."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session
from support import pdf_text
from weasyprint import html as weasyprint_html

from ccm.rendering import pdf as pdf_module
from ccm.rendering.engine import Renderer, default_renderer
from ccm.rendering.pdf import _lean_ua_stylesheet, lean_ua_css, needs_full_ua
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import TemplateSpec
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data


def _catalog_and_xmp(content: bytes) -> tuple[PdfReader, dict[str, object], bytes]:
    reader = PdfReader(io.BytesIO(content))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    return reader, dict(root), xmp


@pytest.mark.parametrize(
    ("variant", "marker"),
    [("pdf/ua-1", b'pdfuaid:part="1"'), ("pdf/a-3b", b'pdfaid:part="3" pdfaid:conformance="B"')],
)
def test_pdf_profiles_are_tagged_with_language_and_title(
    session: Session, variant: str, marker: bytes
) -> None:
    template, brand = resolve_specs(session, "utility-bill")
    template = dataclasses.replace(template, pdf_variant=variant)
    document = default_renderer().render(template, brand, bill_data(SAMPLE_CUSTOMERS[2]),
                                         "de_DE", "pdf")
    reader, root, xmp = _catalog_and_xmp(document.content)
    assert marker in xmp
    assert root["/Lang"] == "de-DE"
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"])  # type: ignore[index]
    assert reader.metadata is not None and reader.metadata.title == document.title
    assert document.title is not None and document.title.startswith("Rechnung NW-2026-")


def test_bill_kind_is_archived_as_pdf_a_3b(session: Session) -> None:
    template, _ = resolve_specs(session, "utility-bill")
    assert template.pdf_variant == "pdf/a-3b"


# -- the lean user-agent stylesheet ------------------------------------------------------------


def test_lean_user_agent_sheet_files_its_selectors_under_tags() -> None:
    """Selectors a tag, id or class cannot file are tried on every element: only the
    three attribute selectors no tag can stand for are left (a WeasyPrint upgrade that
    rewords a rewritten rule shows up here)."""
    unfiled = _lean_ua_stylesheet().matcher.other_selectors
    assert len(unfiled) <= 3
    assert all(selector[3] is None for selector in unfiled)  # no pseudo-element of *


def test_lean_sheet_keeps_what_weasyprint_sheet_says() -> None:
    lean = lean_ua_css(weasyprint_html.UA)
    assert "li::marker {" in lean and "::footnote-call" not in lean
    assert "[dir=rtl i] ol, [dir=rtl i] ul { padding-left: 0; padding-right: 40px }" in lean
    assert lean.count("@counter-style") == weasyprint_html.UA.count("@counter-style")


def test_lean_sheet_gives_the_same_pdf_as_weasyprint_sheet(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, brand = resolve_specs(session, "utility-bill")
    data = bill_data(SAMPLE_CUSTOMERS[2])
    lean = Renderer().render(template, brand, data, "de_DE", "pdf").content
    monkeypatch.setattr(pdf_module, "needs_full_ua", lambda *texts: True)
    full = Renderer().render(template, brand, data, "de_DE", "pdf").content
    assert lean == full


@pytest.mark.parametrize("style", ["float: footnote", "fl\\6f at: footnote"])
def test_footnotes_get_weasyprint_sheet(session: Session, style: str) -> None:
    """Footnotes need the pseudo-elements the lean sheet leaves out: a document that may
    use them (it says "note", or has a CSS escape that could spell it) gets the full one."""
    _, brand = resolve_specs(session, "utility-bill")
    body = ('<!DOCTYPE html><html lang="en"><head><title>T</title></head><body>'
            f'<p>Text<span style="{style}">See the terms.</span></p></body></html>')
    assert needs_full_ua(body)
    template = TemplateSpec(key="probe", version=1, kind="notice", journey_key="j",
                            stage_key="s", default_locale="en_GB", bodies={"pdf": body})
    document = Renderer().render(template, brand, {}, None, "pdf")
    assert "See the terms." in pdf_text(document.content)
