"""``/v1/health``: can the service reach its database and its artifact store?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ccm import __version__
from ccm.api.deps import Services

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database and storage reachability (no key needed)",
            responses={200: {"content": {"application/json": {"example": {
                "status": "ok", "version": "0.1.0",
                "checks": {"database": {"status": "ok"}, "storage": {"status": "ok"}}}}}},
                       503: {"description": "A dependency is down; `checks` says which.",
                             "content": {"application/json": {"example": {
                                 "status": "error", "version": "0.1.0",
                                 "checks": {"database": {"status": "ok"}, "storage": {
                                     "status": "error",
                                     "detail": "ArtifactError: storage is unreachable"}}}}}}})
async def health(services: Services) -> JSONResponse:
    def check_database() -> None:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    checks: dict[str, dict[str, str]] = {}
    for name, probe in (("database", check_database), ("storage", services.store.check)):
        try:
            await run_in_threadpool(probe)
            checks[name] = {"status": "ok"}
        except Exception as exc:  # health reports a failing dependency, it never raises
            checks[name] = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"}
    ok = all(check["status"] == "ok" for check in checks.values())
    return JSONResponse({"status": "ok" if ok else "error", "version": __version__,
                         "checks": checks}, status_code=200 if ok else 503)
