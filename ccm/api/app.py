"""The FastAPI application: services made once, routes under ``/v1``, problem+json errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from ccm import __version__
from ccm.api.deps import ApiServices, ReplayReply
from ccm.api.docs import install_docs
from ccm.api.limits import BodySizeLimit
from ccm.api.problems import install_problem_handlers
from ccm.api.routes import PUBLIC_ROUTERS, ROUTERS
from ccm.artifacts import artifact_store_from_settings
from ccm.batches.runner import BatchRunner
from ccm.config import Settings, get_settings
from ccm.db import make_engine, make_session_factory
from ccm.delivery.worker import DeliveryWorker
from ccm.documents.pool import RenderPool
from ccm.idempotency.service import (
    Claim,
    StoredReply,
    complete_claim_alone,
    release_claim,
)
from ccm.workers import WorkerConfig

DESCRIPTION = """\
Documents for billing systems, the registry for marketing, and the trace of every
communication for auditors.

Every route but `/v1/health` needs an API key (`Authorization: Bearer ccm_…`, made with
`ccm apikey create`) holding the route's role: **billing**, **marketing**, **auditor** or
**admin**. Errors are RFC 9457 `application/problem+json` with a stable `code`.
POST requests accept an `Idempotency-Key` header: a retry with the same key and body
gets the first reply and changes nothing.
"""

TAGS = [
    {"name": "documents", "description": "Render and record documents for customers (billing)."},
    {"name": "batches", "description": "Many documents in one request, rendered in the "
                                       "background (billing)."},
    {"name": "customers", "description": "Profiles, consent, journeys and every "
                                         "communication a customer received."},
    {"name": "brands", "description": "Brand registry (marketing)."},
    {"name": "templates", "description": "Template registry and previews (marketing)."},
    {"name": "assets", "description": "Logos, fonts and images brands use (marketing)."},
    {"name": "api-keys", "description": "API keys and their roles (admin)."},
    {"name": "health", "description": "Is the service able to work? (no key)"},
    {"name": "events", "description": "What happened to customers: moves them through "
                                      "journeys (billing)."},
    {"name": "journeys", "description": "Journey definitions: goal, stages, sends and "
                                        "follow-ups (marketing)."},
    {"name": "webhooks", "description": "Delivery reports from providers (signed)."},
    {"name": "tracking", "description": "Open pixel, click redirects and one-click "
                                        "unsubscribe, as printed in emails (no key)."},
]


def make_services(settings: Settings, *, run_batches: bool) -> ApiServices:
    engine = make_engine(settings.database_url)
    config = WorkerConfig(settings.database_url, settings.artifact_dir)
    runner = None
    if run_batches:
        runner = BatchRunner(config, workers=settings.batch_workers,
                             executor=settings.batch_executor,
                             lease_seconds=settings.batch_lease_seconds)
    pool = (RenderPool(config, settings.render_workers)
            if settings.render_executor == "process" else None)
    return ApiServices(settings, engine, make_session_factory(engine),
                       artifact_store_from_settings(settings), runner, pool)


def create_app(settings: Settings | None = None, *, run_batches: bool = True,
               run_worker: bool = False) -> FastAPI:
    """The API. ``run_batches`` starts the in-process batch runner with the app;
    ``run_worker`` an in-process delivery worker (follow-ups and sends), as `ccm serve`
    does for the embedded default."""
    settings = settings or get_settings()
    services = make_services(settings, run_batches=run_batches)
    worker = (DeliveryWorker(services.factory, services.store, settings)
              if run_worker else None)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if services.runner is not None:
            services.runner.start()
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await run_in_threadpool(worker.stop)
            if services.runner is not None:
                await run_in_threadpool(services.runner.stop)
            if services.render_pool is not None:
                await run_in_threadpool(services.render_pool.close)
            services.engine.dispose()

    app = FastAPI(title="ccm", version=__version__, description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan, docs_url=None, redoc_url=None)
    install_docs(app)
    app.state.services = services
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)

    async def after_error(request: Request, response: Response) -> Response:
        """A refused request keeps its reply under its idempotency key; a crashed one
        gives the key up, so that a retry can run."""
        claim: Claim | None = getattr(request.state, "idempotency_claim", None)
        if claim is not None:
            if response.status_code < 500:
                reply = StoredReply(response.status_code,
                                    response.headers.get("content-type", ""),
                                    {}, bytes(response.body))
                await run_in_threadpool(complete_claim_alone, services.factory, claim, reply)
            else:
                await run_in_threadpool(release_claim, services.factory, claim)
        return response

    install_problem_handlers(app, after_error)

    async def replay(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ReplayReply)
        reply = exc.reply
        body = reply.body if reply.body is not None else await run_in_threadpool(
            services.store.get, reply.artifact_sha256 or "")
        headers = {**reply.headers, "Idempotent-Replayed": "true"}
        return Response(body, status_code=reply.status_code, media_type=reply.media_type,
                        headers=headers)

    app.add_exception_handler(ReplayReply, replay)
    for router in ROUTERS:
        app.include_router(router, prefix="/v1")
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    # Imported here: the studio's routes import this package's dependencies.
    from ccm.web.routes import install_studio

    install_studio(app)
    return app
