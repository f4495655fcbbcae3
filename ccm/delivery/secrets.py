"""Keys this installation signs with (tracking and unsubscribe links, studio sessions):
configured, or made once and kept in the database."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ccm.config import Settings
from ccm.db.session import begin_savepoint
from ccm.delivery.models import InstanceSecret

_TRACKING = "tracking"


def tracking_secret(session: Session, settings: Settings) -> bytes:
    """``CCM_TRACKING_SECRET``, else this installation's own key."""
    if settings.tracking_secret:
        return settings.tracking_secret.encode()
    return instance_secret(session, _TRACKING)


def instance_secret(session: Session, name: str) -> bytes:
    """This installation's key called ``name``: made on first use and kept in the
    database, so what it signs stays valid across restarts and across processes sharing
    the database."""
    row = session.get(InstanceSecret, name)
    if row is None:
        savepoint = begin_savepoint(session)
        try:
            session.add(InstanceSecret(name=name, value=secrets.token_urlsafe(32)))
            session.flush()
            savepoint.commit()
        except IntegrityError:  # another process made it first
            savepoint.rollback()
        row = session.get(InstanceSecret, name)
        assert row is not None
    return row.value.encode()
