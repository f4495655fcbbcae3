"""``/studio``: the marketing studio's pages, sign-in and sign-out, and its static files.

Pages are rendered here from :mod:`ccm.web.views`; the editor's script then works through
the ``/v1`` API with the session cookie (see :mod:`ccm.web.session`). Nothing a page needs
comes from outside the package: the code editor (CodeMirror 5) is vendored under
``static/vendor``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ccm.api.deps import Services
from ccm.auth.service import Principal
from ccm.errors import AuthenticationError, CCMError, NotFoundError, PermissionDeniedError
from ccm.web import views
from ccm.web.session import (
    SESSION_COOKIE,
    csrf_token,
    session_principal,
    session_seconds,
    sign_in,
    studio_secret,
)

HERE = Path(__file__).parent
PAGES = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "pages"), autoescape=True,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True))

#: Studio pages load only their own files; the preview frame (``srcdoc``, inheriting this
#: policy) may show inline styles and embedded images but run nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/studio", include_in_schema=False)


class SignInRequired(Exception):
    """The page needs a signed-in user; ``reason`` says why the last session ended."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "sign in")
        self.reason = reason


@dataclass(frozen=True)
class StudioUser:
    """The signed-in user a page is shown to, and the CSRF token its scripts send."""

    principal: Principal
    csrf: str


def studio_user(request: Request, services: Services) -> StudioUser:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise SignInRequired(None)
    with services.unit_of_work() as session:
        try:
            principal = session_principal(session, cookie)
        except AuthenticationError as exc:
            raise SignInRequired(exc.detail) from None
        return StudioUser(principal, csrf_token(studio_secret(session), cookie))


User = Annotated[StudioUser, Depends(studio_user)]


def page(request: Request, name: str, user: StudioUser | None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    response = PAGES.TemplateResponse(request, name, {
        "user": user, "section": context.pop("section", ""), **context},
        status_code=status_code, headers=_SECURITY_HEADERS)
    assert isinstance(response, HTMLResponse)
    return response


async def shown(request: Request, services: Services, user: StudioUser, name: str,
                build: Callable[[Session], dict[str, Any]], **context: Any) -> HTMLResponse:
    """``name`` with what ``build`` reads from the registry, or a page saying what is
    missing."""

    def read() -> dict[str, Any]:
        with services.unit_of_work() as session:
            return build(session)

    try:
        found = await run_in_threadpool(read)
    except NotFoundError as exc:
        return page(request, "error.html", user, 404, title="Not found", message=exc.detail,
                    **context)
    except CCMError as exc:
        return page(request, "error.html", user, 422, title="Cannot show this page",
                    message=exc.detail, **context)
    return page(request, name, user, **found, **context)


# -- signing in and out ----------------------------------------------------------------


def _next_page(value: str | None) -> str:
    """Only a studio page of this site: a sign-in link must not send anyone elsewhere."""
    if not value:
        return "/studio"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/studio") \
            or parts.path.startswith("/studio/sign-"):
        return "/studio"
    return value


def _session_length(seconds: int) -> str:
    """``8 hours``, ``1 hour``, ``90 minutes``: what the sign-in form promises."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, services: Services,
                 next_page: Annotated[str | None, Query(alias="next")] = None,
                 ended: str | None = None) -> HTMLResponse:
    return page(request, "sign_in.html", None, next_page=_next_page(next_page),
                error=None, ended=ended,
                session_length=_session_length(session_seconds(services.settings)))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in_submit(request: Request, services: Services) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("api_key") or [""])[0]
    target = _next_page((form.get("next") or [""])[0])
    seconds = session_seconds(services.settings)

    def start() -> str:
        with services.unit_of_work() as session:
            return sign_in(session, key, seconds=seconds).cookie

    try:
        cookie = await run_in_threadpool(start)
    except (AuthenticationError, PermissionDeniedError) as exc:
        status = 403 if isinstance(exc, PermissionDeniedError) else 401
        message = ("This API key does not hold the marketing role: the studio is for "
                   "marketing keys." if status == 403 else exc.detail)
        return page(request, "sign_in.html", None, status, next_page=target, error=message,
                    ended=None, session_length=_session_length(seconds))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=seconds, path="/",
                        httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Clears the session cookie. (A forged sign-out could only sign someone out, so it
    needs no CSRF token.)"""
    response = RedirectResponse("/studio/sign-in?ended=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


# -- pages -----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def templates_page(request: Request, services: Services, user: User) -> HTMLResponse:
    return await shown(request, services, user, "templates.html", lambda session: {
        "templates": views.template_rows(session)}, section="templates")


@router.get("/templates/{key}", response_class=HTMLResponse)
async def editor_page(request: Request, services: Services, user: User, key: str,
                      version: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    def build(session: Session) -> dict[str, Any]:
        row = views.template_row(session, key)
        chosen = version or row.latest.version
        if chosen not in {v.version for v in row.versions}:
            raise NotFoundError(f"template {key!r} has no version {chosen}")
        return {"template": row, "version": chosen}

    return await shown(request, services, user, "editor.html", build, section="templates")


@router.get("/templates/{key}/diff", response_class=HTMLResponse)
async def diff_page(request: Request, services: Services, user: User, key: str,
                    from_version: Annotated[int | None, Query(alias="from", ge=1)] = None,
                    to_version: Annotated[int | None, Query(alias="to", ge=1)] = None,
                    ) -> HTMLResponse:
    def build(session: Session) -> dict[str, Any]:
        row = views.template_row(session, key)
        old, new = views.default_diff_range(row)
        old, new = from_version or old, to_version or new
        return {"template": row, "old": old, "new": new,
                "parts": views.template_diff(session, key, old, new)}

    return await shown(request, services, user, "diff.html", build, section="templates")


@router.get("/blocks", response_class=HTMLResponse)
async def blocks_page(request: Request, services: Services, user: User) -> HTMLResponse:
    return await shown(request, services, user, "blocks.html", lambda session: {
        "blocks": views.block_rows(session)}, section="blocks")


@router.get("/blocks/{key}", response_class=HTMLResponse)
async def block_page(request: Request, services: Services, user: User, key: str
                     ) -> HTMLResponse:
    return await shown(request, services, user, "block.html", lambda session: {
        "block": views.block_page(session, key)}, section="blocks")


@router.get("/brands", response_class=HTMLResponse)
async def brands_page(request: Request, services: Services, user: User) -> HTMLResponse:
    return await shown(request, services, user, "brands.html", lambda session: {
        "brands": views.brand_rows(session)}, section="brands")


@router.get("/brands/{key}", response_class=HTMLResponse)
async def brand_page(request: Request, services: Services, user: User, key: str,
                     version: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    return await shown(request, services, user, "brand.html", lambda session: {
        "brand": views.brand_page(session, key, version)}, section="brands")


def install_studio(app: FastAPI) -> None:
    """Serve the studio at ``/studio`` and its files at ``/studio/static``."""

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = {"next": target, **({"ended": "session"} if exc.reason is not None else {})}
        response = RedirectResponse(f"/studio/sign-in?{urlencode(query)}", status_code=303)
        if exc.reason is not None:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.include_router(router)
    app.mount("/studio/static", StaticFiles(directory=HERE / "static"), name="studio-static")
