"""Claiming an idempotency key, storing the reply, replaying it.

The claim is committed on its own, before the work starts, so that a concurrent retry
finds it: the unique ``(scope, key)`` constraint lets exactly one request win the
insert, and the others wait for its reply. The reply is stored in the same transaction
as the work it describes, so a reply is replayed only for work that was saved.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ccm.db import unit_of_work
from ccm.db.base import as_utc, utcnow
from ccm.errors import IdempotencyInProgressError, IdempotencyKeyReusedError, InputError
from ccm.idempotency.models import IdempotencyRecord, IdempotencyState

MAX_KEY_LENGTH = 255
#: An in-progress claim older than this belongs to a request that died with its server.
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class StoredReply:
    status_code: int
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    artifact_sha256: str | None = None


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it does the work and stores the reply."""

    record_id: int
    token: str
    key: str


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InputError(
            f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable characters"
        )
    return key


def claim_key(
    factory: sessionmaker[Session],
    scope: str,
    key: str,
    request_sha256: str,
    *,
    wait_seconds: float,
    poll_seconds: float = 0.05,
) -> Claim | StoredReply:
    """Claim ``key`` for this request, or return the reply of the request that holds it.

    Raises:
        IdempotencyKeyReusedError: the key was used with a different request.
        IdempotencyInProgressError: the first request did not finish within ``wait_seconds``.
    """
    check_key(key)
    deadline = time.monotonic() + wait_seconds
    while True:
        outcome = _try_claim(factory, scope, key, request_sha256)
        if outcome is not None:
            return outcome
        if time.monotonic() >= deadline:
            raise IdempotencyInProgressError(
                f"a request with Idempotency-Key {key!r} is still being processed; retry later"
            )
        time.sleep(poll_seconds)


def _try_claim(
    factory: sessionmaker[Session], scope: str, key: str, request_sha256: str
) -> Claim | StoredReply | None:
    token = str(uuid.uuid4())
    try:
        with unit_of_work(factory) as session:
            row = session.scalar(select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key))
            if row is None:
                row = IdempotencyRecord(scope=scope, key=key, request_sha256=request_sha256,
                                        state=IdempotencyState.IN_PROGRESS, token=token)
                session.add(row)
                session.flush()
                return Claim(row.id, token, key)
            if row.request_sha256 != request_sha256:
                raise IdempotencyKeyReusedError(
                    f"Idempotency-Key {key!r} was already used with a different request"
                )
            if row.state is IdempotencyState.COMPLETED:
                assert row.status_code is not None and row.media_type is not None
                return StoredReply(row.status_code, row.media_type, dict(row.headers or {}),
                                   row.body, row.artifact_sha256)
            if as_utc(row.created_at) < utcnow() - STALE_AFTER:
                # Its request died with its server: take the claim over.
                taken = session.execute(
                    update(IdempotencyRecord)
                    .where(IdempotencyRecord.id == row.id, IdempotencyRecord.token == row.token)
                    .values(token=token, created_at=utcnow())
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return Claim(row.id, token, key)
            return None
    except IntegrityError:
        return None  # another request inserted the key first: look again


def complete_claim(session: Session, claim: Claim, reply: StoredReply) -> None:
    """Store the reply in the caller's transaction (the one that saves the work)."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == claim.record_id, IdempotencyRecord.token == claim.token)
        .values(state=IdempotencyState.COMPLETED, status_code=reply.status_code,
                media_type=reply.media_type, headers=reply.headers, body=reply.body,
                artifact_sha256=reply.artifact_sha256, completed_at=utcnow())
    )


def complete_claim_alone(factory: sessionmaker[Session], claim: Claim, reply: StoredReply) -> None:
    """Store a reply whose request saved nothing (a refused request): its own transaction."""
    with unit_of_work(factory) as session:
        complete_claim(session, claim, reply)


def release_claim(factory: sessionmaker[Session], claim: Claim) -> None:
    """Give the key up after an unexpected failure, so that a retry can run the request."""
    with unit_of_work(factory) as session:
        session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.id == claim.record_id,
                   IdempotencyRecord.token == claim.token,
                   IdempotencyRecord.state == IdempotencyState.IN_PROGRESS)
        )
