"""POST /v1/documents and reading documents back: bytes, records, errors."""

from __future__ import annotations

import hashlib

from api_support import Api, bill_request, new_customer, pdf_text


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
