"""``/v1/batches/{id}``: a batch's progress, and per item its record or its error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ccm.api.deps import BillingOrAuditor, Services
from ccm.api.routes.documents import content_url
from ccm.api.schemas import CommunicationOut, problem_responses
from ccm.audit.service import get_communications
from ccm.batches.models import ItemStatus
from ccm.batches.service import batch_progress
from ccm.db.base import as_utc

router = APIRouter(tags=["batches"])


class BatchItemOut(BaseModel):
    index: int
    status: ItemStatus
    communication: CommunicationOut | None = None
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    id: str
    status: str  # running | completed
    total: int
    pending: int  # waiting or being rendered
    done: int
    failed: int
    requested_by: str
    created_at: datetime
    finished_at: datetime | None
    items: list[BatchItemOut]


@router.get("/batches/{batch_id}", response_model=BatchOut, name="get_batch",
            summary="A batch's progress", responses=problem_responses(401, 403, 404))
def get_batch(
    batch_id: str, request: Request, services: Services, _principal: BillingOrAuditor,
    status: ItemStatus | None = None,
) -> BatchOut:
    """Counts of pending, done and failed items, and each item (filter with `status`)."""
    with services.unit_of_work() as session:
        progress = batch_progress(session, batch_id, status=status)
        ids = [item.communication_id for item in progress.items if item.communication_id]
        records = {row.id: row for row in get_communications(session, ids)}
    batch, counts = progress.batch, progress.counts
    items = []
    for item in progress.items:
        record = records.get(item.communication_id or "")
        items.append(BatchItemOut(
            index=item.index, status=item.status,
            communication=CommunicationOut.of(record, content_url(request, record.id))
            if record else None,
            error=item.error))
    return BatchOut(
        id=batch.id, status="completed" if progress.finished else "running", total=batch.total,
        pending=counts[ItemStatus.PENDING] + counts[ItemStatus.RUNNING],
        done=counts[ItemStatus.DONE], failed=counts[ItemStatus.FAILED],
        requested_by=batch.requested_by, created_at=as_utc(batch.created_at),
        finished_at=as_utc(batch.finished_at), items=items,
    )

