"""Creating, checking and revoking API keys.

A key reads ``ccm_<random>``; only its SHA-256 is stored, so the key is shown once, when
it is made, and a stolen database does not give working keys.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.auth.models import ApiKey
from ccm.db.base import utcnow
from ccm.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)

KEY_PREFIX = "ccm_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class Role(enum.StrEnum):
    """What a key may do. A key holds one or more roles; no role implies another."""

    BILLING = "billing"  # request documents, one at a time and in batches
    MARKETING = "marketing"  # brands, templates, versions, previews
    AUDITOR = "auditor"  # read-only: documents, their content and customer traces
    ADMIN = "admin"  # API keys


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the key's name (recorded on what it makes) and its roles."""

    name: str
    roles: frozenset[Role]

    def require(self, allowed: Iterable[Role]) -> None:
        allowed = frozenset(allowed)
        if not self.roles & allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise PermissionDeniedError(
                f"API key {self.name!r} lacks the role this needs ({names})"
            )


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InputError(f"unknown role {value!r}: expected one of {known}") from None
    if not roles:
        raise InputError("an API key needs at least one role")
    return frozenset(roles)


def create_api_key(session: Session, name: str, roles: Iterable[str]) -> tuple[ApiKey, str]:
    """A new key; returns its row and the key itself, which is not kept anywhere."""
    if not _NAME.match(name):
        raise InputError(
            f"API key name {name!r} must be 1–100 letters, digits, '.', '_', '@' or '-'"
        )
    parsed = parse_roles(roles)
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ConflictError(f"an API key named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[:12], key_sha256=hash_key(key),
                 roles=sorted(r.value for r in parsed))
    session.add(row)
    session.flush()
    return row, key


def authenticate(session: Session, key: str | None) -> Principal:
    """The principal a presented key stands for; any doubt is an AuthenticationError."""
    if not key:
        raise AuthenticationError("an API key is required (Authorization: Bearer <key>)")
    digest = hash_key(key)
    row = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == digest))
    # The lookup is by hash, so timing says nothing about the key; compare anyway.
    if row is None or not hmac.compare_digest(row.key_sha256, digest):
        raise AuthenticationError("the API key is not valid")
    if row.revoked_at is not None:
        raise AuthenticationError("the API key was revoked")
    return Principal(row.name, frozenset(Role(r) for r in row.roles))


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.name)).all()


def revoke_api_key(session: Session, name: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise NotFoundError(f"no API key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row
