"""The registry over HTTP, as marketing uses it: assets, brands, templates, versions,
publishing and previews."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx2 as httpx
import pytest
from api_support import Api, new_customer, pdf_text, publish_reviewed
from sqlalchemy import func, select

from ccm.audit.models import Communication
from ccm.db import make_session_factory, unit_of_work
from ccm.stock import STOCK_DIR

NORTHWIND = STOCK_DIR / "brands" / "northwind"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def upload(api: Api, content: bytes, media_type: str) -> httpx.Response:
    return api.client.post("/v1/assets", content=content,
                           headers=api.auth("marketing", **{"Content-Type": media_type}))


def fresh_svg() -> bytes:
    """The stock logo, made unique so that this upload is a new asset."""
    svg = (NORTHWIND / "logo.svg").read_bytes()
    return svg.rstrip() + f"\n<!-- {uuid.uuid4()} -->\n".encode()


def tokens(svg: str, png: str, **changes: Any) -> dict[str, Any]:
    # Colours that meet WCAG AA contrast: a brand version that fails it is not published.
    values: dict[str, Any] = {
        "company_name": "Southwind Power Ltd",
        "address": ["1 Harbour Road", "Bristol BS1 4RN", "United Kingdom"],
        "palette": {"primary": "#1D4E89", "secondary": "#2a6fb0", "accent": "#b07a00",
                    "text": "#1f2933", "muted": "#52606d", "background": "#ffffff",
                    "surface": "#eef2f8"},
        "fonts": {"body": "DejaVu Sans", "heading": "DejaVu Sans"},
        "logo": {"svg": svg, "png": png, "width_mm": 40},
        "legal_footer": {"en": "Southwind Power Ltd · Registered in England No. 01234567"},
        "email_sender": {"name": "Southwind Power", "address": "hello@southwind.example"},
        "sms_sender_id": "Southwind",
        "default_locale": "en_GB",
        "currency": "GBP",
    }
    values.update(changes)
    return values


def sms_notice(text: str = "Hello {{ name }}, your bill {{ invoice }} is ready. "
                           "{{ brand.company_name }}", **extra: Any) -> dict[str, Any]:
    return {"journey": "utility-customer", "stage": "payment-reminder",
            "bodies": {"sms": text},
            "data_schema": {"type": "object", "required": ["name", "invoice"],
                            "properties": {"name": {"type": "string"},
                                           "invoice": {"type": "string"}}},
            "sample_data": {"name": "Ada", "invoice": "SW-0001"}, **extra}


def html_notice() -> dict[str, Any]:
    content = sms_notice()
    content["bodies"]["html"] = ("<h1>{{ brand.company_name }}</h1>"
                                 "<p>Dear {{ name }}, bill {{ invoice }} is ready.</p>")
    return content


def publish_brand(api: Api, key: str, version: int = 1) -> dict[str, Any]:
    """Publish a brand version as a second person would: the ``all`` key, not its author."""
    reply = api.post(f"/v1/brands/{key}/versions/{version}/publish", None, role="all")
    assert reply.status_code == 200, reply.text
    published: dict[str, Any] = reply.json()
    return published


def all_communications(api: Api) -> int:
    with unit_of_work(make_session_factory(api.engine)) as session:
        return int(session.scalar(select(func.count()).select_from(Communication)) or 0)


def assert_problem(reply: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = reply.json()
    assert problem["code"] == code and problem["status"] == status
    for word in words:
        assert word in problem["detail"], problem["detail"]
    return problem


@pytest.fixture(scope="module")
def logo(api: Api) -> dict[str, str]:
    """A fresh SVG logo and the stock PNG, uploaded."""
    svg = upload(api, fresh_svg(), "image/svg+xml")
    png = upload(api, (NORTHWIND / "logo.png").read_bytes(), "image/png")
    assert svg.status_code == 201 and png.status_code == 201, (svg.text, png.text)
    return {"svg": svg.json()["sha256"], "png": png.json()["sha256"]}


@pytest.fixture(scope="module")
def brand(api: Api, logo: dict[str, str]) -> str:
    """A published brand of this module's own: written by marketing, published by another."""
    key = unique("southwind")
    reply = api.post("/v1/brands", {"key": key, "name": "Southwind Power",
                                    "tokens": tokens(**logo)}, role="marketing")
    assert reply.status_code == 201, reply.text
    publish_brand(api, key)
    return key


# -- assets --------------------------------------------------------------------------


def test_assets_come_back_byte_for_byte(api: Api) -> None:
    for content, media_type in [(fresh_svg(), "image/svg+xml"),
                                ((NORTHWIND / "logo.png").read_bytes(), "image/png")]:
        reply = upload(api, content, media_type)
        assert reply.status_code == 201, reply.text
        asset = reply.json()
        digest = hashlib.sha256(content).hexdigest()
        assert asset == {"sha256": digest, "media_type": media_type, "size": len(content)}
        assert reply.headers["location"].endswith(f"/v1/assets/{digest}")

        for role in ("marketing", "auditor"):
            back = api.get(reply.headers["location"], role=role)
            assert back.status_code == 200, back.text
            assert back.content == content
            assert back.headers["content-type"] == media_type
            assert back.headers["etag"] == f'"{digest}"'
            assert "sandbox" in back.headers["content-security-policy"]  # an SVG runs nothing
            assert back.headers["x-content-type-options"] == "nosniff"


def test_the_same_bytes_are_one_asset(api: Api) -> None:
    content = fresh_svg()
    first = upload(api, content, "image/svg+xml")
    again = upload(api, content, "image/svg+xml; charset=utf-8")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


@pytest.mark.parametrize(("content", "media_type", "words"), [
    (b"plain words", "text/plain", ("text/plain",)),
    (b"<html></html>", "text/html", ("text/html",)),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", ("image/webp",)),  # cannot be embedded
    (b"<svg/>", "", ("unnamed type",)),
    (b"", "image/png", ("empty",)),
], ids=["text", "html", "webp", "no-type", "empty"])
def test_assets_of_other_types_or_empty_are_refused(
        api: Api, content: bytes, media_type: str, words: tuple[str, ...]) -> None:
    headers = api.auth("marketing", **({"Content-Type": media_type} if media_type else {}))
    reply = api.client.post("/v1/assets", content=content, headers=headers)
    assert_problem(reply, 422, "input_invalid", *words)


def test_an_unknown_asset_is_not_found(api: Api) -> None:
    assert_problem(api.get(f"/v1/assets/{'0' * 64}", role="marketing"), 404, "not_found")
    assert_problem(api.get("/v1/assets/not-a-digest", role="marketing"), 404, "not_found")


# -- brands --------------------------------------------------------------------------


def test_a_brand_is_made_versioned_and_published(api: Api, logo: dict[str, str]) -> None:
    key = unique("eastwind")
    made = api.post("/v1/brands", {"key": key, "name": "Eastwind Gas",
                                   "tokens": tokens(**logo)}, role="marketing")
    assert made.status_code == 201, made.text
    first = made.json()
    assert (first["brand"], first["version"], first["status"]) == (key, 1, "draft")
    assert first["published_at"] is None and first["published_by"] is None
    assert first["created_by"] == api.names["marketing"]
    assert first["tokens"]["palette"]["primary"] == "#1d4e89"  # normalised
    assert first["tokens"]["logo"] == {**logo, "width_mm": 40}
    assert made.headers["location"].endswith(f"/v1/brands/{key}/versions/1")

    shown = api.get(f"/v1/brands/{key}", role="marketing").json()
    assert shown["name"] == "Eastwind Gas" and shown["published_version"] is None
    assert [(v["version"], v["status"], v["created_by"], v["published_by"])
            for v in shown["versions"]] == [(1, "draft", api.names["marketing"], None)]

    second = api.post(f"/v1/brands/{key}/versions",
                      {"tokens": tokens(**logo, company_name="Eastwind Gas plc")},
                      role="marketing")
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["status"]) == (2, "draft")

    own = api.post(f"/v1/brands/{key}/versions/2/publish", None, role="marketing")
    assert_problem(own, 409, "four_eyes", api.names["marketing"])
    published = publish_brand(api, key, 2)
    assert published["status"] == "published" and published["published_at"]
    assert (published["created_by"], published["published_by"]) == (
        api.names["marketing"], api.names["all"])
    for role in ("all", "marketing"):
        again = api.post(f"/v1/brands/{key}/versions/2/publish", None, role=role)
        assert again.status_code == 200, again.text
        assert again.json() == published  # publishing twice changes nothing

    for role in ("marketing", "auditor"):
        listed = {b["key"]: b for b in api.get("/v1/brands", role=role).json()}
        assert listed[key]["published_version"] == 2
        assert "northwind" in listed
    versions = api.get(f"/v1/brands/{key}/versions", role="auditor").json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "draft"), (2, "published")]
    assert versions[1]["tokens"]["company_name"] == "Eastwind Gas plc"
    one = api.get(f"/v1/brands/{key}/versions/1", role="auditor").json()
    assert one["status"] == "draft" and one["tokens"]["company_name"] == "Southwind Power Ltd"


def test_a_brand_key_is_taken_once(api: Api, brand: str, logo: dict[str, str]) -> None:
    for key in (brand, "northwind"):
        reply = api.post("/v1/brands", {"key": key, "name": "Again", "tokens": tokens(**logo)},
                         role="marketing")
        assert_problem(reply, 409, "conflict", key, "already exists")
    assert api.get(f"/v1/brands/{brand}", role="marketing").json()["name"] == "Southwind Power"


@pytest.mark.parametrize(("change", "words"), [
    ({"palette": {"primary": "red"}}, ("palette", "primary", "'red'", "hex colour")),
    ({"fonts": {"body": "x;}body{color:red", "heading": "DejaVu Sans"}},
     ("fonts/body", "font family")),
    ({"currency": "XYZ"}, ("currency", "ISO 4217")),
    ({"sms_sender_id": "Far too long a sender"}, ("sms_sender_id",)),
    ({"legal_footer": {"fr": "Mentions légales"}}, ("legal_footer", "en_GB")),
    ({"email_sender": {"name": "S", "address": "not-an-address"}}, ("email_sender/address",)),
    ({"colour": "#ffffff"}, ("colour", "Extra inputs")),
], ids=["colour", "font-css", "currency", "sms-sender", "legal-locale", "email", "unknown"])
def test_invalid_tokens_are_refused_with_what_is_wrong(
        api: Api, logo: dict[str, str], change: dict[str, Any], words: tuple[str, ...]) -> None:
    values = tokens(**logo)
    values.update({name: {**values[name], **value} if name == "palette" else value
                   for name, value in change.items()})
    key = unique("badwind")
    reply = api.post("/v1/brands", {"key": key, "name": "Bad", "tokens": values},
                     role="marketing")
    assert_problem(reply, 422, "registry_invalid", key, *words)
    assert_problem(api.get(f"/v1/brands/{key}", role="marketing"), 404, "not_found")


def test_a_refused_brand_leaves_its_key_free(api: Api, logo: dict[str, str]) -> None:
    key = unique("retrywind")
    bad = tokens(**logo)
    bad["palette"] = {**bad["palette"], "accent": "#12345"}
    refused = api.post("/v1/brands", {"key": key, "name": "Retry", "tokens": bad},
                       role="marketing")
    assert_problem(refused, 422, "registry_invalid", "accent")
    made = api.post("/v1/brands", {"key": key, "name": "Retry", "tokens": tokens(**logo)},
                    role="marketing")
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 1


def test_tokens_must_name_uploaded_assets(api: Api, logo: dict[str, str]) -> None:
    missing = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    reply = api.post("/v1/brands", {"key": unique("ghostwind"), "name": "Ghost",
                                    "tokens": tokens(svg=missing, png=logo["png"])},
                     role="marketing")
    assert_problem(reply, 422, "registry_invalid", missing, "upload the assets")
    reply = api.post("/v1/brands", {"key": unique("ghostwind"), "name": "Ghost",
                                    "tokens": tokens(svg="logo.svg", png=logo["png"])},
                     role="marketing")
    assert_problem(reply, 422, "registry_invalid", "logo/svg", "SHA-256")


def test_tokens_use_each_asset_for_what_it_is(api: Api, logo: dict[str, str]) -> None:
    font = upload(api, f"not really a font {uuid.uuid4()}".encode(), "font/ttf")
    assert font.status_code == 201, font.text
    values = tokens(svg=font.json()["sha256"], png=logo["png"])
    values["fonts"] = {"body": "Wind", "heading": "Wind",
                       "faces": [{"family": "Wind", "asset": logo["svg"]}]}
    reply = api.post("/v1/brands", {"key": unique("mixwind"), "name": "Mixed",
                                    "tokens": values}, role="marketing")
    assert_problem(reply, 422, "registry_invalid", "logo/svg: the asset is font/ttf",
                   "fonts/faces/0/asset: the asset is image/svg+xml, not a font")


def test_brand_request_fields_are_checked(api: Api, logo: dict[str, str]) -> None:
    reply = api.post("/v1/brands", {"key": "Not A Key", "name": "", "tokens": tokens(**logo)},
                     role="marketing")
    problem = assert_problem(reply, 422, "request_invalid")
    assert {v["path"] for v in problem["violations"]} == {"/key", "/name"}


def test_unknown_brands_and_versions_are_not_found(api: Api, brand: str,
                                                  logo: dict[str, str]) -> None:
    ghost = unique("nowind")
    for path in (f"/v1/brands/{ghost}", f"/v1/brands/{ghost}/versions",
                 f"/v1/brands/{brand}/versions/99"):
        assert_problem(api.get(path, role="auditor"), 404, "not_found")
    for path, body in ((f"/v1/brands/{ghost}/versions", {"tokens": tokens(**logo)}),
                       (f"/v1/brands/{brand}/versions/99/publish", None)):
        assert_problem(api.post(path, body, role="marketing"), 404, "not_found")


# -- templates -----------------------------------------------------------------------


def create_template(api: Api, brand: str, content: dict[str, Any], *, publish: bool = False,
                    kind: str = "notice") -> str:
    """A new template with ``content`` as its first version: a draft, or published
    through review by two people when ``publish``."""
    key = unique("reminder")
    reply = api.post("/v1/templates", {"key": key, "kind": kind, "brand": brand,
                                       "description": "A reminder", "version": content},
                     role="marketing")
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert (created["template"], created["version"], created["kind"]) == (key, 1, kind)
    assert created["status"] == "draft" and created["created_by"] == api.names["marketing"]
    assert reply.headers["location"].endswith(f"/v1/templates/{key}/versions/1")
    if publish:
        published = publish_reviewed(api, key, 1)
        assert published.json()["status"] == "published", published.text
    return key


def sms_request(template: str, customer: str, **extra: Any) -> dict[str, Any]:
    return {"template": template, "customer_id": customer, "channel": "sms",
            "data": {"name": "Grace", "invoice": "SW-0042"}, **extra}


def test_a_draft_is_previewed_but_not_sent(api: Api, brand: str) -> None:
    key = create_template(api, brand, sms_notice())
    shown = api.get(f"/v1/templates/{key}", role="auditor").json()
    assert (shown["brand"], shown["kind"], shown["published_version"]) == (brand, "notice", None)

    customer = new_customer()
    refused = api.post("/v1/documents", sms_request(key, customer))
    assert_problem(refused, 404, "not_found", key, "no published version")
    refused = api.post("/v1/documents", sms_request(key, customer, version=1))
    assert_problem(refused, 404, "not_found", key, "draft")
    assert api.communications(customer) == 0

    before = all_communications(api)
    preview = api.post(f"/v1/templates/{key}/versions/1/preview", {"channel": "sms"},
                       role="marketing")
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"].startswith("text/plain")
    assert preview.text == "Hello Ada, your bill SW-0001 is ready. Southwind Power Ltd"
    assert preview.headers["ccm-sms-segments"] == "1"
    assert preview.headers["ccm-sms-encoding"] == "GSM-7"
    assert preview.headers["ccm-template-version"] == "1"
    own = api.post(f"/v1/templates/{key}/versions/1/preview",
                   {"channel": "sms", "data": {"name": "Zoë", "invoice": "SW-7"}},
                   role="marketing")
    assert own.status_code == 200, own.text
    assert own.text.startswith("Hello Zoë, your bill SW-7")
    assert own.headers["ccm-sms-encoding"] == "UCS-2"  # ë is not in GSM-7
    assert all_communications(api) == before  # previews are never recorded
    assert "ccm-communication-id" not in preview.headers


def test_publishing_makes_a_template_sendable(api: Api, brand: str) -> None:
    key = create_template(api, brand, sms_notice())
    published = publish_reviewed(api, key, 1)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["published_at"]
    again = api.post(f"/v1/templates/{key}/versions/1/publish", None, role="marketing")
    assert again.status_code == 200 and again.json() == published.json()

    customer = new_customer()
    sent = api.post("/v1/documents", sms_request(key, customer))
    assert sent.status_code == 201, sent.text
    record = sent.json()
    assert (record["template"], record["template_version"]) == (key, 1)
    assert (record["brand"], record["template_kind"]) == (brand, "notice")
    assert (record["journey"], record["stage"]) == ("utility-customer", "payment-reminder")

    second = api.post(f"/v1/templates/{key}/versions", html_notice(), role="marketing")
    assert second.status_code == 201, second.text
    second = publish_reviewed(api, key, 2)
    assert (second.json()["version"], second.json()["status"]) == (2, "published")
    newer = api.post("/v1/documents", sms_request(key, customer, channel="html"))
    assert newer.status_code == 201, newer.text
    assert newer.json()["template_version"] == 2
    assert newer.json()["media_type"].startswith("text/html")
    older = api.post("/v1/documents", sms_request(key, customer, version=1))
    assert older.status_code == 201 and older.json()["template_version"] == 1
    refused = api.post("/v1/documents", sms_request(key, customer, version=1, channel="html"))
    assert refused.status_code == 422, refused.text  # v1 has no html body
    assert api.communications(customer) == 3

    trace = api.get(f"/v1/customers/{customer}/communications").json()["communications"]
    assert [c["template_version"] for c in trace] == [1, 2, 1]
    listed = {t["key"]: t for t in api.get(f"/v1/templates?brand={brand}",
                                           role="marketing").json()}
    assert listed[key]["published_version"] == 2
    assert [v["status"] for v in listed[key]["versions"]] == ["published", "published"]
    versions = api.get(f"/v1/templates/{key}/versions", role="auditor").json()
    assert [sorted(v["bodies"]) for v in versions] == [["sms"], ["html", "sms"]]
    one = api.get(f"/v1/templates/{key}/versions/1", role="auditor").json()
    assert one["sample_data"] == {"name": "Ada", "invoice": "SW-0001"}
    assert one["journey"] == "utility-customer"


def test_a_draft_version_leaves_the_published_one_live(api: Api, brand: str) -> None:
    key = create_template(api, brand, sms_notice(), publish=True)
    draft = api.post(f"/v1/templates/{key}/versions",
                     sms_notice("Draft {{ name }} {{ invoice }}"), role="marketing")
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    sent = api.post("/v1/documents", sms_request(key, new_customer()))
    assert sent.status_code == 201 and sent.json()["template_version"] == 1
    preview = api.post(f"/v1/templates/{key}/versions/2/preview", {"channel": "sms"},
                       role="marketing")
    assert preview.text == "Draft Ada SW-0001"


def test_html_preview_and_template_filters(api: Api, brand: str) -> None:
    key = create_template(api, brand, html_notice())
    before = all_communications(api)
    preview = api.post(f"/v1/templates/{key}/versions/1/preview", {"channel": "html"},
                       role="marketing")
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"].startswith("text/html")
    assert "Dear Ada, bill SW-0001 is ready." in preview.text
    assert "Southwind Power Ltd" in preview.text
    assert all_communications(api) == before
    refused = api.post(f"/v1/templates/{key}/versions/1/preview", {"channel": "pdf"},
                       role="marketing")
    assert refused.status_code == 422, refused.text  # no pdf body

    by_kind = [t["key"] for t in api.get("/v1/templates?kind=notice", role="auditor").json()]
    assert key in by_kind and "utility-bill" not in by_kind
    assert key not in [t["key"] for t in api.get("/v1/templates?brand=northwind",
                                                 role="auditor").json()]


def test_pdf_preview_of_the_stock_bill_shows_its_sample_data(api: Api) -> None:
    template = api.get("/v1/templates/utility-bill", role="marketing").json()
    version = template["published_version"]
    sample = api.get(f"/v1/templates/utility-bill/versions/{version}",
                     role="marketing").json()["sample_data"]
    before = all_communications(api)
    preview = api.post(f"/v1/templates/utility-bill/versions/{version}/preview",
                       {"channel": "pdf"}, role="marketing")
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.content.startswith(b"%PDF-")
    assert int(preview.headers["ccm-page-count"]) >= 1
    text = pdf_text(preview.content)
    assert sample["customer"]["name"] in text
    assert sample["invoice_number"] in text
    assert all_communications(api) == before


def test_a_template_key_is_taken_once(api: Api, brand: str) -> None:
    key = create_template(api, brand, sms_notice())
    for taken in (key, "utility-bill"):
        reply = api.post("/v1/templates", {"key": taken, "kind": "notice", "brand": brand,
                                           "version": sms_notice()}, role="marketing")
        assert_problem(reply, 409, "conflict", taken, "already exists")


@pytest.mark.parametrize(("content", "words"), [
    (sms_notice("Hello {{ name.first.last }}"), ("does not render its sample data",)),
    (sms_notice("Hello {{ name }", ), ("does not render its sample data",)),
    (sms_notice(sample_data={"name": "Ada"}), ("does not render its sample data", "invoice")),
    (sms_notice(sample_data={"name": 5, "invoice": "SW-1"}),
     ("does not render its sample data", "/name")),
    (sms_notice(data_schema={"type": "object", "required": "name"}), ("JSON Schema",)),
    ({**sms_notice(), "bodies": {"fax": "x"}}, ("fax", "at least one channel")),
    ({**sms_notice(), "journey": " "}, ("journey",)),
    (sms_notice(default_locale="xx_YY"), ("xx_YY",)),
    (sms_notice("{{ name * 1000 }}" * 40, sms_max_segments=1),
     ("does not render its sample data",)),
], ids=["undefined", "syntax", "sample-misses-field", "sample-wrong-type", "bad-schema",
        "unknown-channel", "no-journey", "bad-locale", "sms-too-long"])
def test_a_template_that_does_not_render_its_sample_is_refused(
        api: Api, brand: str, content: dict[str, Any], words: tuple[str, ...]) -> None:
    key = unique("broken")
    reply = api.post("/v1/templates", {"key": key, "kind": "notice", "brand": brand,
                                       "version": content}, role="marketing")
    assert_problem(reply, 422, "registry_invalid", key, *words)
    assert_problem(api.get(f"/v1/templates/{key}", role="marketing"), 404, "not_found")


def test_a_refused_version_is_not_added(api: Api, brand: str) -> None:
    key = create_template(api, brand, sms_notice())
    reply = api.post(f"/v1/templates/{key}/versions", sms_notice("{{ nope.nope }}"),
                     role="marketing")
    assert_problem(reply, 422, "registry_invalid", "does not render")
    versions = api.get(f"/v1/templates/{key}/versions", role="marketing").json()
    assert [v["version"] for v in versions] == [1]


def test_template_request_fields_are_checked(api: Api, brand: str) -> None:
    body = {"key": unique("fields"), "kind": "fax", "brand": brand,
            "version": {**sms_notice(), "bodies": "sms"}}
    problem = assert_problem(api.post("/v1/templates", body, role="marketing"), 422,
                             "request_invalid")
    assert {v["path"] for v in problem["violations"]} == {"/kind", "/version/bodies"}
    preview = api.post("/v1/templates/utility-bill/versions/1/preview", {"channel": "fax"},
                       role="marketing")
    assert_problem(preview, 422, "request_invalid")


def test_a_template_needs_a_known_brand(api: Api) -> None:
    ghost = unique("nowind")
    reply = api.post("/v1/templates", {"key": unique("orphan"), "kind": "notice",
                                       "brand": ghost, "version": sms_notice()},
                     role="marketing")
    assert reply.status_code in {404, 422}, reply.text
    assert ghost in reply.json()["detail"]


def test_unknown_templates_and_versions_are_not_found(api: Api, brand: str) -> None:
    ghost = unique("nothing")
    key = create_template(api, brand, sms_notice())
    for path in (f"/v1/templates/{ghost}", f"/v1/templates/{ghost}/versions",
                 f"/v1/templates/{ghost}/versions/1", f"/v1/templates/{key}/versions/9"):
        assert_problem(api.get(path, role="marketing"), 404, "not_found")
    for path, body in ((f"/v1/templates/{ghost}/versions", sms_notice()),
                       (f"/v1/templates/{ghost}/versions/1/publish", None),
                       (f"/v1/templates/{ghost}/versions/1/preview", {"channel": "sms"}),
                       (f"/v1/templates/{key}/versions/9/preview", {"channel": "sms"})):
        assert_problem(api.post(path, body, role="marketing"), 404, "not_found")
    sent = api.post("/v1/documents", sms_request(ghost, new_customer()))
    assert_problem(sent, 404, "not_found", ghost)


def test_a_template_of_a_brand_with_no_published_version(api: Api,
                                                          logo: dict[str, str]) -> None:
    draft_brand = unique("draftwind")
    made = api.post("/v1/brands", {"key": draft_brand, "name": "Draft",
                                   "tokens": tokens(**logo)}, role="marketing")
    assert made.status_code == 201, made.text
    reply = api.post("/v1/templates", {"key": unique("early"), "kind": "notice",
                                       "brand": draft_brand, "version": sms_notice()},
                     role="marketing")
    assert reply.status_code == 422, reply.text
    assert "no published version" in reply.json()["detail"]



def test_the_stock_brand_contrast_meets_aa(api: Api) -> None:
    reply = api.get("/v1/brands/northwind/versions/1/contrast", role="marketing")
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["passes"] is True and len(report["pairs"]) == 7
    assert {"foreground": "on_primary", "background": "primary",
            "use": "table headers, buttons, the offer banner", "ratio": 7.83,
            "required": 4.5, "passes": True} in report["pairs"]
    assert api.get("/v1/brands/northwind/versions/99/contrast",
                   role="marketing").status_code == 404
