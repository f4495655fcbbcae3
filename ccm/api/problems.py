"""Errors as RFC 9457 ``application/problem+json``, with ccm's stable ``code``.

Status codes live here and only here: the core raises :class:`CCMError` with a code, and
this table says what HTTP makes of it.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ccm.api.deps import request_caller
from ccm.api.schemas import Problem
from ccm.errors import (
    AuthenticationError,
    CCMError,
    DataValidationError,
    InputError,
    JourneyInvalidError,
    LintFailedError,
    MalformedBodyError,
    PermissionDeniedError,
    RequestInvalidError,
    Violation,
)

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_CODE: dict[str, int] = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "not_acceptable": 406,
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
    "customer_unknown": 404,
    "event_id_reused": 409,
    "lifecycle_invalid": 409,
    "approval_required": 409,
    "four_eyes": 409,
    "block_in_use": 409,
    "tracking_link_invalid": 404,
    "webhook_signature_invalid": 401,
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


def problem_json(exc: CCMError) -> dict[str, Any]:
    """An error as one item of a multi-status reply (a batch of events)."""
    value: dict[str, Any] = {"status": status_for(exc), "code": exc.code, "detail": exc.detail}
    if isinstance(exc, DataValidationError):
        value["violations"] = violations_json(exc.violations)
    if isinstance(exc, JourneyInvalidError):
        value["problems"] = exc.problems
    return value


def problem_for(exc: CCMError, request: Request) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, DataValidationError):
        extra["violations"] = violations_json(exc.violations)
    if isinstance(exc, JourneyInvalidError):
        extra["problems"] = exc.problems
    if isinstance(exc, LintFailedError):
        extra["findings"] = exc.findings
    return problem(status_for(exc), exc.code, exc.detail, instance=request.url.path, **extra)


#: pydantic's words for "the body is not an object", which say little to an HTTP client.
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})


def _request_invalid(exc: RequestValidationError, request: Request) -> CCMError:
    violations: list[Violation] = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return MalformedBodyError(
                f"the request body is not valid JSON: {error.get('msg', '')}"
            )
        location = [str(part) for part in error.get("loc", ())]
        message = error["msg"]
        if location == ["body"] and error.get("type") in _NOT_AN_OBJECT:
            content_type = request.headers.get("content-type", "") or "none"
            message = (f"the body must be a JSON object (Content-Type: application/json; "
                       f"this request's: {content_type})")
        if location and location[0] == "body":
            location = location[1:]
        elif location and location[0] in {"query", "path", "header"}:
            location = [f"{location[0]}:{'/'.join(location[1:])}"]
        violations.append(Violation("".join(f"/{part}" for part in location), message))
    return RequestInvalidError(violations)


def _required_roles(request: Request) -> frozenset[Any] | None:
    """The roles the matched route's key check asks for (marked on it by ``deps``)."""
    route = request.scope.get("route")
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        roles = getattr(dependant.call, "ccm_roles", None)
        if roles is not None:
            return frozenset(roles)
        stack.extend(dependant.dependencies)
    return None


async def _refused_caller(request: Request) -> CCMError | None:
    """Why the caller may not use this route, if it may not. FastAPI reads a JSON body
    before any dependency runs, so a body that is not JSON is found before the key is
    checked; a caller without a valid key or studio session, or without the role, must
    learn no more than 401 or 403. The caller is found as ``deps.require_roles`` finds
    it: a bearer key wins; else the studio session cookie, with its CSRF token on unsafe
    methods."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return None
    roles = _required_roles(request)

    def check() -> CCMError | None:
        try:
            with services.unit_of_work() as session:
                caller = request_caller(session, request)
            if roles is not None:
                caller.require(roles)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return exc
        return None

    return await run_in_threadpool(check)


def install_problem_handlers(app: FastAPI, on_error: Any) -> None:
    """Map every error to problem+json. ``on_error(request, exc, response)`` lets the
    idempotency guard keep (or give up) the reply of a failed request."""

    async def ccm_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CCMError)
        response: Response = await on_error(request, problem_for(exc, request))
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        error = _request_invalid(exc, request)
        if isinstance(error, MalformedBodyError):
            error = await _refused_caller(request) or error
        return await ccm_error(request, error)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        # FastAPI's own 400 is a body it could not parse (not JSON, or nested too deep).
        code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        elif exc.status_code == 400 and detail == "There was an error parsing the body":
            refused = await _refused_caller(request)
            if refused is not None:
                return await ccm_error(request, refused)
            detail = "the request body could not be read as JSON"
        response = problem(exc.status_code, code, detail, instance=request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def unstorable(request: Request, exc: Exception) -> Response:
        """A value the database cannot hold or compare (text with NUL, a number out of
        range, a text longer than its column): the request's fault, not the server's."""
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        log.info("refused a value on %s %s: %s", request.method, request.url.path, reason)
        return await ccm_error(request, InputError(
            f"a value in the request cannot be stored or looked up: {reason}"))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        failed = problem(500, "internal_error", "the server failed to complete the request; "
                         "nothing was recorded", instance=request.url.path)
        response: Response = await on_error(request, failed)
        return response

    document_problems(app)
    app.add_exception_handler(CCMError, ccm_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DataError, unstorable)
    app.add_exception_handler(OverflowError, unstorable)
    app.add_exception_handler(Exception, unexpected)


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers above do: every error reply is
    ``application/problem+json`` with the :class:`Problem` schema, including the 422 that
    FastAPI would otherwise describe as its own ``HTTPValidationError``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        spec = generate()
        if fresh:
            _problems_in_spec(spec)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_REF = "#/components/schemas/Problem"
_FASTAPI_ERRORS = ("#/components/schemas/HTTPValidationError",
                   "#/components/schemas/ValidationError")


def _problems_in_spec(spec: dict[str, Any]) -> None:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema())
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for status, reply in operation.get("responses", {}).items():
                content = reply.get("content", {})
                refs = {media.get("schema", {}).get("$ref") for media in content.values()}
                is_problem = PROBLEM_MEDIA_TYPE in content or refs & {_PROBLEM_REF,
                                                                      *_FASTAPI_ERRORS}
                if not is_problem or not str(status).isdigit() or int(status) < 400:
                    continue
                reply["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
                if reply.get("description") == "Validation Error":
                    reply["description"] = "The request's fields are missing or wrong"
                if status == "401":
                    reply.setdefault("headers", {})["WWW-Authenticate"] = {
                        "description": "How to authenticate: `Bearer`", "schema": {
                            "type": "string", "example": 'Bearer realm="ccm"'}}
    text = json.dumps(spec.get("paths", {}))
    for ref in _FASTAPI_ERRORS:
        if ref not in text:
            schemas.pop(ref.rsplit("/", 1)[-1], None)
