"""``/v1/blocks/{key}/where-used``: what a shared block or layout touches (marketing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ccm.api.deps import MarketingOrAuditor, Services
from ccm.api.schemas import problem_responses
from ccm.templates.usage import block_include_name, where_used

router = APIRouter(tags=["templates"])


@router.get("/blocks/{key}/where-used", summary="Every template and block that includes a "
            "block", responses=problem_responses(401, 403, 404))
def block_where_used(key: str, services: Services, _principal: MarketingOrAuditor
                     ) -> dict[str, Any]:
    """Template versions (any status) whose bodies include the block, directly or through
    a layout or another block, with the channels concerned; and the blocks including it."""
    with services.unit_of_work() as session:
        usage = where_used(session, block_include_name(session, key))
    return {"block": usage.block, "included_by_blocks": list(usage.blocks),
            "templates": [{"template": u.template, "version": u.version, "status": u.status,
                           "channels": list(u.channels), "via": u.via}
                          for u in usage.templates]}
