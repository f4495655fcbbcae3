"""Four eyes for brand versions over HTTP: one key writes a version, another publishes it,
and until then every document is made with the brand as it was.

Each test makes its own brand from the stock brand's tokens (and its own template that
shows the legal footer), so the stock registry the other modules send with stays as it is.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx2 as httpx
import pytest
from api_support import Api, new_customer, publish_reviewed

OLD_FOOTER = "Approval Energy GmbH - Registered HRB 111111"
NEW_FOOTER = "Approval Energy GmbH - Registered HRB 222222 - new directors"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def problem(reply: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = reply.json()
    assert body["code"] == code, body
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def publish_brand(api: Api, key: str, version: int, role: str = "all") -> httpx.Response:
    return api.post(f"/v1/brands/{key}/versions/{version}/publish", None, role=role)


@pytest.fixture(scope="module")
def stock_tokens(api: Api) -> dict[str, Any]:
    versions = api.get("/v1/brands/northwind/versions", role="marketing").json()
    tokens: dict[str, Any] = [v for v in versions if v["status"] == "published"][-1]["tokens"]
    return tokens


def with_footer(tokens: dict[str, Any], text: str, **changes: Any) -> dict[str, Any]:
    """The tokens with ``text`` as the legal footer in every language they state it in."""
    return {**tokens, "legal_footer": dict.fromkeys(tokens["legal_footer"], text), **changes}


@pytest.fixture
def brand(api: Api, stock_tokens: dict[str, Any]) -> str:
    """A brand of the test's own: written by marketing, published by another key."""
    key = unique("approval")
    made = api.post("/v1/brands", {"key": key, "name": "Approval Energy",
                                   "tokens": with_footer(stock_tokens, OLD_FOOTER)},
                    role="marketing")
    assert made.status_code == 201, made.text
    assert publish_brand(api, key, 1).status_code == 200
    return key


@pytest.fixture
def template(api: Api, brand: str) -> str:
    """A published notice of ``brand`` that shows the stock legal footer block."""
    key = unique("approval-notice")
    content = {"journey": "utility-customer", "stage": "payment-reminder",
               "bodies": {"html": '<p>Dear {{ name }}</p>{% include "block/legal-footer" %}'},
               "data_schema": {"type": "object", "required": ["name"],
                               "properties": {"name": {"type": "string"}}},
               "sample_data": {"name": "Ada"}}
    made = api.post("/v1/templates", {"key": key, "kind": "notice", "brand": brand,
                                      "version": content}, role="marketing")
    assert made.status_code == 201, made.text
    published = publish_reviewed(api, key, 1)
    assert published.status_code == 200, published.text
    return key


def sent_document(api: Api, template: str) -> tuple[dict[str, Any], str]:
    """A document of ``template`` made now: its record and its HTML."""
    sent = api.post("/v1/documents", {"template": template, "customer_id": new_customer(),
                                      "channel": "html", "data": {"name": "Grace"}})
    assert sent.status_code == 201, sent.text
    record: dict[str, Any] = sent.json()
    content = api.get(f"/v1/documents/{record['id']}/content", role="billing")
    assert content.status_code == 200, content.text
    return record, content.text


def new_footer_draft(api: Api, brand: str, stock_tokens: dict[str, Any]) -> dict[str, Any]:
    made = api.post(f"/v1/brands/{brand}/versions",
                    {"tokens": with_footer(stock_tokens, NEW_FOOTER)}, role="marketing")
    assert made.status_code == 201, made.text
    draft: dict[str, Any] = made.json()
    assert (draft["version"], draft["status"]) == (2, "draft")
    return draft


def test_the_author_cannot_publish_their_own_version(
        api: Api, brand: str, template: str, stock_tokens: dict[str, Any]) -> None:
    new_footer_draft(api, brand, stock_tokens)
    refused = problem(publish_brand(api, brand, 2, role="marketing"), 409, "four_eyes",
                      api.names["marketing"], "someone who did not write it")
    assert refused["status"] == 409

    version = api.get(f"/v1/brands/{brand}/versions/2").json()
    assert (version["status"], version["published_at"], version["published_by"]) == (
        "draft", None, None)
    assert api.get(f"/v1/brands/{brand}").json()["published_version"] == 1
    record, html = sent_document(api, template)
    assert record["brand_version"] == 1
    assert OLD_FOOTER in html and NEW_FOOTER not in html


def test_another_key_publishes_and_the_next_document_shows_it(
        api: Api, brand: str, template: str, stock_tokens: dict[str, Any]) -> None:
    new_footer_draft(api, brand, stock_tokens)
    assert OLD_FOOTER in sent_document(api, template)[1]

    published = publish_brand(api, brand, 2)
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["status"] == "published" and body["published_at"]
    assert (body["created_by"], body["published_by"]) == (api.names["marketing"],
                                                          api.names["all"])
    again = publish_brand(api, brand, 2, role="marketing")  # published: a no-op for anyone
    assert again.status_code == 200 and again.json() == body

    record, html = sent_document(api, template)
    assert record["brand_version"] == 2
    assert NEW_FOOTER in html and OLD_FOOTER not in html


def test_who_wrote_and_who_published_are_shown(api: Api, brand: str,
                                               stock_tokens: dict[str, Any]) -> None:
    new_footer_draft(api, brand, stock_tokens)
    marketing, other = api.names["marketing"], api.names["all"]
    expected = [(1, "published", marketing, other), (2, "draft", marketing, None)]
    shown = api.get(f"/v1/brands/{brand}", role="auditor").json()
    assert [(v["version"], v["status"], v["created_by"], v["published_by"])
            for v in shown["versions"]] == expected
    listed = {b["key"]: b for b in api.get("/v1/brands", role="marketing").json()}
    assert [(v["created_by"], v["published_by"]) for v in listed[brand]["versions"]] == [
        (marketing, other), (marketing, None)]
    versions = api.get(f"/v1/brands/{brand}/versions", role="auditor").json()
    assert [(v["version"], v["status"], v["created_by"], v["published_by"])
            for v in versions] == expected
    one = api.get(f"/v1/brands/{brand}/versions/1", role="auditor").json()
    assert (one["created_by"], one["published_by"]) == (marketing, other)
    stock = api.get("/v1/brands/northwind/versions/1", role="auditor").json()
    assert stock["created_by"] == stock["published_by"] == "registry load"


def test_publish_at_once_is_refused_and_nothing_is_made(
        api: Api, brand: str, stock_tokens: dict[str, Any]) -> None:
    key = unique("at-once")
    refused = api.post("/v1/brands", {"key": key, "name": "At Once", "publish": True,
                                      "tokens": with_footer(stock_tokens, NEW_FOOTER)},
                       role="marketing")
    problem(refused, 409, "approval_required", "second person",
            f"POST /v1/brands/{key}/versions/1/publish")
    problem(api.get(f"/v1/brands/{key}"), 404, "not_found")

    refused = api.post(f"/v1/brands/{brand}/versions",
                       {"tokens": with_footer(stock_tokens, NEW_FOOTER), "publish": True},
                       role="all")
    problem(refused, 409, "approval_required", f"POST /v1/brands/{brand}/versions/")
    assert [v["version"] for v in api.get(f"/v1/brands/{brand}/versions").json()] == [1]

    # Older clients that send `publish: false` get a draft, as before.
    made = api.post(f"/v1/brands/{brand}/versions",
                    {"tokens": with_footer(stock_tokens, NEW_FOOTER), "publish": False},
                    role="marketing")
    assert made.status_code == 201 and made.json()["status"] == "draft", made.text


def test_colours_that_fail_contrast_are_not_published(
        api: Api, brand: str, stock_tokens: dict[str, Any]) -> None:
    palette = {**stock_tokens["palette"], "muted": "#aaaaaa", "accent": "#eeeeee"}
    made = api.post(f"/v1/brands/{brand}/versions",
                    {"tokens": {**stock_tokens, "palette": palette}}, role="marketing")
    assert made.status_code == 201, made.text  # a draft may fail: it is work in progress
    contrast = api.get(f"/v1/brands/{brand}/versions/2/contrast").json()
    failing = {(p["foreground"], p["background"]) for p in contrast["pairs"]
               if not p["passes"]}
    assert failing == {("muted", "background"), ("accent", "background")}

    refused = problem(publish_brand(api, brand, 2), 422, "registry_invalid",
                      "WCAG 2.1 AA", "muted on background", "accent on background",
                      "needs 4.5:1", "needs 3.0:1")
    assert "text on background" not in refused["detail"]
    assert api.get(f"/v1/brands/{brand}/versions/2").json()["status"] == "draft"
    assert api.get(f"/v1/brands/{brand}").json()["published_version"] == 1


def test_a_draft_is_rebased_only_by_its_author_and_never_published_at_once(
        api: Api, brand: str, stock_tokens: dict[str, Any]) -> None:
    solar = unique("approval-solar")
    made = api.post("/v1/brands", {"key": solar, "name": "Solar", "parent": brand,
                                   "tokens": {"company_name": "Solar GmbH"}}, role="marketing")
    assert made.status_code == 201, made.text
    problem(publish_brand(api, solar, 1, role="marketing"), 409, "four_eyes")
    assert publish_brand(api, solar, 1).status_code == 200
    draft = api.post(f"/v1/brands/{solar}/versions",
                     {"tokens": {"company_name": "Solar AG"}}, role="marketing")
    assert draft.status_code == 201, draft.text
    new_footer_draft(api, brand, stock_tokens)
    assert publish_brand(api, brand, 2).status_code == 200

    # The latest version is marketing's draft: its overrides were never published.
    problem(api.post(f"/v1/brands/{solar}/rebase", {"publish": True}, role="marketing"),
            409, "approval_required", "not been published")
    problem(api.post(f"/v1/brands/{solar}/rebase", {}, role="all"), 409, "four_eyes",
            api.names["marketing"], "only its author rebases it")
    rebased = api.post(f"/v1/brands/{solar}/rebase", {}, role="marketing")
    assert rebased.status_code == 201, rebased.text
    body = rebased.json()
    assert (body["version"], body["status"], body["parent_version"]) == (3, "draft", 2)
    assert body["created_by"] == api.names["marketing"]
    assert body["tokens"]["legal_footer"] == with_footer(stock_tokens, NEW_FOOTER)[
        "legal_footer"]
    problem(publish_brand(api, solar, 3, role="marketing"), 409, "four_eyes")
    assert publish_brand(api, solar, 3).json()["published_by"] == api.names["all"]
