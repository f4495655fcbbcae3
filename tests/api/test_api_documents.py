"""POST /v1/documents and reading documents back: bytes, records, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx2 as httpx
from api_support import (
    Api,
    api_settings,
    bill_request,
    bill_xml,
    letter_request,
    new_customer,
    promotion_request,
    to_json,
)
from fastapi.testclient import TestClient
from support import pdf_text

from ccm.api import create_app


def test_bill_as_pdf_is_recorded_and_its_bytes_come_back(api: Api) -> None:
    customer = new_customer()
    reply = api.post("/v1/documents", bill_request(customer), Accept="application/pdf")
    assert reply.status_code == 201, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    assert reply.content.startswith(b"%PDF-")
    text = pdf_text(reply.content)
    assert "Jürgen Weiß" in text
    assert "€" in text
    communication_id = reply.headers["ccm-communication-id"]

    record = api.get(f"/v1/documents/{communication_id}").json()
    assert record["customer_id"] == customer
    assert record["sha256"] == hashlib.sha256(reply.content).hexdigest()
    assert record["size"] == len(reply.content)
    assert (record["template"], record["journey"], record["stage"]) == (
        "utility-bill", "utility-customer", "first-bill")
    assert record["template_version"] >= 1 and record["brand_version"] >= 1
    assert record["requested_by"] == api.names["billing"]

    content = api.get(record["content_url"])
    assert content.status_code == 200
    assert content.content == reply.content
    assert hashlib.sha256(content.content).hexdigest() == record["sha256"]
    assert content.headers["content-type"] == "application/pdf"
    assert f"utility-bill-{customer}" in content.headers["content-disposition"]


def test_json_reply_names_versions_stage_and_content_url(api: Api) -> None:
    customer = new_customer()
    reply = api.post("/v1/documents", letter_request(customer, "email"))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert reply.headers["location"].endswith(f"/v1/documents/{body['id']}")
    assert body["channel"] == "email" and body["media_type"].startswith("text/html")
    assert (body["journey"], body["stage"]) == ("utility-customer", "welcome")
    assert body["subject"]
    assert body["text_sha256"]  # the plain-text alternative is kept too
    content = api.get(body["content_url"])
    assert content.headers["content-type"].startswith("text/html")
    assert hashlib.sha256(content.content).hexdigest() == body["sha256"]


def test_sms_document_reports_its_segments(api: Api) -> None:
    reply = api.post("/v1/documents", promotion_request(new_customer(), "sms"),
                     Accept="text/plain")
    assert reply.status_code == 201
    assert reply.headers["content-type"].startswith("text/plain")
    record = api.get(f"/v1/documents/{reply.headers['ccm-communication-id']}").json()
    assert record["sms_segments"] >= 1 and record["sms_encoding"] in {"GSM-7", "UCS-2"}
    assert record["content_url"].endswith("/content")


def test_xml_data_gives_the_same_document_as_json(api: Api) -> None:
    request = bill_request(new_customer(), "html")
    xml = bill_xml(request["data"])
    from_json = api.post("/v1/documents", request).json()
    from_xml = api.post("/v1/documents", {**request, "data": None, "data_xml": xml}).json()
    assert from_xml["data_sha256"] == from_json["data_sha256"]
    assert from_xml["sha256"] == from_json["sha256"]


def _problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = reply.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


def test_missing_and_mistyped_fields_are_named_by_path(api: Api) -> None:
    customer = new_customer()
    request = bill_request(customer)
    del request["data"]["due_date"]
    request["data"]["items"][3]["amount"] = "lots"
    body = _problem(api.post("/v1/documents", request), 422, "data_invalid")
    paths = {v["path"] for v in body["violations"]}
    assert {"/due_date", "/items/3/amount"} <= paths
    assert api.communications(customer) == 0


def test_refusals_are_problems_not_server_errors(api: Api) -> None:
    customer = new_customer()
    _problem(api.post("/v1/documents", bill_request(customer, template="no-such")), 404,
             "not_found")
    _problem(api.post("/v1/documents", bill_request(customer, channel="fax")), 422,
             "input_invalid")
    _problem(api.post("/v1/documents", bill_request(customer, version=999)), 404, "not_found")
    _problem(api.post("/v1/documents", bill_request(customer, locale="xx_YY")), 422,
             "input_invalid")
    both = api.post("/v1/documents", {**bill_request(customer), "data_xml": "<bill/>"})
    _problem(both, 422, "input_invalid")
    missing = api.post("/v1/documents", {"template": "utility-bill", "channel": "pdf"})
    assert {v["path"] for v in _problem(missing, 422, "request_invalid")["violations"]} == {
        "/customer_id"}
    malformed = api.client.post("/v1/documents", content=b'{"template": ',
                                headers=api.auth(**{"Content-Type": "application/json"}))
    _problem(malformed, 400, "malformed_body")
    xxe = ('<?xml version="1.0"?><!DOCTYPE bill [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           "<bill>&x;</bill>")
    _problem(api.post("/v1/documents", {**bill_request(customer), "data": None,
                                        "data_xml": xxe}), 422, "input_forbidden_markup")
    assert api.communications(customer) == 0


def test_altered_artifact_is_refused_not_served(api: Api) -> None:
    record = api.post("/v1/documents", promotion_request(new_customer())).json()
    path = Path(api.settings.artifact_dir) / record["sha256"][:2] / record["sha256"][2:4] / \
        record["sha256"]
    original = path.read_bytes()
    try:
        path.write_bytes(original + b" ")
        _problem(api.get(record["content_url"]), 500, "artifact_corrupt")
    finally:
        path.write_bytes(original)
    assert api.get(record["content_url"]).content == original


def test_unknown_communication_is_404(api: Api) -> None:
    _problem(api.get("/v1/documents/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    _problem(api.get("/v1/documents/nope/content"), 404, "not_found")


def test_health_reports_database_and_storage(api: Api) -> None:
    reply = api.client.get("/v1/health")
    assert reply.status_code == 200
    assert reply.json()["checks"] == {"database": {"status": "ok"}, "storage": {"status": "ok"}}


def test_health_is_503_when_storage_is_unusable(api: Api, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the artifact folder should be")
    settings = api_settings(api.engine, blocked)
    with TestClient(create_app(settings, run_batches=False)) as client:
        reply = client.get("/v1/health")
    assert reply.status_code == 503
    checks = reply.json()["checks"]
    assert checks["database"]["status"] == "ok" and checks["storage"]["status"] == "error"


def test_pdfs_rendered_in_worker_processes_are_the_same_bytes(api: Api, tmp_path: Path) -> None:
    request = bill_request(new_customer())
    inline = api.post("/v1/documents", request, Accept="application/pdf")
    settings = api_settings(api.engine, tmp_path, render_executor="process", render_workers=1)
    with TestClient(create_app(settings, run_batches=False)) as client:
        pooled = client.post("/v1/documents", content=to_json(request), headers=api.auth(
            **{"Content-Type": "application/json", "Accept": "application/pdf"}))
    assert pooled.status_code == 201, pooled.text
    assert pooled.content == inline.content
    assert api.communications(request["customer_id"]) == 2


def test_an_emails_plain_text_part_can_be_fetched_too(api: Api) -> None:
    record = api.post("/v1/documents", letter_request(new_customer(), "email")).json()
    text = api.get(record["content_url"] + "?part=text")
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert hashlib.sha256(text.content).hexdigest() == record["text_sha256"]
    assert "Jürgen" in text.text and "<" not in text.text
    pdf = api.post("/v1/documents", promotion_request(new_customer(), "sms")).json()
    _problem(api.get(pdf["content_url"] + "?part=text"), 404, "not_found")


def test_an_accept_header_that_fits_no_reply_is_406_before_any_work(api: Api) -> None:
    customer = new_customer()
    reply = api.post("/v1/documents", promotion_request(customer, "sms"),
                     Accept="application/pdf")
    _problem(reply, 406, "not_acceptable")
    assert api.communications(customer) == 0
    fine = api.post("/v1/documents", promotion_request(customer, "sms"),
                    Accept="application/pdf, application/json;q=0.5")
    assert fine.status_code == 201 and fine.headers["content-type"] == "application/json"
