"""Reading rendered PDFs back, as a user's PDF reader would."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    """The text of a PDF as a reader extracts it, with no-break spaces made plain."""
    reader = PdfReader(io.BytesIO(content))
    raw = "\n".join(page.extract_text() or "" for page in reader.pages)
    return raw.replace("\u00a0", " ").replace("\u202f", " ")
