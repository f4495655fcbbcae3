"""Documents for customers: check a request, render it, store the bytes, record it."""

from ccm.documents.service import (
    DocumentRequest,
    PreparedDocument,
    keep_document,
    prepare_document,
    preview_document,
    render_prepared,
    request_document,
)

__all__ = [
    "DocumentRequest",
    "PreparedDocument",
    "keep_document",
    "prepare_document",
    "preview_document",
    "render_prepared",
    "request_document",
]
