"""Storing and reading registry assets."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.assets.models import Asset
from ccm.errors import NotFoundError, RegistryError

ALLOWED_MEDIA_TYPES = frozenset(
    {"image/svg+xml", "image/png", "image/jpeg", "image/gif", "font/ttf", "font/otf",
     "font/woff", "font/woff2"}
)
_EXTRA_TYPES = {".svg": "image/svg+xml", ".ttf": "font/ttf", ".otf": "font/otf",
                ".woff": "font/woff", ".woff2": "font/woff2"}


def guess_media_type(filename: str) -> str:
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    media_type = _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(filename)[0]
    if media_type not in ALLOWED_MEDIA_TYPES:
        raise RegistryError(
            f"asset {filename!r} has an unsupported type ({media_type or 'unknown'}); "
            f"allowed: {', '.join(sorted(ALLOWED_MEDIA_TYPES))}"
        )
    return media_type


def put_asset(session: Session, content: bytes, media_type: str) -> Asset:
    """Store ``content`` once; storing the same bytes again returns the existing row."""
    sha256 = hashlib.sha256(content).hexdigest()
    existing = session.get(Asset, sha256)
    if existing is not None:
        return existing
    asset = Asset(sha256=sha256, media_type=media_type, size=len(content), content=content)
    session.add(asset)
    session.flush()
    return asset


def get_assets(session: Session, digests: Iterable[str]) -> dict[str, Asset]:
    wanted = set(digests)
    found = {a.sha256: a for a in session.scalars(select(Asset).where(Asset.sha256.in_(wanted)))}
    missing = wanted - found.keys()
    if missing:
        raise NotFoundError(f"asset(s) missing from the registry: {', '.join(sorted(missing))}")
    return found
