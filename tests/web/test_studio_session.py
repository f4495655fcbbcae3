"""Studio sign-in and sessions, without a browser: the cookie is signed and never the key;
forged, expired and revoked sessions are refused; unsafe requests need the CSRF token;
and a bearer key works exactly as before, cookie or not."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from studio_support import StudioDatabase, promotion_request

from ccm.api import create_app
from ccm.auth.models import ApiKey
from ccm.auth.service import create_api_key, revoke_api_key
from ccm.web.session import CSRF_HEADER, SESSION_COOKIE, SESSION_SECONDS, sign_in

PREVIEW = "/v1/templates/loyalty-offer/preview"
PREVIEW_BODY = {"content": None, "channels": ["sms"]}


@pytest.fixture(scope="module")
def app_client(database: StudioDatabase) -> Iterator[TestClient]:
    with TestClient(create_app(database.settings, run_batches=False),
                    follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(app_client: TestClient) -> Iterator[TestClient]:
    app_client.cookies.clear()
    yield app_client
    app_client.cookies.clear()


def signed_in(client: TestClient, key: str, next_page: str = "/studio") -> str:
    reply = client.post("/studio/sign-in", data={"api_key": key, "next": next_page})
    assert reply.status_code == 303, reply.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def csrf_of(client: TestClient) -> str:
    page = client.get("/studio")
    assert page.status_code == 200, page.text
    found = re.search(r'<meta name="ccm-csrf" content="([^"]+)">', page.text)
    assert found is not None
    return found.group(1)


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
    assert f"Max-Age={SESSION_SECONDS}" in set_cookie
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
    with database.unit_of_work() as session:
        old = sign_in(session, database.keys["ana"], now=time.time() - SESSION_SECONDS - 1)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, old.cookie)
    reply = client.get("/v1/templates")
    assert reply.status_code == 401
    assert "ended" in reply.json()["detail"]


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
