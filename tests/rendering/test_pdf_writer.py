"""Writing a PDF serialises each object once, and the file is the same to the byte."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import pydyf
import pytest
from pypdf import PdfReader
from weasyprint import HTML

from ccm.rendering.pdf_writer import serialise_once

PAGE = """<!doctype html><html lang="en"><head><title>Statement</title></head><body>
<h1>Statement</h1><p>Amount due: £1,234.56</p>
<table><tr><td>Standing charge</td><td>£142.80</td></tr></table></body></html>"""


def _write(finisher: Callable[[Any, pydyf.PDF], None] | None, **options: Any) -> bytes:
    content: bytes = HTML(string=PAGE).write_pdf(finisher=finisher, pdf_tags=True,
                                                 pdf_identifier=b"f" * 32, **options)
    return content


@pytest.mark.parametrize("options", [
    {"pdf_variant": "pdf/a-3b"}, {"pdf_variant": "pdf/ua-1"}, {"uncompressed_pdf": True},
    {"pdf_variant": "pdf/a-3b", "uncompressed_pdf": True},
], ids=["pdf-a-3b", "pdf-ua-1", "uncompressed", "pdf-a-3b-uncompressed"])
def test_the_file_is_byte_identical(options: dict[str, Any]) -> None:
    once = _write(serialise_once, **options)
    assert once == _write(None, **options)
    reader = PdfReader(io.BytesIO(once))
    identifier = reader.trailer["/ID"]
    assert identifier[0] == "f" * 32 and len(identifier[1]) == 32
    assert "Amount due" in reader.pages[0].extract_text()


def test_each_stream_is_compressed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    serialised: Counter[int] = Counter()
    stream_data = pydyf.Stream.data

    def counting(self: pydyf.Stream) -> bytes:
        serialised[id(self)] += 1
        data: bytes = stream_data.fget(self)
        return data

    monkeypatch.setattr(pydyf.Stream, "data", property(counting))
    _write(None, pdf_variant="pdf/a-3b")
    assert max(serialised.values()) == 2  # pydyf alone: once written, once hashed
    serialised.clear()
    _write(serialise_once, pdf_variant="pdf/a-3b")
    assert serialised and max(serialised.values()) == 1


def test_a_pdf_of_another_class_is_left_alone() -> None:
    class OtherPDF(pydyf.PDF):  # type: ignore[misc]
        pass

    pdf = OtherPDF()
    serialise_once(None, pdf)
    assert type(pdf) is OtherPDF
