"""Studio sign-in and sessions, without a browser: the cookie is signed and never the key;
its length is a setting; forged, expired and revoked sessions are refused; unsafe requests
need the CSRF token (also when their body is not JSON); and a bearer key works exactly as
before, cookie or not."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from studio_support import StudioDatabase, csrf_of, promotion_request, signed_in
from typer.testing import CliRunner

from ccm.api import create_app
from ccm.auth.models import ApiKey
from ccm.auth.service import create_api_key, revoke_api_key
from ccm.cli import app as cli_app
from ccm.config import Settings
from ccm.web.session import CSRF_HEADER, SESSION_COOKIE, session_seconds, sign_in

PREVIEW = "/v1/templates/loyalty-offer/preview"
PREVIEW_BODY = {"content": None, "channels": ["sms"]}


def test_sign_in_sets_a_signed_http_only_strict_cookie_not_the_key(
        client: TestClient, database: StudioDatabase) -> None:
    key = database.keys["ana"]
    reply = client.post("/studio/sign-in", data={"api_key": key, "next": "/studio/brands"})
    assert reply.status_code == 303
    assert reply.headers["location"] == "/studio/brands"
    set_cookie = reply.headers["set-cookie"]
    assert set_cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie or "SameSite=Strict" in set_cookie
    assert "Path=/" in set_cookie
    assert f"Max-Age={8 * 3600}" in set_cookie  # CCM_STUDIO_SESSION_HOURS' default
    cookie = client.cookies[SESSION_COOKIE]
    assert key not in cookie and key[4:] not in cookie
    assert client.get("/studio/brands").status_code == 200


def test_only_valid_marketing_keys_sign_in(client: TestClient,
                                           database: StudioDatabase) -> None:
    billing = client.post("/studio/sign-in", data={"api_key": database.keys["billing"]})
    assert billing.status_code == 403
    assert "marketing role" in billing.text
    garbage = client.post("/studio/sign-in", data={"api_key": "ccm_not-a-key"})
    assert garbage.status_code == 401
    assert "not valid" in garbage.text
    empty = client.post("/studio/sign-in", data={"api_key": ""})
    assert empty.status_code == 401
    assert SESSION_COOKIE not in client.cookies


def test_pages_without_a_session_send_you_to_sign_in(client: TestClient) -> None:
    reply = client.get("/studio/templates/loyalty-offer?version=1")
    assert reply.status_code == 303
    assert reply.headers["location"] == (
        "/studio/sign-in?next=%2Fstudio%2Ftemplates%2Floyalty-offer%3Fversion%3D1")
    form = client.get(reply.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/studio/templates/loyalty-offer?version=1"' in form.text


def test_sign_in_sends_you_back_only_to_studio_pages(client: TestClient,
                                                     database: StudioDatabase) -> None:
    for target in ("https://evil.example/studio", "//evil.example/studio", "/v1/templates",
                   "/studio/sign-out"):
        reply = client.post("/studio/sign-in",
                            data={"api_key": database.keys["ana"], "next": target})
        assert reply.headers["location"] == "/studio", target


def test_a_session_reads_the_api_and_writes_only_with_its_csrf_token(
        client: TestClient, database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    assert client.get("/v1/templates").status_code == 200
    missing = client.post(PREVIEW, json=PREVIEW_BODY)
    assert missing.status_code == 403
    assert missing.json()["code"] == "forbidden"
    assert CSRF_HEADER in missing.json()["detail"]
    wrong = client.post(PREVIEW, json=PREVIEW_BODY, headers={CSRF_HEADER: "x" * 43})
    assert wrong.status_code == 403
    token = csrf_of(client)
    right = client.post(PREVIEW, json=PREVIEW_BODY, headers={CSRF_HEADER: token})
    assert right.status_code == 200, right.text
    assert right.json()["renders"]["sms"]["segments"] == 2


def test_a_csrf_token_belongs_to_one_session(client: TestClient,
                                             database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    token = csrf_of(client)
    signed_in(client, database.keys["ana"])  # a new session: a new token
    assert client.post(PREVIEW, json=PREVIEW_BODY, headers={CSRF_HEADER: token}
                       ).status_code == 403


def test_a_forged_session_is_refused(client: TestClient, database: StudioDatabase) -> None:
    cookie = signed_in(client, database.keys["ana"])
    payload, _, signature = cookie.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    with database.unit_of_work() as session:
        ben = session.scalar(select(ApiKey).where(ApiKey.name == "ben"))
        assert ben is not None
        fields.update(k=ben.id, n="ben")
    forged_payload = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    huge = base64.urlsafe_b64encode(json.dumps({**fields, "k": 2**70}).encode()).decode()
    for forged in (f"{forged_payload}.{signature}", f"{payload}.{signature[:-2]}AA",
                   "not-a-session", f"{payload}.", f"{payload}.{signature[:-1]}é",
                   f"{huge}.{signature}", "é.é", "."):
        client.cookies.clear()
        # As raw bytes: a forger's cookie need not be ASCII.
        cookie_header = {"Cookie": f"{SESSION_COOKIE}={forged}".encode("latin-1")}
        reply = client.get("/v1/templates", headers=cookie_header)  # type: ignore[dict-item]
        assert reply.status_code == 401, forged
        assert reply.json()["code"] == "unauthenticated"
        page = client.get("/studio", headers=cookie_header)  # type: ignore[dict-item]
        assert page.status_code == 303
        assert "ended=session" in page.headers["location"]


def test_an_expired_session_is_refused(client: TestClient, database: StudioDatabase) -> None:
    seconds = session_seconds(database.settings)
    with database.unit_of_work() as session:
        old = sign_in(session, database.keys["ana"], seconds=seconds,
                      now=time.time() - seconds - 1)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, old.cookie)
    reply = client.get("/v1/templates")
    assert reply.status_code == 401
    assert "ended" in reply.json()["detail"]
    page = client.get("/studio/brands")
    assert page.status_code == 303
    assert page.headers["location"] == "/studio/sign-in?next=%2Fstudio%2Fbrands&ended=session"
    assert page.headers["set-cookie"].startswith(f'{SESSION_COOKIE}=""')  # cleared
    assert "Max-Age=0" in page.headers["set-cookie"]


@pytest.fixture
def short_sessions(database: StudioDatabase) -> Iterator[TestClient]:
    """The app with ``CCM_STUDIO_SESSION_HOURS=0.25``."""
    settings = database.settings.model_copy(update={"studio_session_hours": 0.25})
    with TestClient(create_app(settings, run_batches=False),
                    follow_redirects=False) as client:
        yield client


def test_the_session_length_is_a_setting(short_sessions: TestClient,
                                         database: StudioDatabase) -> None:
    assert "session for 15 minutes," in short_sessions.get("/studio/sign-in").text
    before = int(time.time())
    reply = short_sessions.post("/studio/sign-in", data={"api_key": database.keys["ana"]})
    assert reply.status_code == 303
    assert "Max-Age=900" in reply.headers["set-cookie"]
    payload = short_sessions.cookies[SESSION_COOKIE].partition(".")[0]
    expires = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["e"]
    assert before + 900 <= expires <= time.time() + 900
    assert short_sessions.get("/studio/brands").status_code == 200
    short_sessions.cookies.clear()


def test_a_session_past_the_setting_sends_you_to_sign_in(short_sessions: TestClient,
                                                          database: StudioDatabase) -> None:
    with database.unit_of_work() as session:
        # Signed in 16 minutes ago: past the 15 the setting allows.
        old = sign_in(session, database.keys["ana"], seconds=900, now=time.time() - 960)
    short_sessions.cookies.set(SESSION_COOKIE, old.cookie)
    page = short_sessions.get("/studio/templates/loyalty-offer")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/studio/sign-in?")
    assert "ended=session" in page.headers["location"]
    form = short_sessions.get(page.headers["location"])
    assert "Your session has ended" in form.text
    assert short_sessions.get("/v1/templates").status_code == 401


def test_the_session_length_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCM_STUDIO_SESSION_HOURS", "2.5")
    assert session_seconds(Settings()) == 9000
    for wrong in ("0", "-1"):
        monkeypatch.setenv("CCM_STUDIO_SESSION_HOURS", wrong)
        with pytest.raises(ValidationError, match="studio_session_hours"):
            Settings()


def test_a_session_ends_when_its_key_is_revoked(client: TestClient,
                                                database: StudioDatabase) -> None:
    with database.unit_of_work() as session:
        _, key = create_api_key(session, "cara", ["marketing"])
    signed_in(client, key)
    assert client.get("/v1/templates").status_code == 200
    with database.unit_of_work() as session:
        revoke_api_key(session, "cara")
    reply = client.get("/v1/templates")
    assert reply.status_code == 401
    assert "revoked" in reply.json()["detail"]
    assert client.get("/studio").status_code == 303


def test_sign_out_clears_the_cookie(client: TestClient, database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    reply = client.post("/studio/sign-out")
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/studio/sign-in")
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/v1/templates").status_code == 401


def test_a_bearer_key_wins_over_a_session_cookie(client: TestClient,
                                                 database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    billing = {"Authorization": f"Bearer {database.keys['billing']}"}
    # The billing key is who asks, whatever the cookie says: it lacks marketing.
    refused = client.post(PREVIEW, json=PREVIEW_BODY, headers=billing)
    assert refused.status_code == 403
    assert "billing" in refused.json()["detail"]
    # A key needs no CSRF token; a bad key is refused even with a good cookie.
    marketing = {"Authorization": f"Bearer {database.keys['ben']}"}
    assert client.post(PREVIEW, json=PREVIEW_BODY, headers=marketing).status_code == 200
    bad = client.get("/v1/templates", headers={"Authorization": "Bearer ccm_nope"})
    assert bad.status_code == 401
    basic = client.get("/v1/templates", headers={"Authorization": "Basic YW5hOnB3"})
    assert basic.status_code == 401
    document = client.post("/v1/documents", content=promotion_request("sms"),
                           headers={**billing, "Content-Type": "application/json"})
    assert document.status_code == 201, document.text


def test_a_session_is_marketing_only(client: TestClient, database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    reply = client.post("/v1/documents", content=promotion_request("sms"),
                        headers={"Content-Type": "application/json",
                                 CSRF_HEADER: csrf_of(client)})
    assert reply.status_code == 403


BROKEN_JSON = b'{"content": null, "channels": ["sms"'


def test_a_body_that_is_not_json_is_400_for_a_signed_in_user(
        client: TestClient, database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    reply = client.post(PREVIEW, content=BROKEN_JSON,
                        headers={"Content-Type": "application/json",
                                 CSRF_HEADER: csrf_of(client)})
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "malformed_body"


def test_a_body_that_is_not_json_does_not_get_past_the_csrf_check(
        client: TestClient, database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    json_body = {"Content-Type": "application/json"}
    for headers in (json_body, {**json_body, CSRF_HEADER: "x" * 43}):
        reply = client.post(PREVIEW, content=BROKEN_JSON, headers=headers)
        assert reply.status_code == 403, reply.text
        assert reply.json()["code"] == "forbidden"
        assert CSRF_HEADER in reply.json()["detail"]
    # With the token, a session still lacks the billing role.
    refused = client.post("/v1/documents", content=BROKEN_JSON,
                          headers={**json_body, CSRF_HEADER: csrf_of(client)})
    assert refused.status_code == 403


def test_a_body_that_is_not_json_without_a_caller_is_401(client: TestClient,
                                                         database: StudioDatabase) -> None:
    json_body = {"Content-Type": "application/json"}
    reply = client.post(PREVIEW, content=BROKEN_JSON, headers=json_body)
    assert reply.status_code == 401
    assert reply.json()["code"] == "unauthenticated"
    client.cookies.set(SESSION_COOKIE, "not-a-session")
    forged = client.post(PREVIEW, content=BROKEN_JSON, headers={**json_body,
                                                               CSRF_HEADER: "x" * 43})
    assert forged.status_code == 401
    # A key wins over the cookie, and needs no CSRF token.
    marketing = {**json_body, "Authorization": f"Bearer {database.keys['ben']}"}
    assert client.post(PREVIEW, content=BROKEN_JSON, headers=marketing).status_code == 400


def test_serve_names_the_studio_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    result = CliRunner().invoke(cli_app, [
        "serve", "--host", "127.0.0.1", "--port", "8123", "--no-batches", "--no-worker",
        "--database-url", f"sqlite:///{tmp_path / 'ccm.db'}"])
    assert result.exit_code == 0, result.output
    assert "docs at http://127.0.0.1:8123/docs" in result.stderr
    assert "studio at http://127.0.0.1:8123/studio" in result.stderr
    assert served and served[0]["port"] == 8123  # type: ignore[index]


def test_studio_pages_forbid_outside_content(client: TestClient,
                                             database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    for path in ("/studio", "/studio/templates/loyalty-offer", "/studio/brands/northwind",
                 "/studio/blocks/letterhead", "/studio/templates/loyalty-offer/diff?from=1&to=1",
                 "/studio/sign-in"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        policy = reply.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        sources = re.findall(r'(?:src|href)="([^"#]+)"', reply.text)
        assert sources and all(s.startswith(("/", "data:")) for s in sources), (path, sources)


def test_unknown_things_get_a_page_saying_so(client: TestClient,
                                             database: StudioDatabase) -> None:
    signed_in(client, database.keys["ana"])
    for path in ("/studio/templates/nope", "/studio/templates/loyalty-offer?version=99",
                 "/studio/brands/nope", "/studio/blocks/nope"):
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert "text/html" in reply.headers["content-type"]
        assert 'role="alert"' in reply.text


def test_the_vendored_editor_is_served_with_its_licence(client: TestClient) -> None:
    for path in ("vendor/codemirror/lib/codemirror.js", "vendor/codemirror/LICENSE",
                 "vendor/codemirror/mode/jinja2/jinja2.js", "editor.js", "studio.css"):
        assert client.get(f"/studio/static/{path}").status_code == 200, path
