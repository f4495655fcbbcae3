"""Studio sessions: a signed cookie made from a marketing API key, never the key itself.

A session names the key (its row id and name) and when it ends; it is signed with this
installation's studio secret (HMAC-SHA256) *and* the key's stored hash, so it dies with
the key: a revoked key, a key that lost the marketing role, or a key row replaced under
the same name all refuse the session on the next request. Each session has a CSRF token
derived from it, which the studio's pages hand to their scripts; requests that change
something must send it back in ``X-CCM-CSRF`` (a cookie alone, which a browser attaches
to any request, is not enough).

Nothing here knows HTTP beyond the cookie's value: the API's key check and the studio's
pages both call :func:`session_principal`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.auth.models import ApiKey
from ccm.auth.service import Principal, Role, authenticate
from ccm.config import Settings
from ccm.delivery.secrets import instance_secret
from ccm.errors import AuthenticationError, PermissionDeniedError

#: The cookie that carries a studio session.
SESSION_COOKIE = "ccm_studio"
#: The header unsafe requests made with a session cookie carry the session's CSRF token in.
CSRF_HEADER = "X-CCM-CSRF"
#: The studio is marketing's: only keys holding this role may sign in.
STUDIO_ROLE = Role.MARKETING
#: Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_SECRET_NAME = "studio"


def studio_secret(session: Session) -> bytes:
    """This installation's key for signing sessions (kept in the database, so sessions
    outlive restarts and work across processes)."""
    return instance_secret(session, _SECRET_NAME)


@dataclass(frozen=True, slots=True)
class StudioSession:
    """A signed-in user: the key they signed in with and when the session ends."""

    key_id: int
    key_name: str
    expires_at: int  # Unix time
    cookie: str  # the signed value, as set in the cookie


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str, key_sha256: str) -> str:
    message = f"session\x00{payload}\x00{key_sha256}".encode()
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def sign_in(session: Session, key: str, *, seconds: int, now: float | None = None
            ) -> StudioSession:
    """A session ending ``seconds`` from now for the holder of ``key``, which must be
    valid and hold the marketing role (AuthenticationError, PermissionDeniedError
    otherwise). Its length is ``studio_session_hours``; see :func:`session_seconds`."""
    caller = authenticate(session, key.strip())
    caller.require([STUDIO_ROLE])
    row = session.scalar(select(ApiKey).where(ApiKey.name == caller.name))
    assert row is not None
    expires = int(now if now is not None else time.time()) + seconds
    payload = _b64(json.dumps({"k": row.id, "n": row.name, "e": expires,
                               "r": secrets.token_urlsafe(12)}).encode())
    cookie = f"{payload}.{_signature(studio_secret(session), payload, row.key_sha256)}"
    return StudioSession(row.id, row.name, expires, cookie)


def session_seconds(settings: Settings) -> int:
    """How long a session lasts after sign-in, from ``CCM_STUDIO_SESSION_HOURS``."""
    return max(1, round(settings.studio_session_hours * 3600))


def read_session(session: Session, cookie: str | None, *, now: float | None = None
                 ) -> StudioSession:
    """The session a cookie holds, if it is genuine, unexpired and its key still valid;
    any doubt is an AuthenticationError."""
    if not cookie:
        raise AuthenticationError("sign in to the studio, or send an API key "
                                  "(Authorization: Bearer <key>)")
    invalid = AuthenticationError("the studio session is not valid; sign in again")
    payload, _, signature = cookie.partition(".")
    try:
        fields = json.loads(_unb64(payload))
        key_id, name, expires = int(fields["k"]), str(fields["n"]), int(fields["e"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid from None
    if not 0 < key_id < 2**63:  # what a row id can be; anything else is forged
        raise invalid
    row = session.get(ApiKey, key_id)
    expected = _signature(studio_secret(session), payload,
                          row.key_sha256 if row is not None else "")
    if row is None or row.name != name or not hmac.compare_digest(
            signature.encode(), expected.encode()):
        raise invalid
    if expires <= (now if now is not None else time.time()):
        raise AuthenticationError("the studio session has ended; sign in again")
    if row.revoked_at is not None:
        raise AuthenticationError("the API key this session was made from was revoked")
    return StudioSession(row.id, row.name, expires, cookie)


def session_principal(session: Session, cookie: str | None, *, now: float | None = None
                      ) -> Principal:
    """Who a studio session stands for, with the roles its key holds now; a key that no
    longer holds the marketing role ends the session."""
    studio = read_session(session, cookie, now=now)
    row = session.get(ApiKey, studio.key_id)
    assert row is not None
    caller = Principal(row.name, frozenset(Role(r) for r in row.roles))
    try:
        caller.require([STUDIO_ROLE])
    except PermissionDeniedError:
        raise AuthenticationError(f"API key {row.name!r} no longer holds the marketing role; "
                                  "the studio session has ended") from None
    return caller


def csrf_token(secret: bytes, cookie: str) -> str:
    """The CSRF token of the session ``cookie``: whoever can read the studio's pages has
    it; a page on another site cannot."""
    return _b64(hmac.new(secret, f"csrf\x00{cookie}".encode(), hashlib.sha256).digest())


def check_csrf(session: Session, cookie: str, presented: str | None) -> None:
    """PermissionDeniedError unless ``presented`` is the session's CSRF token."""
    expected = csrf_token(studio_secret(session), cookie)
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise PermissionDeniedError(
            f"a studio request that changes something must carry the session's CSRF token "
            f"in {CSRF_HEADER}")
