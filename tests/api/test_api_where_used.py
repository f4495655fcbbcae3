"""`GET /v1/blocks/{key}/where-used`: every template version that includes a shared block,
directly or through a layout, and the blocks that include it."""

from __future__ import annotations

import json
import uuid

from api_support import Api

from ccm.stock import STOCK_DIR

BILL = json.loads((STOCK_DIR / "templates" / "utility-bill" / "sample.json").read_text())


def test_the_letterhead_is_used_through_the_document_layout(api: Api) -> None:
    reply = api.get("/v1/blocks/letterhead/where-used", role="marketing")
    assert reply.status_code == 200, reply.text
    usage = reply.json()
    assert usage["block"] == "block/letterhead"
    assert usage["included_by_blocks"] == ["layout/document"]
    bill = next(u for u in usage["templates"] if u["template"] == "utility-bill")
    assert bill["channels"] == ["html", "pdf"] and bill["via"] == "layout/document"
    stock = {"utility-bill", "welcome-letter", "loyalty-offer", "payment-reminder",
             "overdue-notice"}
    assert stock <= {u["template"] for u in usage["templates"]}


def test_a_direct_include_and_a_draft_are_found(api: Api) -> None:
    key = f"uses-{uuid.uuid4().hex[:8]}"
    made = api.post("/v1/templates", {"key": key, "kind": "notice", "brand": "northwind",
                                      "version": {
        "journey": "utility-customer", "stage": "payment-reminder",
        "bodies": {"email": '{% include "block/payment-slip" %}', "sms": "Pay."},
        "data_schema": {"type": "object"}, "sample_data": BILL}}, role="marketing")
    assert made.status_code == 201, made.text
    usage = api.get("/v1/blocks/payment-slip/where-used", role="auditor").json()
    [mine] = [u for u in usage["templates"] if u["template"] == key]
    assert mine == {"template": key, "version": 1, "status": "draft", "channels": ["email"],
                    "via": None}
    footer = api.get("/v1/blocks/legal-footer/where-used", role="auditor").json()
    assert {"layout/document", "layout/email"} <= set(footer["included_by_blocks"])
    assert api.get("/v1/blocks/no-such-block/where-used", role="auditor").status_code == 404
