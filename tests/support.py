"""Shared test helpers: reading rendered PDFs back as a reader would, and customer data
written as XML the way a billing system sends it."""

from __future__ import annotations

import io
from typing import Any

from lxml import etree
from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    """The text of a PDF as a reader extracts it, with no-break spaces made plain."""
    reader = PdfReader(io.BytesIO(content))
    raw = "\n".join(page.extract_text() or "" for page in reader.pages)
    return raw.replace("\u00a0", " ").replace("\u202f", " ")


def to_xml(data: Any, tag: str = "bill") -> etree._Element:
    """JSON-like data as XML: objects as elements, lists as repeated ``item`` children."""
    element = etree.Element(tag)
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, list):
                wrapper = etree.SubElement(element, key)
                for item in value:
                    wrapper.append(to_xml(item, "item"))
            else:
                element.append(to_xml(value, key))
    else:
        element.text = str(data)
    return element


def publish_reviewed(session: Any, row: Any, author: str = "ana", approver: str = "ben") -> None:
    """Take a draft through review as two people would: submitted by ``author``, approved
    by ``approver``, published."""
    from ccm.templates.lifecycle import approve, publish_version, submit_for_review

    row.created_by = row.created_by or author
    submit_for_review(session, row, row.created_by)
    approve(session, row, approver)
    publish_version(session, row, row.created_by)
