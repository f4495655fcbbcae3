"""Documents for customers: check a request, render it, store the bytes, record it."""

from ccm.documents.service import (
    DocumentRequest,
    PreparedDocument,
    prepare_document,
    preview_document,
    produce_document,
    request_document,
)

__all__ = [
    "DocumentRequest",
    "PreparedDocument",
    "prepare_document",
    "preview_document",
    "produce_document",
    "request_document",
]
