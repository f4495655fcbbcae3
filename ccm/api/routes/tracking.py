"""What customers' mail clients and providers call: the open pixel, click redirects,
one-click unsubscribe (outside ``/v1``: these URLs are printed in emails), and provider
status callbacks (``/v1/webhooks/{provider}``, signed with a shared secret)."""

from __future__ import annotations

import base64
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ccm.api.deps import Services
from ccm.api.schemas import problem_responses
from ccm.db.base import utcnow
from ccm.delivery.engagement import (
    check_signature,
    check_unsubscribe,
    provider_report,
    record_click,
    record_open,
    unsubscribe,
)
from ccm.errors import MalformedBodyError

router = APIRouter(tags=["tracking"])
webhook_router = APIRouter(tags=["webhooks"])

#: A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


@router.get("/t/o/{token}", summary="Open pixel", response_class=Response,
            responses={200: {"content": {"image/gif": {}}}, **problem_responses(404)})
def open_pixel(token: str, services: Services) -> Response:
    with services.unit_of_work() as session:
        record_open(session, token, now=utcnow(), settings=services.settings)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get("/t/c/{token}", summary="Click redirect", response_class=RedirectResponse,
            status_code=302, responses=problem_responses(404))
def click(token: str, services: Services) -> RedirectResponse:
    """Redirects only to a URL the email contained: the signed link names its index."""
    with services.unit_of_work() as session:
        url = record_click(session, token, now=utcnow(), settings=services.settings)
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;"
            f"max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}"
            f"button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>"
            f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>")
    return HTMLResponse(html, status_code=status,
                        headers={**_NO_STORE, "Content-Security-Policy":
                                 "default-src 'none'; style-src 'unsafe-inline'; "
                                 "form-action 'self'"})


@router.get("/u/{token}", summary="Unsubscribe page", response_class=HTMLResponse,
            responses=problem_responses(404))
def unsubscribe_page(token: str, services: Services) -> HTMLResponse:
    """Asks before it acts: link scanners open links, and must not unsubscribe anyone."""
    with services.unit_of_work() as session:
        send = check_unsubscribe(session, token, services.settings)
        channel = send.channel or "email"
    return _page("Unsubscribe", f"<p>Stop marketing messages by {escape(channel)}? Bills "
                 "and other messages about your account still reach you.</p>"
                 f'<form method="post"><button type="submit">Unsubscribe</button></form>')


@router.post("/u/{token}", summary="One-click unsubscribe (RFC 8058)",
             response_class=HTMLResponse, responses=problem_responses(404))
def unsubscribe_now(token: str, services: Services) -> HTMLResponse:
    """What the unsubscribe page's button and mail clients' one-click
    (`List-Unsubscribe=One-Click`) post: marketing consent for the channel is withdrawn."""
    with services.unit_of_work() as session:
        send = unsubscribe(session, token, now=utcnow(), settings=services.settings)
        channel = send.channel or "email"
    return _page("You are unsubscribed", f"<p>You will get no more marketing messages by "
                 f"{escape(channel)}.</p>")


_REPORT_SCHEMA = {"type": "object", "required": ["message_id", "status"], "properties": {
    "message_id": {"type": "string", "description": "The provider's id, or ccm's send id."},
    "status": {"type": "string", "enum": ["delivered", "bounced", "failed"]},
    "reason": {"type": "string"}}}


@webhook_router.post(
    "/webhooks/{provider}", summary="A provider's delivery report",
    responses=problem_responses(400, 401, 404, 413, 422),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"oneOf": [_REPORT_SCHEMA, {"type": "array", "items": _REPORT_SCHEMA}]},
        "example": {"message_id": "sms-41", "status": "delivered"}}}}})
async def webhook(
    provider: str, request: Request, services: Services,
    x_ccm_signature: Annotated[str | None, Header(
        description="`sha256=` and the hex HMAC-SHA256 of the body with "
                    "CCM_WEBHOOK_SECRET.")] = None,
) -> JSONResponse:
    """Body: `{"message_id": "...", "status": "delivered" | "bounced" | "failed",
    "reason": "..."}`, or a list of them. The send's status and history change, and the
    customer's journeys get `message_delivered`, `message_bounced` or `message_failed`."""
    import json

    from fastapi.concurrency import run_in_threadpool

    body = await request.body()
    check_signature(services.settings, body, x_ccm_signature)
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        raise MalformedBodyError("the report is not valid JSON") from None
    reports = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(r, dict) for r in reports):
        raise MalformedBodyError("a report is a JSON object (or a list of them)")

    def apply() -> list[dict[str, Any]]:
        with services.unit_of_work() as session:
            return [{"send_id": send.id, "status": send.status.value}
                    for send in (provider_report(session, provider, r, now=utcnow(),
                                                 settings=services.settings)
                                 for r in reports)]

    return JSONResponse({"updated": await run_in_threadpool(apply)})



