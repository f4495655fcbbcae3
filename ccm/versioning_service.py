"""Rules every versioned registry entry shares: numbering, publishing, immutability."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ccm.db import revision as _revision  # noqa: F401  (bumps the revision)
from ccm.db.base import utcnow
from ccm.errors import ImmutableVersionError
from ccm.versioning import VersionStatus


class VersionRow(Protocol):
    version: int
    status: VersionStatus
    published_at: datetime | None


def ensure_editable(row: VersionRow, what: str) -> None:
    if row.status is not VersionStatus.DRAFT:
        raise ImmutableVersionError(
            f"{what} v{row.version} is {row.status.value}; only drafts change (what is "
            "reviewed, approved or published never does) — create a new version instead"
        )


def publish(row: VersionRow, what: str) -> None:
    if row.status is VersionStatus.PUBLISHED:
        return
    ensure_editable(row, what)
    row.status = VersionStatus.PUBLISHED
    row.published_at = utcnow()
