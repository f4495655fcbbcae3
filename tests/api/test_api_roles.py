"""Who may call what: every route × every role, and no key; revoked, garbage and misplaced
keys; keys made with ``ccm apikey create``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import fastapi.routing
import httpx2 as httpx
import pytest
from api_support import Api, new_customer, promotion_request, publish_reviewed, to_json
from fastapi import FastAPI
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from ccm.auth.models import ApiKey
from ccm.cli import app as cli_app
from ccm.db import make_session_factory, unit_of_work

NO_KEY = "none"
ROLES = ["billing", "marketing", "auditor", "admin"]
CALLERS = [NO_KEY, *ROLES]

BILLING = frozenset({"billing"})
BILLING_OR_AUDITOR = frozenset({"billing", "auditor"})
AUDITOR = frozenset({"auditor"})
MARKETING = frozenset({"marketing"})
MARKETING_OR_AUDITOR = frozenset({"marketing", "auditor"})
BILLING_OR_MARKETING = frozenset({"billing", "marketing"})
READERS = frozenset({"billing", "marketing", "auditor"})
ADMIN = frozenset({"admin"})
PUBLIC = None  # no key needed

LOGO_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10">'
            b'<rect width="40" height="10" fill="#0b5d4b"/></svg>')


@dataclass(frozen=True)
class Samples:
    """Real things for the sample paths and bodies to name."""

    document: str
    batch: str
    customer: str
    brand: str
    template: str
    asset: str
    key_name: str
    block: str
    tokens: dict[str, Any] = field(hash=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sms_content(**extra: Any) -> dict[str, Any]:
    return {"journey": "utility-customer", "stage": "payment-reminder",
            "bodies": {"sms": "Hello {{ name }}, {{ brand.company_name }} here."},
            "data_schema": {"type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string"}}},
            "sample_data": {"name": "Ada"}, **extra}


Body = Callable[[Samples], Any]

PROFILE = {"name": "Ada Roles", "locale": "en_GB", "email": "ada@example.org",
           "preferred_channel": "email"}


def stock_journey() -> dict[str, Any]:
    import yaml

    from ccm.stock import STOCK_DIR

    loaded: dict[str, Any] = yaml.safe_load(
        (STOCK_DIR / "journeys" / "utility-customer.yaml").read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the app declares it
    sample: str  # a concrete path: ``{field}`` names a field of Samples
    roles: frozenset[str] | None  # None: no key needed
    ok: int  # what an allowed caller gets for the sample request
    body: Body | None = None
    content_type: str = "application/json"

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


#: Every route of the API, who may call it and what a sample request gets. A route missing
#: here fails test_the_matrix_covers_every_route.
ROUTES = [
    Route("POST", "/v1/documents", "/v1/documents", BILLING, 201,
          lambda s: promotion_request(new_customer(), "sms")),
    Route("GET", "/v1/documents/{communication_id}", "/v1/documents/{document}",
          BILLING_OR_AUDITOR, 200),
    Route("GET", "/v1/documents/{communication_id}/content", "/v1/documents/{document}/content",
          BILLING_OR_AUDITOR, 200),
    Route("POST", "/v1/documents/batch", "/v1/documents/batch", BILLING, 202,
          lambda s: {"items": [promotion_request(new_customer(), "sms")]}),
    Route("GET", "/v1/batches/{batch_id}", "/v1/batches/{batch}", BILLING_OR_AUDITOR, 200),
    Route("GET", "/v1/customers/{customer_id}/communications",
          "/v1/customers/{customer}/communications", AUDITOR, 200),
    Route("GET", "/v1/brands", "/v1/brands", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/brands", "/v1/brands", MARKETING, 201,
          lambda s: {"key": unique("roles-new"), "name": "Roles", "tokens": s.tokens}),
    Route("GET", "/v1/brands/{key}", "/v1/brands/{brand}", MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/brands/{key}/versions", "/v1/brands/{brand}/versions",
          MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/brands/{key}/versions", "/v1/brands/{brand}/versions", MARKETING, 201,
          lambda s: {"tokens": s.tokens}),
    Route("GET", "/v1/brands/{key}/versions/{version}", "/v1/brands/{brand}/versions/1",
          MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/brands/{key}/versions/{version}/contrast",
          "/v1/brands/{brand}/versions/1/contrast", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/brands/{key}/versions/{version}/publish",
          "/v1/brands/{brand}/versions/1/publish", MARKETING, 200),
    # The sample brand has no parent: every caller that may knock is told so.
    Route("POST", "/v1/brands/{key}/rebase", "/v1/brands/{brand}/rebase", MARKETING, 422,
          lambda s: {}),
    Route("GET", "/v1/templates", "/v1/templates", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/templates", "/v1/templates", MARKETING, 201,
          lambda s: {"key": unique("roles-new"), "kind": "notice", "brand": s.brand,
                     "version": sms_content()}),
    Route("GET", "/v1/templates/{key}", "/v1/templates/{template}", MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/templates/{key}/versions", "/v1/templates/{template}/versions",
          MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/templates/{key}/versions", "/v1/templates/{template}/versions",
          MARKETING, 201, lambda s: sms_content()),
    Route("GET", "/v1/templates/{key}/versions/{version}", "/v1/templates/{template}/versions/1",
          MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/blocks/{key}/where-used", "/v1/blocks/letterhead/where-used",
          MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/blocks", "/v1/blocks", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/blocks", "/v1/blocks", MARKETING, 201,
          lambda s: {"key": unique("roles-new"), "kind": "block", "source": "<p>New</p>"}),
    Route("GET", "/v1/blocks/{key}", "/v1/blocks/{block}", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/blocks/{key}/versions", "/v1/blocks/{block}/versions", MARKETING, 201,
          lambda s: {"source": "<p>Roles again</p>"}),
    Route("GET", "/v1/blocks/{key}/versions/{version}", "/v1/blocks/{block}/versions/1",
          MARKETING_OR_AUDITOR, 200),
    # The stock letterhead is in use: deleting it is refused every time.
    Route("DELETE", "/v1/blocks/{key}", "/v1/blocks/letterhead", MARKETING, 409),
    Route("POST", "/v1/templates/{key}/preview", "/v1/templates/{template}/preview",
          MARKETING, 200, lambda s: {"channels": ["sms"]}),
    Route("GET", "/v1/templates/{key}/versions/{version}/lint",
          "/v1/templates/{template}/versions/1/lint", MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/templates/{key}/diff", "/v1/templates/{template}/diff?from=1&to=1",
          MARKETING_OR_AUDITOR, 200),
    Route("PUT", "/v1/templates/{key}/versions/{version}",
          "/v1/templates/{template}/versions/2", MARKETING, 200, lambda s: sms_content()),
    # Lifecycle steps: a published version publishes again as a no-op; the others are
    # taken on states that refuse them (409), which still shows who may knock.
    Route("POST", "/v1/templates/{key}/versions/{version}/publish",
          "/v1/templates/{template}/versions/1/publish", MARKETING, 200, lambda s: {}),
    Route("POST", "/v1/templates/{key}/versions/{version}/submit",
          "/v1/templates/{template}/versions/1/submit", MARKETING, 409, lambda s: {}),
    Route("POST", "/v1/templates/{key}/versions/{version}/approve",
          "/v1/templates/{template}/versions/2/approve", MARKETING, 409, lambda s: {}),
    Route("POST", "/v1/templates/{key}/versions/{version}/request-changes",
          "/v1/templates/{template}/versions/2/request-changes", MARKETING, 409,
          lambda s: {"comment": "no"}),
    Route("POST", "/v1/templates/{key}/versions/{version}/retire",
          "/v1/templates/{template}/versions/2/retire", MARKETING, 409, lambda s: {}),
    Route("POST", "/v1/templates/{key}/rollback", "/v1/templates/{template}/rollback",
          MARKETING, 201, lambda s: {"to_version": 1}),
    Route("GET", "/v1/templates/{key}/versions/{version}/translations",
          "/v1/templates/{template}/versions/1/translations", MARKETING_OR_AUDITOR, 200),
    Route("GET", "/v1/templates/{key}/versions/{version}/history",
          "/v1/templates/{template}/versions/1/history", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/templates/{key}/versions/{version}/preview",
          "/v1/templates/{template}/versions/1/preview", MARKETING, 200,
          lambda s: {"channel": "sms"}),
    Route("POST", "/v1/assets", "/v1/assets", MARKETING, 201, lambda s: LOGO_SVG,
          content_type="image/svg+xml"),
    Route("GET", "/v1/assets/{sha256}", "/v1/assets/{asset}", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/api-keys", "/v1/api-keys", ADMIN, 201,
          lambda s: {"name": unique("roles-made"), "roles": ["auditor"]}),
    Route("GET", "/v1/api-keys", "/v1/api-keys", ADMIN, 200),
    Route("DELETE", "/v1/api-keys/{name}", "/v1/api-keys/{key_name}", ADMIN, 200),
    Route("GET", "/v1/health", "/v1/health", PUBLIC, 200),
    Route("PUT", "/v1/customers/{customer_id}", "/v1/customers/{customer}", BILLING, 200,
          lambda s: PROFILE),
    Route("GET", "/v1/customers/{customer_id}", "/v1/customers/{customer}", READERS, 200),
    Route("POST", "/v1/customers/{customer_id}/consents", "/v1/customers/{customer}/consents",
          BILLING_OR_MARKETING, 200,
          lambda s: {"channel": "sms", "purpose": "marketing", "granted": False,
                     "source": "roles test"}),
    Route("GET", "/v1/customers/{customer_id}/consents", "/v1/customers/{customer}/consents",
          READERS, 200),
    Route("GET", "/v1/customers/{customer_id}/journeys", "/v1/customers/{customer}/journeys",
          READERS, 200),
    Route("POST", "/v1/events", "/v1/events", BILLING, 200,
          lambda s: {"event_id": unique("roles-event"), "customer_id": s.customer,
                     "type": "contract_ended", "occurred_at": "2026-11-20T09:30:00Z"}),
    Route("GET", "/v1/journeys", "/v1/journeys", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/journeys", "/v1/journeys", MARKETING, 200, lambda s: stock_journey()),
    Route("GET", "/v1/journeys/{key}", "/v1/journeys/utility-customer", MARKETING_OR_AUDITOR,
          200),
    Route("GET", "/v1/journeys/{key}/versions/{version}",
          "/v1/journeys/utility-customer/versions/1", MARKETING_OR_AUDITOR, 200),
    Route("POST", "/v1/journeys/{key}/versions/{version}/publish",
          "/v1/journeys/utility-customer/versions/1/publish", MARKETING, 200),
    # Signed by a shared secret, not a key: unsigned reports are refused.
    Route("POST", "/v1/webhooks/{provider}", "/v1/webhooks/sms-http", PUBLIC, 401),
    # Reached from customers' mail: signed links, no key; a forged link is not found.
    Route("GET", "/t/o/{token}", "/t/o/forged.gif", PUBLIC, 404),
    Route("GET", "/t/c/{token}", "/t/c/forged", PUBLIC, 404),
    Route("GET", "/u/{token}", "/u/forged", PUBLIC, 404),
    Route("POST", "/u/{token}", "/u/forged", PUBLIC, 404),
]


@pytest.fixture(scope="module")
def samples(api: Api) -> Samples:
    """A document, a batch, a brand, a template, an asset and a key for the matrix to use;
    its own brand and template, so that new versions leave the stock registry alone."""
    customer = new_customer()
    made = api.client.put(f"/v1/customers/{customer}", content=to_json(PROFILE),
                          headers=api.auth("billing", **{"Content-Type": "application/json"}))
    assert made.status_code == 201, made.text
    document = api.post("/v1/documents", promotion_request(customer, "sms"))
    assert document.status_code == 201, document.text
    batch = api.post("/v1/documents/batch",
                     {"items": [promotion_request(new_customer(), "sms")]})
    assert batch.status_code == 202, batch.text

    stock = api.get("/v1/brands/northwind/versions", role="marketing")
    assert stock.status_code == 200, stock.text
    tokens = [v for v in stock.json() if v["status"] == "published"][-1]["tokens"]
    brand = unique("roles")
    made = api.post("/v1/brands", {"key": brand, "name": "Roles Energy", "tokens": tokens},
                    role="marketing")
    assert made.status_code == 201, made.text
    # Published by another key than its author, so every caller's publish is a no-op.
    made = api.post(f"/v1/brands/{brand}/versions/1/publish", None, role="all")
    assert made.status_code == 200, made.text
    template = unique("roles-sms")
    made = api.post("/v1/templates", {"key": template, "kind": "notice", "brand": brand,
                                      "version": sms_content()}, role="marketing")
    assert made.status_code == 201, made.text
    assert publish_reviewed(api, template, 1).status_code == 200
    # Version 2 stays a draft: the lifecycle steps the matrix takes on it are refused the
    # same way every time (approving a draft), so each caller gets the same answer.
    made = api.post(f"/v1/templates/{template}/versions", sms_content(), role="marketing")
    assert made.status_code == 201 and made.json()["version"] == 2, made.text
    key_name = unique("roles-doomed")
    made = api.post("/v1/api-keys", {"name": key_name, "roles": ["billing"]}, role="admin")
    assert made.status_code == 201, made.text
    block = unique("roles-block")
    made = api.post("/v1/blocks", {"key": block, "kind": "block", "source": "<p>Roles</p>"},
                    role="marketing")
    assert made.status_code == 201, made.text
    return Samples(document=document.json()["id"], batch=batch.json()["id"], customer=customer,
                   brand=brand, template=template, asset=tokens["logo"]["svg"],
                   key_name=key_name, block=block, tokens=tokens)


def send(api: Api, route: Route, samples: Samples, caller: str) -> httpx.Response:
    headers = {"Content-Type": route.content_type} if route.body is not None else {}
    if caller != NO_KEY:
        headers = api.auth(caller, **headers)
    body = route.body(samples) if route.body is not None else None
    content = None if body is None else body if isinstance(body, bytes) else to_json(body)
    path = route.sample.format(**asdict(samples))
    return api.client.request(route.method, path, content=content, headers=headers)


def assert_problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["detail"]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_role_matrix(api: Api, samples: Samples, route: Route, caller: str) -> None:
    reply = send(api, route, samples, caller)
    if route.roles is PUBLIC:
        assert reply.status_code == route.ok, reply.text
    elif caller == NO_KEY:
        assert_problem(reply, 401, "unauthenticated")
        assert reply.headers["www-authenticate"].lower().startswith("bearer")
    elif caller not in route.roles:
        assert_problem(reply, 403, "forbidden")
        assert "www-authenticate" not in reply.headers
        needed = reply.json()["detail"].rsplit("(", 1)[-1]
        assert all(role in needed for role in route.roles), needed  # names the roles needed
    else:
        assert reply.status_code == route.ok, reply.text


JSON_ROUTES = [r for r in ROUTES if r.body is not None and r.content_type == "application/json"]


@pytest.mark.parametrize("body", [b"{not json", b"[" * 50_000], ids=["broken", "too-deep"])
@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.id)
def test_no_key_is_401_and_no_role_403_even_with_a_body_that_is_not_json(
        api: Api, samples: Samples, route: Route, body: bytes) -> None:
    """FastAPI reads a JSON body before the key is checked; the caller still gets 401 (no
    valid key) or 403 (no role) before learning anything about the body."""
    path = route.sample.format(**asdict(samples))
    for authorization in ({}, {"Authorization": "Bearer ccm_unknown"}):
        reply = api.client.request(route.method, path, content=body, headers={
            "Content-Type": "application/json", **authorization})
        assert_problem(reply, 401, "unauthenticated")
        assert "www-authenticate" in reply.headers
    denied = sorted({"billing", "marketing", "auditor", "admin"} - set(route.roles or ()))[0]
    reply = api.client.request(route.method, path, content=body,
                               headers=api.auth(denied, **{"Content-Type": "application/json"}))
    assert_problem(reply, 403, "forbidden")
    allowed = sorted(route.roles or ())[0]
    reply = api.client.request(route.method, path, content=body,
                               headers=api.auth(allowed, **{"Content-Type": "application/json"}))
    assert_problem(reply, 400, "malformed_body")


def declared_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves under /v1, however FastAPI nests
    included routers."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Any = iterate(app.routes) if iterate is not None else app.routes
    found: set[tuple[str, str]] = set()
    for route in routes:
        path = getattr(route, "path", None) or ""
        if path.startswith(("/v1", "/t/", "/u/")):
            for method in getattr(route, "methods", None) or {"*"}:
                if method != "HEAD":
                    found.add((method, path))
    return found


def test_the_matrix_covers_every_route(api: Api) -> None:
    assert isinstance(api.client.app, FastAPI)
    served = declared_routes(api.client.app)
    listed = {(route.method, route.path) for route in ROUTES}
    assert len(listed) == len(ROUTES), "a route is listed twice"
    assert served == listed, (f"not in the matrix: {sorted(served - listed)}; "
                              f"in the matrix but not served: {sorted(listed - served)}")
    documented = {(method.upper(), path)
                  for path, operations in api.client.get("/openapi.json").json()["paths"].items()
                  for method in operations}
    assert documented == listed


def test_an_unauthenticated_request_does_no_work(api: Api, samples: Samples) -> None:
    customer = new_customer()
    for headers in ({}, api.auth("marketing"), api.auth("auditor")):
        reply = api.client.post("/v1/documents", content=to_json(promotion_request(customer)),
                                headers={**headers, "Content-Type": "application/json",
                                         "Idempotency-Key": unique("refused")})
        assert reply.status_code in {401, 403}
    assert api.communications(customer) == 0


def _status(api: Api, headers: dict[str, str]) -> httpx.Response:
    return api.client.get("/v1/customers/C-1/communications", headers=headers)


def test_a_revoked_key_is_refused(api: Api) -> None:
    name = unique("revoked")
    made = api.post("/v1/api-keys", {"name": name, "roles": ["auditor"]}, role="admin")
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert _status(api, {"Authorization": f"Bearer {key}"}).status_code == 200

    revoked = api.client.delete(f"/v1/api-keys/{name}", headers=api.auth("admin"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    reply = _status(api, {"Authorization": f"Bearer {key}"})
    assert_problem(reply, 401, "unauthenticated")
    assert "revoked" in reply.json()["detail"]
    assert "www-authenticate" in reply.headers
    listed = {k["name"]: k for k in api.get("/v1/api-keys", role="admin").json()}
    assert listed[name]["revoked_at"] is not None
    assert "key" not in listed[name]


@pytest.mark.parametrize("authorization", [
    "Bearer ccm_not-a-key-at-all",
    "Bearer ",
    "Bearer",
    "Bearer \u00e9\u00e9",
    "ccm_garbage",
], ids=["unknown", "empty", "scheme-alone", "non-ascii", "no-scheme"])
def test_a_garbage_key_is_refused(api: Api, authorization: str) -> None:
    reply = api.client.get("/v1/customers/C-1/communications",
                           headers={"Authorization": authorization.encode()})
    assert_problem(reply, 401, "unauthenticated")
    assert "www-authenticate" in reply.headers


@pytest.mark.parametrize("scheme", ["Basic", "Token", "ApiKey"])
def test_a_key_in_the_wrong_scheme_is_refused(api: Api, scheme: str) -> None:
    reply = _status(api, {"Authorization": f"{scheme} {api.keys['auditor']}"})
    assert_problem(reply, 401, "unauthenticated")


@pytest.mark.parametrize("header", ["X-API-Key", "Api-Key", "Cookie"])
def test_a_key_in_another_header_is_refused(api: Api, header: str) -> None:
    reply = _status(api, {header: api.keys["auditor"]})
    assert_problem(reply, 401, "unauthenticated")


def test_a_key_in_the_query_is_refused(api: Api) -> None:
    reply = api.client.get(f"/v1/customers/C-1/communications?api_key={api.keys['auditor']}")
    assert_problem(reply, 401, "unauthenticated")


# -- ccm apikey create ---------------------------------------------------------------


def _cli(engine: Engine, *args: str) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli_app, [*args, "--database-url", url])


def _stored_row(engine: Engine, name: str) -> dict[str, Any]:
    with unit_of_work(make_session_factory(engine)) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == name))
        assert row is not None
        raw = session.execute(text("SELECT * FROM api_keys WHERE name = :name"),
                              {"name": name}).mappings().one()
        return {"sha256": row.key_sha256, "prefix": row.prefix, "raw": dict(raw)}


def test_cli_creates_a_key_that_works_with_its_role_only(api: Api, engine: Engine) -> None:
    name = unique("cli")
    result = _cli(engine, "apikey", "create", "--name", name, "--role", "auditor")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # the key alone on standard output
    key = result.stdout.strip()
    assert key.startswith("ccm_") and len(key) > 40
    assert key not in result.stderr and name in result.stderr

    bearer = {"Authorization": f"Bearer {key}"}
    assert _status(api, bearer).status_code == 200
    assert api.client.get("/v1/brands", headers=bearer).status_code == 200
    assert api.client.get(f"/v1/documents/{uuid.uuid4()}", headers=bearer).status_code == 404
    assert_problem(api.client.get("/v1/api-keys", headers=bearer), 403, "forbidden")
    for path in ("/v1/documents", "/v1/brands"):
        refused = api.client.post(path, content=b"{}", headers={
            **bearer, "Content-Type": "application/json"})
        assert_problem(refused, 403, "forbidden")

    stored = _stored_row(engine, name)
    assert stored["sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(stored["prefix"]) and len(stored["prefix"]) < len(key) // 2
    for column, value in stored["raw"].items():
        assert key not in str(value), f"api_keys.{column} holds the key"
        assert key.removeprefix("ccm_") not in str(value), f"api_keys.{column} holds the key"


def test_cli_key_with_several_roles(api: Api, engine: Engine) -> None:
    name = unique("cli-two")
    result = _cli(engine, "apikey", "create", "--name", name, "--role", "billing",
                  "--role", "marketing")
    assert result.exit_code == 0, result.output
    bearer = {"Authorization": f"Bearer {result.stdout.strip()}"}
    assert api.client.get("/v1/templates", headers=bearer).status_code == 200
    assert api.client.get(f"/v1/documents/{uuid.uuid4()}", headers=bearer).status_code == 404
    assert_problem(_status(api, bearer), 403, "forbidden")


def test_cli_refuses_an_unknown_role(engine: Engine) -> None:
    name = unique("cli-bad")
    result = _cli(engine, "apikey", "create", "--name", name, "--role", "superuser")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown role 'superuser'" in result.stderr
    assert "billing" in result.stderr and "admin" in result.stderr
    with unit_of_work(make_session_factory(engine)) as session:
        assert session.scalar(select(ApiKey).where(ApiKey.name == name)) is None


def test_cli_refuses_a_taken_name(engine: Engine, api: Api) -> None:
    result = _cli(engine, "apikey", "create", "--name", api.names["billing"], "--role",
                  "billing")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "already exists" in result.stderr


def test_cli_revoke_stops_the_key(api: Api, engine: Engine) -> None:
    name = unique("cli-revoke")
    key = _cli(engine, "apikey", "create", "--name", name, "--role", "auditor").stdout.strip()
    assert _status(api, {"Authorization": f"Bearer {key}"}).status_code == 200
    result = _cli(engine, "apikey", "revoke", name)
    assert result.exit_code == 0, result.output
    assert_problem(_status(api, {"Authorization": f"Bearer {key}"}), 401, "unauthenticated")
