"""``/v1/customers/{id}/communications``: the customer's trace, for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from ccm.api.deps import Auditor, Services
from ccm.api.routes.documents import content_url
from ccm.api.schemas import CommunicationOut, TraceOut, problem_responses
from ccm.audit.service import TraceFilter, customer_trace
from ccm.rendering.spec import Channel

router = APIRouter(tags=["customers"])


@router.get("/customers/{customer_id}/communications", response_model=TraceOut,
            summary="Every communication a customer received",
            responses=problem_responses(401, 403, 422))
def customer_communications(
    customer_id: str,
    request: Request,
    services: Services,
    _principal: Auditor,
    since: Annotated[datetime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    channel: Channel | None = None,
    journey: str | None = None,
    stage: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the page before.")]
    = None,
) -> TraceOut:
    """Newest first, with template and brand versions, journey and stage of each."""
    filters = TraceFilter(since, until, channel.value if channel else None, journey, stage)
    with services.unit_of_work() as session:
        page = customer_trace(session, customer_id, filters, limit=limit, cursor=cursor)
    return TraceOut(
        customer_id=customer_id, next_cursor=page.next_cursor,
        communications=[CommunicationOut.of(row, content_url(request, row.id))
                        for row in page.communications],
    )
