"""Sub-brands over HTTP: made with ``parent``, shown with their overrides and the parent
version they inherit from, rebased when the parent publishes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2 as httpx
import pytest
from api_support import Api


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def problem(reply: httpx.Response, status: int, code: str, *words: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["code"] == code
    for word in words:
        assert word in body["detail"], body["detail"]


def draft_then_publish(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Post a draft as marketing to ``path`` and publish it as another key (``all``)."""
    made = api.post(path, body, role="marketing")
    assert made.status_code == 201, made.text
    draft: dict[str, Any] = made.json()
    assert draft["status"] == "draft"
    published = api.post(f"/v1/brands/{draft['brand']}/versions/{draft['version']}/publish",
                         None, role="all")
    assert published.status_code == 200, published.text
    version: dict[str, Any] = published.json()
    return version


@pytest.fixture(scope="module")
def stock_tokens(api: Api) -> dict[str, Any]:
    versions = api.get("/v1/brands/northwind/versions", role="marketing").json()
    tokens: dict[str, Any] = [v for v in versions if v["status"] == "published"][-1]["tokens"]
    return tokens


@pytest.fixture
def parent(api: Api, stock_tokens: dict[str, Any]) -> str:
    key = unique("api-parent")
    draft_then_publish(api, "/v1/brands", {"key": key, "name": "Parent",
                                           "tokens": stock_tokens})
    return key


OVERRIDES = {"company_name": "Northwind Solar GmbH", "palette": {"primary": "#2E7D32"}}


def test_a_sub_brand_is_made_and_shown_with_its_parent(
        api: Api, parent: str, stock_tokens: dict[str, Any]) -> None:
    key = unique("api-solar")
    made = api.post("/v1/brands", {"key": key, "name": "Solar", "parent": parent,
                                   "tokens": OVERRIDES}, role="marketing")
    assert made.status_code == 201, made.text
    assert made.headers["location"].endswith(f"/v1/brands/{key}/versions/1")
    version = api.post(f"/v1/brands/{key}/versions/1/publish", None, role="all").json()
    assert (version["brand"], version["version"], version["status"]) == (key, 1, "published")
    assert version["overrides"] == OVERRIDES and version["parent_version"] == 1
    assert version["tokens"]["palette"] == {**stock_tokens["palette"], "primary": "#2e7d32"}
    assert version["tokens"]["fonts"] == stock_tokens["fonts"]

    shown = api.get(f"/v1/brands/{key}").json()
    assert shown["parent"] == parent and shown["sub_brands"] == []
    assert shown["published_version"] == 1
    assert api.get(f"/v1/brands/{parent}").json()["sub_brands"] == [key]
    listed = {b["key"]: b for b in api.get("/v1/brands", role="marketing").json()}
    assert listed[key]["parent"] == parent and listed[parent]["sub_brands"] == [key]
    assert listed["northwind"]["parent"] is None

    own = api.get(f"/v1/brands/{parent}/versions/1").json()
    assert own["overrides"] is None and own["parent_version"] is None
    versions = api.get(f"/v1/brands/{key}/versions").json()
    assert [(v["version"], v["parent_version"]) for v in versions] == [(1, 1)]

    more = api.post(f"/v1/brands/{key}/versions", {"tokens": {"sms_sender_id": "NWSolar"}},
                    role="marketing")
    assert more.status_code == 201, more.text
    assert more.json()["overrides"] == {"sms_sender_id": "NWSolar"}
    assert more.json()["tokens"]["company_name"] == stock_tokens["company_name"]


def test_a_sub_brand_takes_up_its_parents_new_version_by_rebasing(
        api: Api, parent: str, stock_tokens: dict[str, Any]) -> None:
    key = unique("api-solar")
    draft_then_publish(api, "/v1/brands", {"key": key, "name": "Solar", "parent": parent,
                                           "tokens": OVERRIDES})
    problem(api.post(f"/v1/brands/{key}/rebase", {"publish": True}, role="marketing"),
            409, "conflict", "already inherits from")

    draft_then_publish(api, f"/v1/brands/{parent}/versions",
                       {"tokens": {**stock_tokens, "currency": "GBP"}})
    unchanged = api.get(f"/v1/brands/{key}/versions/1").json()
    assert unchanged["tokens"]["currency"] == "EUR" and unchanged["parent_version"] == 1

    rebased = api.post(f"/v1/brands/{key}/rebase", {"publish": True}, role="marketing")
    assert rebased.status_code == 201, rebased.text
    body = rebased.json()
    assert (body["version"], body["status"], body["parent_version"]) == (2, "published", 2)
    # Published overrides over a published parent version: published at once, as its own.
    assert body["created_by"] == body["published_by"] == api.names["marketing"]
    assert body["overrides"] == OVERRIDES and body["tokens"]["currency"] == "GBP"
    assert rebased.headers["location"].endswith(f"/v1/brands/{key}/versions/2")

    draft_then_publish(api, f"/v1/brands/{parent}/versions",
                       {"tokens": {**stock_tokens, "currency": "CHF"}})
    draft = api.client.post(f"/v1/brands/{key}/rebase", headers=api.auth("marketing"))
    assert draft.status_code == 201, draft.text
    assert (draft.json()["status"], draft.json()["parent_version"]) == ("draft", 3)


def test_rebasing_needs_a_sub_brand(api: Api, parent: str) -> None:
    problem(api.post(f"/v1/brands/{parent}/rebase", {}, role="marketing"), 422,
            "registry_invalid", "not a sub-brand")
    problem(api.post(f"/v1/brands/{unique('nobody')}/rebase", {}, role="marketing"), 404,
            "not_found")
    problem(api.post(f"/v1/brands/{parent}/rebase", {"publish": "soon"}, role="marketing"),
            422, "request_invalid")
    problem(api.post(f"/v1/brands/{parent}/rebase", {}, role="auditor"), 403, "forbidden")


@pytest.mark.parametrize(("change", "words"), [
    ({"parent": "nowhere-energy"}, ["'nowhere-energy'", "not in the registry"]),
    ({"tokens": {"palette": {"primary": "green"}}}, ["palette/primary"]),
    ({"tokens": {"logo": {"png": "0" * 64}}}, ["logo/svg", "both"]),
], ids=["unknown-parent", "bad-colour", "half-a-logo"])
def test_a_sub_brand_that_cannot_be_made_is_refused(
        api: Api, parent: str, change: dict[str, Any], words: list[str]) -> None:
    request = {"key": unique("api-bad"), "name": "Bad", "parent": parent, "tokens": {}, **change}
    problem(api.post("/v1/brands", request, role="marketing"), 422, "registry_invalid", *words)
    assert api.get(f"/v1/brands/{request['key']}").status_code == 404  # nothing half-made


def test_a_parent_without_a_published_version_is_named(
        api: Api, stock_tokens: dict[str, Any]) -> None:
    draft_only = unique("api-unready")
    made = api.post("/v1/brands", {"key": draft_only, "name": "Unready",
                                   "tokens": stock_tokens}, role="marketing")
    assert made.status_code == 201, made.text
    problem(api.post("/v1/brands", {"key": unique("api-child"), "name": "Child",
                                    "parent": draft_only, "tokens": {}}, role="marketing"),
            422, "registry_invalid", "no published version to inherit from")
