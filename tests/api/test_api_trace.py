"""GET /v1/customers/{id}/communications: the auditor's trace of one customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_support import Api, bill_request, letter_request, new_customer, promotion_request


def _send(api: Api, request: dict[str, Any]) -> dict[str, Any]:
    reply = api.post("/v1/documents", request)
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_trace_lists_every_communication_of_the_customer_and_no_other(api: Api) -> None:
    customer, other = new_customer(), new_customer()
    sent = [
        _send(api, letter_request(customer, "html")),
        _send(api, bill_request(customer, "sms")),
        _send(api, promotion_request(customer, "email")),
        _send(api, bill_request(customer, "html")),
    ]
    _send(api, bill_request(other, "sms"))

    reply = api.get(f"/v1/customers/{customer}/communications")
    assert reply.status_code == 200, reply.text
    trace = reply.json()
    listed = trace["communications"]
    assert [c["id"] for c in listed] == [c["id"] for c in reversed(sent)]  # newest first
    assert {c["customer_id"] for c in listed} == {customer}
    for record in listed:
        assert record["template_version"] >= 1 and record["brand_version"] >= 1
        assert record["journey"] == "utility-customer"
        assert record["stage"] in {"welcome", "first-bill", "loyalty-offer"}
        assert record["sha256"] and record["content_url"]
    assert trace["next_cursor"] is None


def test_trace_filters_by_channel_journey_stage_and_period(api: Api) -> None:
    customer = new_customer()
    letter = _send(api, letter_request(customer, "html"))
    bill = _send(api, bill_request(customer, "sms"))
    base = f"/v1/customers/{customer}/communications"

    def ids(query: str) -> list[str]:
        reply = api.get(f"{base}?{query}")
        assert reply.status_code == 200, reply.text
        return [c["id"] for c in reply.json()["communications"]]

    assert ids("channel=sms") == [bill["id"]]
    assert ids("stage=welcome") == [letter["id"]]
    assert ids("journey=utility-customer") == [bill["id"], letter["id"]]
    assert ids("journey=other") == []
    created = datetime.fromisoformat(bill["created_at"])
    after = (created + timedelta(seconds=1)).isoformat()
    assert ids(f"since={after.replace('+', '%2B')}") == []
    before = (created - timedelta(days=1)).astimezone(UTC).isoformat()
    assert ids(f"since={before.replace('+', '%2B')}") == [bill["id"], letter["id"]]
    assert ids(f"until={before.replace('+', '%2B')}") == []
    assert api.get(f"{base}?channel=fax").status_code == 422


def test_trace_pages_with_a_cursor_without_repeats(api: Api) -> None:
    customer = new_customer()
    sent = [_send(api, promotion_request(customer, "sms"))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/v1/customers/{customer}/communications?{query}").json()
        seen.extend(c["id"] for c in page["communications"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(sent))
    bad = api.get(f"/v1/customers/{customer}/communications?cursor=not-a-cursor")
    assert bad.status_code == 422 and bad.json()["code"] == "input_invalid"


def test_trace_of_an_unknown_customer_is_empty(api: Api) -> None:
    reply = api.get(f"/v1/customers/{new_customer()}/communications")
    assert reply.status_code == 200 and reply.json()["communications"] == []
