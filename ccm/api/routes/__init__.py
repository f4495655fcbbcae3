"""One router per resource; the app mounts them all under ``/v1``."""

from ccm.api.routes import (
    api_keys,
    assets,
    batches,
    brands,
    customers,
    documents,
    health,
    templates,
)

ROUTERS = [
    documents.router, documents.batch_router, batches.router, customers.router, brands.router,
    templates.router, assets.router, api_keys.router, health.router,
]
