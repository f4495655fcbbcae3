"""One router per resource; the app mounts them all under ``/v1``."""

from ccm.api.routes import (
    api_keys,
    assets,
    batches,
    blocks,
    brands,
    customers,
    documents,
    events,
    health,
    journeys,
    previews,
    template_lifecycle,
    templates,
    tracking,
    translations,
)

ROUTERS = [
    documents.router, documents.batch_router, batches.router, customers.router, brands.router,
    templates.router, template_lifecycle.router, previews.router, assets.router,
    api_keys.router, health.router, events.router, journeys.router, tracking.webhook_router,
    blocks.router, translations.router,
]

#: Served at the root, not under /v1: their URLs are printed in customers' emails.
PUBLIC_ROUTERS = [tracking.router]
