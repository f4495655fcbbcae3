"""The API's contract: its OpenAPI document, the request size limit, and that a request
the API cannot use gets a problem (never a 500)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from api_support import Api, api_settings, new_customer, promotion_request, to_json
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy import Engine

from ccm.api import create_app

PROBLEM = "application/problem+json"
LIMIT = 1000


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    reply = api.client.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = reply.json()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in spec["paths"].items():
        for method, operation in items.items():
            yield method.upper(), path, operation


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def assert_problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = reply.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] == f"urn:ccm:problem:{code}" and problem["title"] and problem["detail"]
    return problem


# -- the OpenAPI document ------------------------------------------------------------


def test_the_openapi_document_is_valid(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "ccm" and spec["info"]["version"]
    assert "Bearer" in spec["info"]["description"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    tags = {tag["name"] for tag in spec["tags"]}
    for method, path, operation in operations(spec):
        assert set(operation["tags"]) <= tags, (method, path)


def test_every_operation_has_a_summary_and_a_unique_id(spec: dict[str, Any]) -> None:
    ids = []
    for method, path, operation in operations(spec):
        assert operation.get("summary", "").strip(), f"{method} {path} has no summary"
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))


def test_every_operation_documents_its_errors(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        where = f"{method} {path}"
        responses = operation["responses"]
        assert any(status.startswith("2") or (status == "302" and path.startswith("/t/c/"))
                   for status in responses), where
        wanted = set()
        if path.startswith(("/t/", "/u/", "/v1/webhooks/")):
            # Reached from customers' mail and providers: signed links and bodies, no key.
            assert "security" not in operation, where
            wanted.add("404" if not path.startswith("/v1/webhooks/") else "401")
        elif path != "/v1/health":
            assert operation.get("security") == [{"HTTPBearer": []}], where
            wanted |= {"401", "403"}
            assert "WWW-Authenticate" in responses["401"].get("headers", {}), where
        else:
            assert "security" not in operation
            wanted.add("503")
        if operation.get("parameters"):
            wanted.add("422")  # a path or query value of the wrong type
        if "{" in path and not path.startswith("/v1/customers/"):
            wanted.add("404")
        body = operation.get("requestBody", {}).get("content", {})
        if body:
            wanted |= {"413", "422"}
        if "application/json" in body:
            wanted.add("400")  # not JSON at all
        assert wanted <= set(responses), f"{where} does not document {wanted - set(responses)}"

        for status, reply in responses.items():
            assert reply.get("description", "").strip(), f"{where} {status}"
            if int(status) < 400 or where == "GET /v1/health":
                continue
            assert set(reply["content"]) == {PROBLEM}, f"{where} {status}"
            schema = reply["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{where} {status}"
    assert "HTTPValidationError" not in json.dumps(spec)
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "detail"} <= set(problem["required"])


def test_every_json_body_has_an_example_that_fits_its_schema(spec: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        media = content["application/json"]
        schema = media["schema"]
        examples = [e["value"] for e in media.get("examples", {}).values()]
        examples += [media["example"]] if "example" in media else []
        examples += resolve(spec, schema).get("examples", [])
        assert examples, f"{method} {path} has no example"
        validator = Draft202012Validator({**schema, "components": spec["components"]})
        for example in examples:
            errors = [e.message for e in validator.iter_errors(example)]
            assert not errors, f"{method} {path}: example does not fit: {errors}"
        checked += 1
    assert checked >= 8


def test_binary_routes_say_what_they_take_and_give(spec: dict[str, Any]) -> None:
    upload = spec["paths"]["/v1/assets"]["post"]["requestBody"]
    assert upload["required"] and "image/svg+xml" in upload["content"]
    assert "font/woff2" in upload["content"]
    asset = spec["paths"]["/v1/assets/{sha256}"]["get"]["responses"]["200"]["content"]
    assert "image/png" in asset
    content = spec["paths"]["/v1/documents/{communication_id}/content"]["get"]
    assert "application/pdf" in content["responses"]["200"]["content"]
    preview = spec["paths"]["/v1/templates/{key}/versions/{version}/preview"]["post"]
    assert "application/pdf" in preview["responses"]["200"]["content"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_nothing_from_outside(api: Api, page: str) -> None:
    reply = api.client.get(page)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in reply.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', reply.text)
    assert sources and all(url.startswith("/docs-assets/") for url in sources), sources
    for url in sources:
        asset = api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url


# -- the request size limit ----------------------------------------------------------


@pytest.fixture(scope="module")
def small(engine: Engine, api: Api, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[TestClient]:
    """The app again, taking bodies of at most 1,000 bytes (same database, same keys)."""
    settings = api_settings(engine, tmp_path_factory.mktemp("small"), api_max_body_bytes=LIMIT)
    with TestClient(create_app(settings, run_batches=False)) as client:
        yield client


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON of exactly ``size`` bytes (trailing white space is still JSON)."""
    raw = to_json(body)
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def chunks(content: bytes, size: int = 128) -> Iterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start:start + size]


def test_a_body_over_the_limit_is_refused(api: Api, small: TestClient) -> None:
    customer = new_customer()
    body = padded(promotion_request(customer), LIMIT + 1)
    reply = small.post("/v1/documents", content=body,
                       headers=api.auth("billing", **{"Content-Type": "application/json"}))
    problem = assert_problem(reply, 413, "body_too_large")
    assert "1,000" in problem["detail"] and problem["instance"] == "/v1/documents"
    assert api.communications(customer) == 0

    raw = small.post("/v1/assets", content=b"<svg>" + b" " * 2000 + b"</svg>",
                     headers=api.auth("marketing", **{"Content-Type": "image/svg+xml"}))
    assert_problem(raw, 413, "body_too_large")


def test_a_chunked_body_over_the_limit_is_refused(api: Api, small: TestClient) -> None:
    customer = new_customer()
    body = padded(promotion_request(customer), 3 * LIMIT)
    reply = small.post("/v1/documents", content=chunks(body),
                       headers=api.auth("billing", **{"Content-Type": "application/json"}))
    assert "content-length" not in reply.request.headers
    assert reply.request.headers["transfer-encoding"] == "chunked"
    problem = assert_problem(reply, 413, "body_too_large")
    assert "1,000" in problem["detail"]
    assert api.communications(customer) == 0


def test_a_body_at_the_limit_gets_through_whole(api: Api, small: TestClient) -> None:
    for content in (lambda raw: raw, chunks):
        name = f"limit-{new_customer()}"
        body = padded({"name": name, "roles": ["auditor"]}, LIMIT)
        reply = small.post("/v1/api-keys", content=content(body),
                           headers=api.auth("admin", **{"Content-Type": "application/json"}))
        assert reply.status_code == 201, reply.text
        assert reply.json()["name"] == name


def test_the_real_app_takes_a_large_bill(api: Api) -> None:
    assert api.settings.api_max_body_bytes > 100_000
    body = promotion_request(new_customer(), "sms")
    body["data"]["note"] = "x" * 50_000  # more than the small app takes, less than the limit
    reply = api.post("/v1/documents", body)
    assert reply.status_code != 413, reply.text


# -- requests the API cannot use -----------------------------------------------------


JSON_ROUTES = [
    ("/v1/documents", "billing"),
    ("/v1/documents/batch", "billing"),
    ("/v1/brands", "marketing"),
    ("/v1/brands/northwind/versions", "marketing"),
    ("/v1/templates", "marketing"),
    ("/v1/templates/utility-bill/versions", "marketing"),
    ("/v1/templates/utility-bill/versions/1/preview", "marketing"),
    ("/v1/api-keys", "admin"),
]


@pytest.mark.parametrize("body", [
    b'{"template": "utility-bill",',
    b"{'template': 'utility-bill'}",
    b"\xff\xfe{\x00",
    b"[" * 100_000 + b"]" * 100_000,
], ids=["truncated", "single-quotes", "not-utf8", "nested-too-deep"])
@pytest.mark.parametrize(("path", "role"), JSON_ROUTES, ids=[p for p, _ in JSON_ROUTES])
def test_a_body_that_is_not_json_is_malformed(api: Api, path: str, role: str,
                                              body: bytes) -> None:
    reply = api.client.post(path, content=body,
                            headers=api.auth(role, **{"Content-Type": "application/json"}))
    problem = assert_problem(reply, 400, "malformed_body")
    assert "JSON" in problem["detail"]


def test_wrong_typed_fields_are_named(api: Api) -> None:
    reply = api.post("/v1/documents", {"template": 5, "customer_id": ["C-1"], "channel": "sms",
                                       "version": "latest", "data": "x", "colour": "red"})
    problem = assert_problem(reply, 422, "request_invalid")
    paths = {v["path"] for v in problem["violations"]}
    assert paths == {"/template", "/customer_id", "/version", "/data", "/colour"}
    assert all(v["message"] for v in problem["violations"])

    reply = api.post("/v1/api-keys", {"name": "x", "roles": ["auditor", "root"]}, role="admin")
    problem = assert_problem(reply, 422, "request_invalid")
    assert [v["path"] for v in problem["violations"]] == ["/roles/1"]

    reply = api.post("/v1/templates", {"key": "ok-key", "kind": "notice", "brand": "northwind",
                                       "version": {"journey": "j", "stage": "s",
                                                   "bodies": {"sms": 7}, "data_schema": {}}},
                     role="marketing")
    problem = assert_problem(reply, 422, "request_invalid")
    assert [v["path"] for v in problem["violations"]] == ["/version/bodies/sms"]


@pytest.mark.parametrize(("path", "where"), [
    ("/v1/customers/C-1/communications?limit=many", "/query:limit"),
    ("/v1/customers/C-1/communications?limit=0", "/query:limit"),
    ("/v1/customers/C-1/communications?since=yesterday", "/query:since"),
    ("/v1/customers/C-1/communications?channel=fax", "/query:channel"),
    ("/v1/brands/northwind/versions/one", "/path:version"),
    ("/v1/brands/northwind/versions/0", "/path:version"),
    ("/v1/templates/utility-bill/versions/99999999999999999999", "/path:version"),
    ("/v1/templates?kind=fax", "/query:kind"),
])
def test_wrong_typed_path_and_query_values_are_named(api: Api, path: str, where: str) -> None:
    problem = assert_problem(api.get(path, role="all"), 422, "request_invalid")
    assert [v["path"] for v in problem["violations"]] == [where]


@pytest.mark.parametrize(("body", "content_type"), [
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"text"', "application/json"),
    (b"", "application/json"),
    (b'{"name": "x", "roles": ["auditor"]}', "text/plain"),
    (b"name=x&roles=auditor", "application/x-www-form-urlencoded"),
    (b'{"name": "x", "roles": ["auditor"]}', None),
], ids=["null", "array", "string", "empty", "text-plain", "form", "no-type"])
def test_a_body_that_is_not_a_json_object_is_refused(api: Api, body: bytes,
                                                     content_type: str | None) -> None:
    headers = api.auth("admin", **({"Content-Type": content_type} if content_type else {}))
    reply = api.client.post("/v1/api-keys", content=body, headers=headers)
    problem = assert_problem(reply, 422, "request_invalid")
    if body and content_type != "application/json":
        assert "application/json" in problem["violations"][0]["message"]


def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    assert_problem(api.get("/v1/nothing-here", role="all"), 404, "not_found")
    reply = api.client.request("PUT", "/v1/brands", headers=api.auth("all"))
    assert_problem(reply, 405, "method_not_allowed")


HOSTILE_VALUES = ["x%00y", "a" * 2000, "%C3%BC%F0%9F%92%A1%FF", "..%2F..%2Fetc%2Fpasswd", "-1",
                  "99999999999999999999"]
HOSTILE_QUERY = "?journey=%00&kind=%00&status=%00&cursor=%00&brand=%00&limit=1e9"
HOSTILE_BODIES: list[tuple[bytes, str]] = [
    (b"{}", "application/json"),
    (b'{"key": "x\\u0000", "name": "\\u0000", "template": "\\u0000", "customer_id": "c",'
     b' "channel": "sms", "roles": ["auditor"], "tokens": {}, "items": [{}]}',
     "application/json"),
    (b'{"version": 99999999999999999999, "template": "utility-bill", "customer_id": "c",'
     b' "channel": "sms", "data": {}}', "application/json"),
    (b'{"x": 1e999999}', "application/json"),
    (b'{"data": {"a": "\\u0000"}, "template": "loyalty-offer", "customer_id": "nul",'
     b' "channel": "sms"}', "application/json"),
    (b"\x00\x01\x02", "application/octet-stream"),
]


LIFECYCLE_STEPS = frozenset({"submit", "approve", "request-changes", "publish", "retire",
                             "rollback"})


def _hostile_requests(spec: dict[str, Any]) -> Iterator[tuple[str, str, bytes, str]]:
    for method, path, _operation in operations(spec):
        if method == "DELETE":  # a hostile name must not revoke a real key: names below
            for value in HOSTILE_VALUES:
                yield method, re.sub(r"\{[^}]+\}", f"ghost-{value}", path), b"", ""
            continue
        for value in HOSTILE_VALUES:
            yield method, re.sub(r"\{[^}]+\}", value, path), b"{}", "application/json"
        if method == "POST":
            # Lifecycle steps get a template that is not there: a body that parses must
            # not retire or roll back the stock bill the other tests send.
            template = ("no-such-template" if path.rsplit("/", 1)[-1] in LIFECYCLE_STEPS
                        else "utility-bill")
            concrete = path.replace("{key}", template if "templates" in path
                                    else "northwind").replace("{version}", "1")
            for body, content_type in HOSTILE_BODIES:
                yield method, concrete, body, content_type


def test_nothing_the_client_sends_makes_a_500(api: Api, spec: dict[str, Any]) -> None:
    client = TestClient(api.client.app, raise_server_exceptions=False)
    failures = []
    count = 0
    for method, path, body, content_type in _hostile_requests(spec):
        headers = api.auth("all", **({"Content-Type": content_type} if content_type else {}))
        for query in ("", HOSTILE_QUERY) if method == "GET" else ("",):
            reply = client.request(method, path + query, content=body, headers=headers)
            count += 1
            if reply.status_code >= 500:
                failures.append(f"{method} {path[:60]}{query} {body[:40]!r}: "
                                f"{reply.status_code} {reply.text[:200]}")
            elif reply.status_code >= 400:
                assert reply.headers["content-type"] == PROBLEM, (method, path, reply.text)
    assert count > 200
    assert not failures, "\n".join(failures)
