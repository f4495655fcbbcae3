"""Idempotency-Key on POSTs: replay, conflicting reuse, and concurrent retries."""

from __future__ import annotations

import threading
from typing import Any

from api_support import Api, bill_request, new_customer, promotion_request


def test_replay_returns_the_first_reply_and_records_nothing_new(api: Api) -> None:
    customer = new_customer()
    request = promotion_request(customer)
    first = api.post("/v1/documents", request, **{"Idempotency-Key": f"k-{customer}"})
    again = api.post("/v1/documents", request, **{"Idempotency-Key": f"k-{customer}"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert api.communications(customer) == 1
    assert first.json()["idempotency_key"] == f"k-{customer}"


def test_replay_of_a_document_reply_gives_the_same_bytes(api: Api) -> None:
    customer = new_customer()
    request = bill_request(customer, "html")
    headers = {"Idempotency-Key": f"doc-{customer}", "Accept": "text/html"}
    first = api.post("/v1/documents", request, **headers)
    again = api.post("/v1/documents", request, **headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["ccm-communication-id"] == first.headers["ccm-communication-id"]
    assert api.communications(customer) == 1


def test_same_key_with_another_body_is_a_conflict(api: Api) -> None:
    customer = new_customer()
    key = {"Idempotency-Key": f"c-{customer}"}
    assert api.post("/v1/documents", promotion_request(customer), **key).status_code == 201
    other = api.post("/v1/documents", promotion_request(customer, "email"), **key)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert api.communications(customer) == 1


def test_keys_belong_to_their_api_key(api: Api) -> None:
    customer = new_customer()
    key = {"Idempotency-Key": f"shared-{customer}"}
    assert api.post("/v1/documents", promotion_request(customer), **key).status_code == 201
    # Another client picking the same key is another request, not a replay.
    assert api.post("/v1/documents", promotion_request(customer), role="all",
                    **key).status_code == 201
    assert api.communications(customer) == 2


def test_a_refused_request_replays_its_refusal(api: Api) -> None:
    customer = new_customer()
    request = promotion_request(customer)
    del request["data"]["offer"]
    key = {"Idempotency-Key": f"bad-{customer}"}
    first = api.post("/v1/documents", request, **key)
    again = api.post("/v1/documents", request, **key)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_concurrent_retries_make_one_record(api: Api) -> None:
    customer = new_customer()
    request = bill_request(customer, "pdf")
    key = {"Idempotency-Key": f"race-{customer}"}
    replies: list[Any] = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait()
        replies.append(api.post("/v1/documents", request, **key))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in replies] == [201] * 6, [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    assert sum(1 for r in replies if r.headers.get("idempotent-replayed")) == 5
    assert api.communications(customer) == 1


def test_an_invalid_key_is_refused(api: Api) -> None:
    reply = api.post("/v1/documents", promotion_request(new_customer()),
                     **{"Idempotency-Key": "x" * 300})
    assert reply.status_code == 422 and reply.json()["code"] == "input_invalid"
