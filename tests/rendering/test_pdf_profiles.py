"""PDFs are tagged for accessibility (PDF/UA-1) by default; a template kind can ask for
PDF/A-3b for archiving. Both carry the document's language and title."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from ccm.rendering.engine import default_renderer
from ccm.rendering.service import resolve_specs
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
