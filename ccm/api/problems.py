"""Errors as RFC 9457 ``application/problem+json``, with ccm's stable ``code``.

Status codes live here and only here: the core raises :class:`CCMError` with a code, and
this table says what HTTP makes of it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ccm.errors import (
    CCMError,
    DataValidationError,
    MalformedBodyError,
    RequestInvalidError,
    Violation,
)

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_CODE: dict[str, int] = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "immutable_version": 409,
    "idempotency_key_reused": 409,
    "idempotency_in_progress": 409,
    "input_too_large": 413,
    "body_too_large": 413,
    "malformed_body": 400,
    "artifact_unavailable": 503,
    "render_worker_lost": 503,
    "artifact_corrupt": 500,
}
#: Anything else the core raises is a request that cannot be carried out as given.
DEFAULT_STATUS = 422


def status_for(exc: CCMError) -> int:
    return STATUS_BY_CODE.get(exc.code, DEFAULT_STATUS)


def problem(
    status: int, code: str, detail: str, *, instance: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:ccm:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    headers = {"WWW-Authenticate": 'Bearer realm="ccm"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE,
                        headers=headers)


def violations_json(violations: list[Violation]) -> list[dict[str, str]]:
    return [{"path": v.path, "message": v.message} for v in violations]


def problem_for(exc: CCMError, request: Request) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, DataValidationError):
        extra["violations"] = violations_json(exc.violations)
    return problem(status_for(exc), exc.code, exc.detail, instance=request.url.path, **extra)


def _request_invalid(exc: RequestValidationError) -> CCMError:
    violations: list[Violation] = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return MalformedBodyError(
                f"the request body is not valid JSON: {error.get('msg', '')}"
            )
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] == "body":
            location = location[1:]
        elif location and location[0] in {"query", "path", "header"}:
            location = [f"{location[0]}:{'/'.join(location[1:])}"]
        violations.append(Violation("".join(f"/{part}" for part in location), error["msg"]))
    return RequestInvalidError(violations)


def install_problem_handlers(app: FastAPI, on_error: Any) -> None:
    """Map every error to problem+json. ``on_error(request, exc, response)`` lets the
    idempotency guard keep (or give up) the reply of a failed request."""

    async def ccm_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CCMError)
        response: Response = await on_error(request, problem_for(exc, request))
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return await ccm_error(request, _request_invalid(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        response = problem(exc.status_code, code, detail, instance=request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        failed = problem(500, "internal_error", "the server failed to complete the request; "
                         "nothing was recorded", instance=request.url.path)
        response: Response = await on_error(request, failed)
        return response

    app.add_exception_handler(CCMError, ccm_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
