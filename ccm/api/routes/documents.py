"""``/v1/documents``: one document now, or a batch in the background; records and bytes."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ccm.api.deps import (
    Billing,
    BillingIdempotency,
    BillingOrAuditor,
    Services,
)
from ccm.api.schemas import CommunicationOut, problem_responses
from ccm.audit.models import Communication
from ccm.audit.service import Requester, get_communication
from ccm.batches.service import create_batch
from ccm.documents.schemas import BILL_EXAMPLE, DocumentCreate
from ccm.documents.service import keep_document, prepare_document
from ccm.errors import NotAcceptableError, NotFoundError
from ccm.rendering.spec import MEDIA_TYPES, Channel, RenderedDocument

router = APIRouter(tags=["documents"])
batch_router = APIRouter(tags=["batches"])

_EXTENSIONS = {"pdf": "pdf", "html": "html", "email": "email.html", "sms": "sms.txt"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_url(request: Request, communication_id: str) -> str:
    return str(request.url_for("document_content", communication_id=communication_id))


def filename(row: Communication) -> str:
    stem = _UNSAFE.sub("_", f"{row.template_key}-{row.customer_id}")[:120]
    return f"{stem}-{row.id[:8]}.{_EXTENSIONS.get(row.channel, 'bin')}"


def content_headers(row: Communication) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="{filename(row)}"',
            "CCM-Communication-Id": row.id, "ETag": f'"{row.sha256}"'}


def _accepted(request: Request) -> list[str]:
    return [part.split(";")[0].strip().lower()
            for part in request.headers.get("accept", "").split(",") if part.strip()]


def wants_document(request: Request, media_type: str) -> bool:
    """Did the client ask for the document itself (its media type) rather than JSON?"""
    return media_type.split(";")[0].strip().lower() in _accepted(request)


def check_acceptable(request: Request, channel: str) -> None:
    """Refuse, before any work, a request whose ``Accept`` allows neither the JSON record
    nor this channel's document (say ``application/pdf`` for an SMS)."""
    accepted = _accepted(request)
    try:
        document_type = MEDIA_TYPES[Channel(channel)].split(";")[0]
    except ValueError:
        return  # an unknown channel gets its own, clearer error
    fits = {"*/*", "application/*", "application/json", document_type,
            document_type.split("/")[0] + "/*"}
    if accepted and not fits.intersection(accepted):
        raise NotAcceptableError(
            f"Accept: {request.headers.get('accept')} allows neither the JSON record "
            f"(application/json) nor a {channel} document ({document_type})"
        )


_DOCUMENT_CONTENT = {
    "application/json": {},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "text/html": {"schema": {"type": "string"}},
    "text/plain": {"schema": {"type": "string"}},
}


@router.post(
    "/documents", status_code=201, response_model=CommunicationOut,
    summary="Render and record one document",
    responses={201: {"description": "The communication record; or, with `Accept` set to the "
                                    "channel's media type, the document itself with its "
                                    "record's id in `CCM-Communication-Id`.",
                     "content": _DOCUMENT_CONTENT},
               **problem_responses(400, 401, 403, 404, 406, 409, 413, 422)},
)
def create_document(
    request: Request,
    services: Services,
    principal: Billing,
    guard: BillingIdempotency,
    body: Annotated[DocumentCreate, Body(openapi_examples={
        "bill-pdf": {"summary": "The stock bill as PDF", "value": BILL_EXAMPLE}})],
) -> Response:
    """Renders the template's latest published version (or `version`) for the customer's
    `data` (JSON) or `data_xml` (XML), stores the bytes and records the communication."""
    check_acceptable(request, body.channel)
    # Check, render, record: the render runs between two short transactions, so no
    # database connection is held while it works.
    with services.unit_of_work() as session:
        prepared = prepare_document(session, body.to_request())
    document = services.render(prepared)
    with services.unit_of_work() as session:
        record = keep_document(session, services.store, prepared, document,
                               Requester(principal.name, guard.key))
        response = _document_reply(request, record, document)
        guard.keep(session, response,
                   artifact_sha256=record.sha256 if _is_raw(response, document) else None)
    return response


def _is_raw(response: Response, document: RenderedDocument) -> bool:
    return response.headers.get("content-type", "") == document.media_type


def _document_reply(request: Request, record: Communication, document: RenderedDocument
                    ) -> Response:
    location = str(request.url_for("get_document", communication_id=record.id))
    if wants_document(request, document.media_type):
        return Response(document.content, status_code=201, media_type=document.media_type,
                        headers={**content_headers(record), "Location": location})
    body = CommunicationOut.of(record, content_url(request, record.id))
    return JSONResponse(body.model_dump(mode="json"), status_code=201,
                        headers={"Location": location, "CCM-Communication-Id": record.id})


@router.get("/documents/{communication_id}", response_model=CommunicationOut,
            summary="A communication record", name="get_document",
            responses=problem_responses(401, 403, 404))
def get_document(
    communication_id: str, request: Request, services: Services, _principal: BillingOrAuditor
) -> CommunicationOut:
    with services.unit_of_work() as session:
        row = get_communication(session, communication_id)
    return CommunicationOut.of(row, content_url(request, row.id))


@router.get(
    "/documents/{communication_id}/content", name="document_content",
    summary="The document's exact bytes",
    response_class=Response,
    responses={200: {"description": "The bytes recorded for the communication, checked "
                                    "against its SHA-256 as they are read.",
                     "content": {k: v for k, v in _DOCUMENT_CONTENT.items()
                                 if k != "application/json"}},
               **problem_responses(401, 403, 404, 503)},
)
async def document_content(
    communication_id: str, services: Services, _principal: BillingOrAuditor,
    part: Annotated[Literal["document", "text"], Query(
        description="`text`: an email's plain-text alternative instead of its HTML.")]
    = "document",
) -> Response:
    def load() -> tuple[Communication, bytes]:
        with services.unit_of_work() as session:
            row = get_communication(session, communication_id)
        if part == "text":
            if row.text_sha256 is None:
                raise NotFoundError(f"communication {row.id} ({row.channel}) has no "
                                    "plain-text part; only emails do")
            return row, services.store.get(row.text_sha256)
        return row, services.store.get(row.sha256)

    row, content = await run_in_threadpool(load)
    if part == "text":
        headers = {**content_headers(row), "ETag": f'"{row.text_sha256}"',
                   "Content-Disposition": f'inline; filename="{filename(row)[:-5]}.txt"'}
        return Response(content, media_type="text/plain; charset=utf-8", headers=headers)
    return Response(content, media_type=row.media_type, headers=content_headers(row))


BATCH_EXAMPLE: dict[str, Any] = {"items": [
    BILL_EXAMPLE,
    {**BILL_EXAMPLE, "customer_id": "C-100871", "channel": "html", "locale": "en_IE"},
]}


@batch_router.post(
    "/documents/batch", status_code=202,
    summary="Queue up to 1,000 documents",
    responses={202: {"description": "Accepted: the batch id, and the items refused now with "
                                    "their index and what is wrong.",
                     "content": {"application/json": {"example": {
                         "id": "2f6f…", "status": "running", "total": 2, "accepted": 1,
                         "rejected": 1, "url": "http://127.0.0.1:8000/v1/batches/2f6f…",
                         "errors": [{"index": 1, "code": "data_invalid",
                                     "detail": "1 data violation(s): /due_date: required",
                                     "violations": [{"path": "/due_date",
                                                     "message": "required"}]}]}}}},
               **problem_responses(400, 401, 403, 409, 413, 422)},
)
def create_document_batch(
    request: Request,
    services: Services,
    principal: Billing,
    guard: BillingIdempotency,
    body: Annotated[dict[str, Any], Body(
        description="`items`: a list of document requests, each like the body of "
                    "`POST /v1/documents`.",
        openapi_examples={"two-customers": {"summary": "Two bills", "value": BATCH_EXAMPLE}},
    )],
) -> JSONResponse:
    """Every item is checked now; valid items are rendered and recorded in the background.
    One bad item never stops the others. Progress: `GET /v1/batches/{id}`."""
    from ccm.errors import InputError

    items = body.get("items")
    if not isinstance(items, list):
        raise InputError("the batch body needs `items`: a list of document requests")
    with services.unit_of_work() as session:
        receipt = create_batch(session, items, requested_by=principal.name,
                               max_items=services.settings.batch_max_items,
                               idempotency_key=guard.key)
        batch_id = receipt.batch.id
        url = str(request.url_for("get_batch", batch_id=batch_id))
        reply = {"id": batch_id, "status": "completed" if receipt.batch.finished_at else
                 "running", "total": receipt.batch.total, "accepted": receipt.accepted,
                 "rejected": len(receipt.errors), "errors": receipt.errors, "url": url}
        response = JSONResponse(reply, status_code=202, headers={"Location": url})
        guard.keep(session, response)
    if services.runner is not None:
        services.runner.wake()
    return response



