"""The HTTP SMS adapter against a real local provider endpoint (``SmsSink``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccm.delivery.adapters.sms import HttpSmsAdapter
from ccm.delivery.message import DeliveryChannel, DeliveryFailed, DeliveryReceipt, OutboundMessage
from ccm.delivery.sinks import SmsSink, free_port

TEXT = "Northwind: Ihre Rechnung über 128,40 € ist da. Jürgen Weiß, danke!"


def sms(message_id: str = "8c0f-sms-1", **changes: Any) -> OutboundMessage:
    message = OutboundMessage(
        message_id=message_id,
        channel=DeliveryChannel.SMS,
        customer_id="CUST-1",
        to_number="+4915112345678",
        sender_id="Northwind",
        sms_text=TEXT,
    )
    return dataclasses.replace(message, **changes)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmsSink]:
    with SmsSink(folder=tmp_path / "sms", token="s3cret") as server:
        yield server


def test_a_message_is_accepted(sink: SmsSink) -> None:
    [answer] = HttpSmsAdapter(sink.url, token="s3cret").deliver_many([sms()])

    assert answer == DeliveryReceipt(provider="sms-http", provider_message_id="sms-1",
                                     detail="HTTP 201")
    [received] = sink.received
    assert received.body == {"to": "+4915112345678", "from": "Northwind", "text": TEXT,
                             "reference": "8c0f-sms-1"}
    assert received.headers["idempotency-key"] == "8c0f-sms-1"
    assert received.headers["authorization"] == "Bearer s3cret"
    assert received.headers["content-type"] == "application/json"
    assert received.path is not None
    assert received.path.name == "1-8c0f-sms-1.json"
    assert json.loads(received.path.read_text(encoding="utf-8"))["text"] == TEXT


def test_several_messages_in_one_batch(sink: SmsSink) -> None:
    answers = HttpSmsAdapter(sink.url, token="s3cret").deliver_many(
        [sms(f"m-{n}", to_number=f"+49151000000{n}") for n in range(3)])

    assert [a.provider_message_id for a in answers if isinstance(a, DeliveryReceipt)] == [
        "sms-1", "sms-2", "sms-3"]
    assert [r.body["to"] for r in sink.received] == [f"+49151000000{n}" for n in range(3)]


def test_a_retry_is_recognised_by_its_idempotency_key(sink: SmsSink) -> None:
    adapter = HttpSmsAdapter(sink.url, token="s3cret")

    [first] = adapter.deliver_many([sms()])
    [again] = adapter.deliver_many([sms()])

    assert isinstance(first, DeliveryReceipt) and isinstance(again, DeliveryReceipt)
    assert again.provider_message_id == first.provider_message_id
    assert len(sink.received) == 1
    assert sink.raw_count == 2


def test_a_503_is_transient_and_the_retry_succeeds() -> None:
    with SmsSink(fail_next=1) as sink:
        adapter = HttpSmsAdapter(sink.url)

        [first] = adapter.deliver_many([sms()])
        assert isinstance(first, DeliveryFailed)
        assert not first.permanent
        assert "503" in first.reason

        [second] = adapter.deliver_many([sms()])
        assert isinstance(second, DeliveryReceipt)
        assert len(sink.received) == 1
        assert "authorization" not in sink.received[0].headers


def test_a_422_is_permanent_with_the_providers_reason() -> None:
    with SmsSink(reject_numbers={"+4915199999999"}) as sink:
        [refused, fine] = HttpSmsAdapter(sink.url).deliver_many(
            [sms("refused", to_number="+4915199999999"), sms("fine")])

        assert isinstance(refused, DeliveryFailed)
        assert refused.permanent
        assert "422" in refused.reason and "+4915199999999" in refused.reason
        assert isinstance(fine, DeliveryReceipt)


def test_a_wrong_token_is_permanent(sink: SmsSink) -> None:
    [answer] = HttpSmsAdapter(sink.url, token="wrong").deliver_many([sms()])

    assert isinstance(answer, DeliveryFailed)
    assert answer.permanent
    assert "401" in answer.reason


@pytest.mark.parametrize(("changes", "field"), [
    ({"to_number": None}, "to_number"),
    ({"to_number": "015112345678"}, "to_number"),
    ({"to_number": "+49 151 1234567"}, "to_number"),
    ({"to_number": "+1234567"}, "to_number"),
    ({"to_number": "+1234567890123456"}, "to_number"),
    ({"sms_text": None}, "sms_text"),
    ({"sms_text": ""}, "sms_text"),
])
def test_an_unusable_message_fails_permanently_without_a_request(
    sink: SmsSink, changes: dict[str, Any], field: str,
) -> None:
    [answer] = HttpSmsAdapter(sink.url, token="s3cret").deliver_many([sms(**changes)])

    assert isinstance(answer, DeliveryFailed)
    assert answer.permanent
    assert field in answer.reason
    assert sink.raw_count == 0


def test_a_provider_that_is_down_gives_transient_failures() -> None:
    adapter = HttpSmsAdapter(f"http://127.0.0.1:{free_port()}/messages", timeout=2.0)

    answers = adapter.deliver_many([sms("a"), sms("b")])

    assert len(answers) == 2
    for answer in answers:
        assert isinstance(answer, DeliveryFailed)
        assert not answer.permanent
        assert "unreachable" in answer.reason
