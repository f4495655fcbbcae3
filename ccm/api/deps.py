"""What routes depend on: the services, the caller's key and roles, the idempotency guard."""


import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ccm.artifacts import ArtifactStore
from ccm.auth.service import Principal, Role, authenticate
from ccm.batches.runner import BatchRunner
from ccm.config import Settings
from ccm.db import unit_of_work
from ccm.documents.pool import RenderPool
from ccm.documents.service import PreparedDocument, render_prepared
from ccm.idempotency.service import Claim, StoredReply, claim_key, complete_claim
from ccm.rendering.spec import Channel, RenderedDocument
from ccm.web.session import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    check_csrf,
    session_principal,
)


@dataclass
class ApiServices:
    """Everything a route reaches, made once per application."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    store: ArtifactStore
    runner: BatchRunner | None = None
    render_pool: RenderPool | None = None

    def render(self, prepared: PreparedDocument) -> RenderedDocument:
        """PDFs in the worker processes when there are some; the rest right here."""
        if self.render_pool is not None and prepared.channel is Channel.PDF:
            return self.render_pool.render(prepared)
        return render_prepared(prepared)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with unit_of_work(self.factory) as session:
            yield session


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer ccm_…`")


def studio_caller(session: Session, request: Request, cookie: str) -> Principal:
    """The signed-in studio user a session cookie stands for (only when the request
    carries no ``Authorization`` header: a key always wins). Unsafe methods must carry the
    session's CSRF token too."""
    caller = session_principal(session, cookie)
    if request.method not in SAFE_METHODS:
        check_csrf(session, cookie, request.headers.get(CSRF_HEADER))
    return caller


def request_caller(session: Session, request: Request) -> Principal:
    """Who is asking: the ``Authorization: Bearer`` key when the request has the header,
    else the studio session cookie (with its CSRF token on unsafe methods)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if "authorization" in request.headers or cookie is None:
        scheme, key = get_authorization_scheme_param(request.headers.get("authorization"))
        return authenticate(session, key if scheme.lower() == "bearer" and key else None)
    return studio_caller(session, request, cookie)


@cache
def require_roles(*roles: Role) -> Any:
    """A dependency that admits a key holding any of ``roles`` (one object per role set,
    so FastAPI runs it once per request however many dependencies ask for it). The key
    comes as ``Authorization: Bearer``, or from the studio's session cookie."""

    def principal(
        request: Request,
        services: Services,
        # Read by OpenAPI (the security scheme); the key itself is read by request_caller.
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        with services.unit_of_work() as session:
            caller = request_caller(session, request)
        caller.require(roles)
        request.state.principal = caller
        return caller

    principal.ccm_roles = roles  # type: ignore[attr-defined]  # read by the problem handlers
    return principal


Billing = Annotated[Principal, Depends(require_roles(Role.BILLING))]
BillingOrAuditor = Annotated[Principal, Depends(require_roles(Role.BILLING, Role.AUDITOR))]
Auditor = Annotated[Principal, Depends(require_roles(Role.AUDITOR))]
Marketing = Annotated[Principal, Depends(require_roles(Role.MARKETING))]
MarketingOrAuditor = Annotated[Principal, Depends(require_roles(Role.MARKETING, Role.AUDITOR))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
BillingOrMarketing = Annotated[Principal, Depends(require_roles(Role.BILLING, Role.MARKETING))]
AnyReader = Annotated[Principal, Depends(require_roles(Role.BILLING, Role.MARKETING,
                                                       Role.AUDITOR))]


class ReplayReply(Exception):
    """The request is a retry of one already answered: send that answer again."""

    def __init__(self, reply: StoredReply) -> None:
        super().__init__("idempotent replay")
        self.reply = reply


@dataclass
class IdempotencyGuard:
    """Holds the request's ``Idempotency-Key`` claim, if it carried one."""

    key: str | None = None
    claim: Claim | None = None

    def keep(self, session: Session, response: Response, *, artifact_sha256: str | None = None
             ) -> Response:
        """Store ``response`` as this key's reply, in the transaction that saves the work."""
        if self.claim is not None:
            complete_claim(session, self.claim, stored_reply(response, artifact_sha256))
        return response


#: Headers a replay makes afresh rather than repeating.
_FRESH_HEADERS = frozenset({"content-length", "content-type", "date", "server"})


def stored_reply(response: Response, artifact_sha256: str | None = None) -> StoredReply:
    headers = {name: value for name, value in response.headers.items()
               if name not in _FRESH_HEADERS}
    media_type = response.headers.get("content-type", "application/json")
    body = None if artifact_sha256 is not None else bytes(response.body)
    return StoredReply(response.status_code, media_type, headers, body, artifact_sha256)


def request_fingerprint(request: Request, body: bytes) -> str:
    """What makes two requests "the same": method, path, query, wanted format and body."""
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query,
                 request.headers.get("accept", "")):
        digest.update(part.encode() + b"\x00")
    digest.update(body)
    return digest.hexdigest()


@cache
def idempotency_guard(*roles: Role) -> Any:
    """A dependency for POST routes: claims the ``Idempotency-Key`` after authentication."""
    authorised = require_roles(*roles)

    async def guard(
        request: Request, services: Services, principal: Annotated[Principal, Depends(authorised)]
    ) -> IdempotencyGuard:
        key = request.headers.get("idempotency-key")
        if key is None:
            return IdempotencyGuard()
        fingerprint = request_fingerprint(request, await request.body())
        outcome = await run_in_threadpool(
            claim_key, services.factory, principal.name, key, fingerprint,
            wait_seconds=services.settings.idempotency_wait_seconds,
        )
        if isinstance(outcome, StoredReply):
            raise ReplayReply(outcome)
        request.state.idempotency_claim = outcome
        return IdempotencyGuard(key, outcome)

    return guard


BillingIdempotency = Annotated[IdempotencyGuard, Depends(idempotency_guard(Role.BILLING))]
MarketingIdempotency = Annotated[IdempotencyGuard, Depends(idempotency_guard(Role.MARKETING))]
AdminIdempotency = Annotated[IdempotencyGuard, Depends(idempotency_guard(Role.ADMIN))]
