"""Creating batches, claiming their items, finishing them, and reading progress.

The ``batch_items`` table is the work queue. A worker *claims* an item by setting a lease
(a fresh token and a time it runs until) and finishes it with a conditional update that
only succeeds while the lease is still its own, in the same transaction as the
communication it records. So an item whose worker died is taken over once its lease runs
out, and an item is never recorded twice, even when two workers race for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ccm.artifacts import ArtifactStore
from ccm.audit.service import Requester
from ccm.batches.models import Batch, BatchItem, ItemStatus
from ccm.db.base import utcnow
from ccm.documents.schemas import DocumentCreate, request_invalid
from ccm.documents.service import (
    DocumentRequest,
    PreparedDocument,
    keep_document,
    prepare_document,
)
from ccm.errors import CCMError, DataValidationError, InputError, NotFoundError
from ccm.rendering.spec import RenderedDocument

#: A worker that died this many times on one item (its lease ran out each time) gives up.
MAX_ATTEMPTS = 3


def error_detail(exc: CCMError, index: int | None = None) -> dict[str, Any]:
    """An error as stored on an item and shown in replies."""
    detail: dict[str, Any] = {"code": exc.code, "detail": exc.detail}
    if index is not None:
        detail = {"index": index, **detail}
    if isinstance(exc, DataValidationError):
        detail["violations"] = [{"path": v.path, "message": v.message} for v in exc.violations]
    return detail


def parse_item(raw: Any) -> DocumentRequest:
    """One batch item, checked for shape: the same fields as a single document request."""
    try:
        model = DocumentCreate.model_validate(raw)
    except ValidationError as exc:
        raise request_invalid(exc) from None
    return model.to_request()


@dataclass(frozen=True)
class BatchReceipt:
    batch: Batch
    accepted: int
    errors: list[dict[str, Any]]


def create_batch(
    session: Session,
    items: Sequence[Any],
    *,
    requested_by: str,
    max_items: int,
    idempotency_key: str | None = None,
) -> BatchReceipt:
    """Check every item now; queue the valid ones, keep the invalid ones with their error."""
    if not items:
        raise InputError("a batch needs at least one item")
    if len(items) > max_items:
        raise InputError(f"a batch holds at most {max_items} items, not {len(items)}")
    batch = Batch(id=str(uuid.uuid4()), requested_by=requested_by,
                  idempotency_key=idempotency_key, total=len(items))
    errors: list[dict[str, Any]] = []
    rows: list[BatchItem] = []
    for index, raw in enumerate(items):
        stored = raw if isinstance(raw, Mapping) else {"value": raw}
        try:
            request = parse_item(raw)
            prepare_document(session, request)
        except CCMError as exc:
            errors.append(error_detail(exc, index))
            rows.append(BatchItem(batch_id=batch.id, index=index, status=ItemStatus.FAILED,
                                  request=dict(stored), error=error_detail(exc),
                                  finished_at=utcnow()))
            continue
        rows.append(BatchItem(batch_id=batch.id, index=index, status=ItemStatus.PENDING,
                              request=request.as_json()))
    # Written only now, after every item was checked: on SQLite the write lock is taken
    # at the first write and held to the commit, so it is not held while checking.
    session.add(batch)
    session.flush()
    session.add_all(rows)
    if not len(items) - len(errors):
        batch.finished_at = utcnow()
    session.flush()
    return BatchReceipt(batch, len(items) - len(errors), errors)


@dataclass(frozen=True)
class ClaimedItem:
    item_id: int
    token: str


def _claimable(now: datetime) -> Any:
    return or_(BatchItem.status == ItemStatus.PENDING,
               and_(BatchItem.status == ItemStatus.RUNNING, BatchItem.lease_until < now))


def claim_items(session: Session, limit: int, lease: timedelta) -> list[ClaimedItem]:
    """Lease up to ``limit`` items: pending ones, or running ones whose lease ran out."""
    now = utcnow()
    _give_up_on_poison(session, now)
    ids = session.scalars(
        select(BatchItem.id).where(_claimable(now)).order_by(BatchItem.id).limit(limit)
    ).all()
    claimed: list[ClaimedItem] = []
    for item_id in ids:
        token = str(uuid.uuid4())
        result = session.execute(
            update(BatchItem).where(BatchItem.id == item_id, _claimable(now))
            .values(status=ItemStatus.RUNNING, lease_token=token, lease_until=now + lease,
                    attempts=BatchItem.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(ClaimedItem(item_id, token))
    session.flush()
    return claimed


def _give_up_on_poison(session: Session, now: datetime) -> None:
    # An item whose lease ran out MAX_ATTEMPTS times killed its worker each time (a crash,
    # or the memory limit): fail it rather than let it take down worker after worker.
    poisoned = session.scalars(select(BatchItem).where(
        BatchItem.status == ItemStatus.RUNNING, BatchItem.lease_until < now,
        BatchItem.attempts >= MAX_ATTEMPTS)).all()
    for item in poisoned:
        item.status, item.lease_token, item.lease_until = ItemStatus.FAILED, None, None
        item.finished_at = now
        item.error = {"code": "worker_lost",
                      "detail": f"the worker rendering this item stopped {item.attempts} times"}
        _finish_batch_if_done(session, item.batch_id)


def extend_leases(session: Session, tokens: Sequence[str], lease: timedelta) -> None:
    if tokens:
        session.execute(update(BatchItem).where(BatchItem.lease_token.in_(tokens),
                                                BatchItem.status == ItemStatus.RUNNING)
                        .values(lease_until=utcnow() + lease))


def release_items(session: Session, tokens: Sequence[str]) -> None:
    """Hand claimed items back (a worker stopping before it began them)."""
    if tokens:
        session.execute(update(BatchItem).where(BatchItem.lease_token.in_(tokens),
                                                BatchItem.status == ItemStatus.RUNNING)
                        .values(status=ItemStatus.PENDING, lease_token=None, lease_until=None,
                                attempts=BatchItem.attempts - 1))


class LeaseLostError(Exception):
    """Another worker took the item over; this worker's result must not be saved."""


@dataclass(frozen=True)
class ItemWork:
    """A claimed item, checked and ready to render (or already known to fail)."""

    claimed: ClaimedItem
    requester: Requester
    prepared: PreparedDocument | None
    error: dict[str, Any] | None


def load_item(session: Session, claimed: ClaimedItem) -> ItemWork:
    """Read and check a claimed item; its own errors become its outcome, not exceptions."""
    item = session.get(BatchItem, claimed.item_id)
    if item is None or item.lease_token != claimed.token:
        raise LeaseLostError(f"batch item {claimed.item_id} is no longer claimed by this worker")
    batch = session.get(Batch, item.batch_id)
    assert batch is not None
    requester = Requester(batch.requested_by, batch.idempotency_key, batch.id, item.index)
    try:
        prepared = prepare_document(session, DocumentRequest.from_json(item.request))
    except CCMError as exc:
        return ItemWork(claimed, requester, None, error_detail(exc))
    return ItemWork(claimed, requester, prepared, None)


def finish_item(
    session: Session,
    store: ArtifactStore,
    work: ItemWork,
    document: RenderedDocument | None,
    error: dict[str, Any] | None,
) -> ItemStatus:
    """Record the item's document (or its error) while the lease is still this worker's."""
    values: dict[str, Any]
    if document is not None and work.prepared is not None:
        record = keep_document(session, store, work.prepared, document, work.requester)
        values = {"status": ItemStatus.DONE, "communication_id": record.id}
    else:
        values = {"status": ItemStatus.FAILED, "error": error or work.error}
    result = session.execute(
        update(BatchItem)
        .where(BatchItem.id == work.claimed.item_id, BatchItem.lease_token == work.claimed.token,
               BatchItem.status == ItemStatus.RUNNING)
        .values(lease_token=None, lease_until=None, finished_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLostError(f"batch item {work.claimed.item_id} was taken over by another "
                             "worker")
    assert work.requester.batch_id is not None
    _finish_batch_if_done(session, work.requester.batch_id)
    return ItemStatus(values["status"])


def _finish_batch_if_done(session: Session, batch_id: str) -> None:
    session.flush()
    # Workers finishing a batch's last items at once each count the others' items as
    # unfinished until those commit, and no one would close the batch. Taking the batch
    # row's lock first makes them count one after another, each seeing the commits
    # before it (PostgreSQL; SQLite writers are one at a time already). NO KEY UPDATE,
    # not UPDATE: each worker's new communication already holds a KEY SHARE lock on the
    # batch row (its foreign key), which a plain FOR UPDATE would wait on — a deadlock.
    session.execute(select(Batch.id).where(Batch.id == batch_id)
                    .with_for_update(key_share=True))
    unfinished = session.scalar(select(func.count()).select_from(BatchItem).where(
        BatchItem.batch_id == batch_id,
        BatchItem.status.in_([ItemStatus.PENDING, ItemStatus.RUNNING])))
    if not unfinished:
        session.execute(update(Batch).where(Batch.id == batch_id, Batch.finished_at.is_(None))
                        .values(finished_at=utcnow()))


def fail_item(session: Session, claimed: ClaimedItem, reason: str) -> None:
    """An unexpected failure: retry later, or give up after :data:`MAX_ATTEMPTS`."""
    item = session.get(BatchItem, claimed.item_id)
    if item is None or item.lease_token != claimed.token:
        return
    if item.attempts >= MAX_ATTEMPTS:
        item.status, item.finished_at = ItemStatus.FAILED, utcnow()
        item.error = {"code": "internal_error", "detail": reason}
    else:
        item.status = ItemStatus.PENDING
    item.lease_token, item.lease_until = None, None
    _finish_batch_if_done(session, item.batch_id)


@dataclass(frozen=True)
class BatchProgress:
    batch: Batch
    counts: Mapping[ItemStatus, int]
    items: Sequence[BatchItem]

    @property
    def finished(self) -> bool:
        unfinished = self.counts[ItemStatus.PENDING] + self.counts[ItemStatus.RUNNING]
        return self.batch.finished_at is not None or unfinished == 0


def batch_progress(
    session: Session, batch_id: str, *, status: ItemStatus | None = None
) -> BatchProgress:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch {batch_id!r}")
    counts = dict.fromkeys(ItemStatus, 0)
    for item_status, count in session.execute(
        select(BatchItem.status, func.count()).where(BatchItem.batch_id == batch_id)
        .group_by(BatchItem.status)
    ):
        counts[ItemStatus(item_status)] = count
    query = select(BatchItem).where(BatchItem.batch_id == batch_id).order_by(BatchItem.index)
    if status is not None:
        query = query.where(BatchItem.status == status)
    return BatchProgress(batch, counts, session.scalars(query).all())
