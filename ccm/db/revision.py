"""The registry's revision: one number that changes whenever anything a render resolves
(a published version, a block, a template's brand or kind profile) may have changed.

Resolving a template key to the specs it renders with takes several queries (the latest
published version, its brand's live version, the live blocks, the kind's PDF profile).
With the revision, a process resolves once and afterwards asks one question — "is the
revision still N?" — which keeps the lookup off every request's bill. The revision is
bumped in the same flush as the change, so a reader that sees the change sees the new
revision too. A revision is a random token, not a counter: a change that is rolled back
must never leave its number to the next change, or what was cached under it would
come back.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ccm.db.base import Base

#: Tables whose rows decide what a template key resolves to.
_RESOLVING_TABLES = frozenset({
    "templates", "template_versions", "brands", "brand_versions", "blocks",
    "block_versions", "kind_profiles", "journeys", "journey_versions",
})


class RegistryRevision(Base):
    __tablename__ = "registry_revision"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1: a single row
    revision: Mapped[str] = mapped_column(String(36))


def registry_revision(session: Session) -> str:
    return session.scalar(select(RegistryRevision.revision).where(RegistryRevision.id == 1)) or ""


@event.listens_for(Session, "before_flush")
def _bump_on_registry_change(session: Session, _context: Any, _instances: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(getattr(row, "__tablename__", None) in _RESOLVING_TABLES for row in changed):
        session.execute(update(RegistryRevision).where(RegistryRevision.id == 1)
                        .values(revision=str(uuid.uuid4())))
