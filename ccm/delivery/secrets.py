"""The key that signs tracking and unsubscribe links: configured, or made once and kept."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ccm.config import Settings
from ccm.db.session import begin_savepoint
from ccm.delivery.models import InstanceSecret

_TRACKING = "tracking"


def tracking_secret(session: Session, settings: Settings) -> bytes:
    """``CCM_TRACKING_SECRET``, else this installation's own key (made on first use, so
    links keep working across restarts and across processes sharing the database)."""
    if settings.tracking_secret:
        return settings.tracking_secret.encode()
    row = session.get(InstanceSecret, _TRACKING)
    if row is None:
        savepoint = begin_savepoint(session)
        try:
            session.add(InstanceSecret(name=_TRACKING, value=secrets.token_urlsafe(32)))
            session.flush()
            savepoint.commit()
        except IntegrityError:  # another process made it first
            savepoint.rollback()
        row = session.get(InstanceSecret, _TRACKING)
        assert row is not None
    return row.value.encode()
