"""The SMTP adapter against a real SMTP server (aiosmtpd on 127.0.0.1): what the server
received is parsed back and checked part by part."""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage, MIMEPart
from pathlib import Path
from typing import Any

import pytest

from ccm.delivery.adapters.email import SmtpAdapter, SmtpSettings, build_mime
from ccm.delivery.message import (
    Attachment,
    DeliveryChannel,
    DeliveryFailed,
    DeliveryReceipt,
    InlinePart,
    OutboundMessage,
)
from ccm.delivery.sinks import SmtpCapture, free_port

# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = (
    "<!doctype html><html><body><p>Guten Tag Jürgen Weiß,</p>"
    "<p>Ihre Rechnung über 128,40 € ist fällig. " + "Lange Zeile ohne Umbruch. " * 12 + "</p>"
    '<img src="cid:logo-1" alt="Northwind"></body></html>'
)
TEXT = "Guten Tag Jürgen Weiß,\n\nIhre Rechnung über 128,40 € ist fällig.\n"
UNSUBSCRIBE = (
    "<mailto:unsubscribe@northwind.example?subject=unsubscribe-8c0f-0001>, "
    "<https://northwind.example/unsubscribe/8c0f-0001?token=0123456789abcdef0123456789abcdef"
    "0123456789abcdef>"
)
DATE = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def email_message(message_id: str = "8c0f-0001", **changes: Any) -> OutboundMessage:
    message = OutboundMessage(
        message_id=message_id,
        channel=DeliveryChannel.EMAIL,
        customer_id="CUST-1",
        date=DATE,
        to_address="Jürgen Weiß <juergen.weiss@example.de>",
        from_address="Northwind Energy <billing@northwind.example>",
        subject="Ihre Rechnung über 128,40 € – März 2025",
        html=HTML,
        text=TEXT,
        inline_parts=(InlinePart("logo-1", "image/png", PNG),),
        attachments=(Attachment("Rechnung-2025-03.pdf", "application/pdf", PDF),),
        headers={"List-Unsubscribe": UNSUBSCRIBE,
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    return dataclasses.replace(message, **changes)


def adapter_for(capture: SmtpCapture) -> SmtpAdapter:
    return SmtpAdapter(SmtpSettings("127.0.0.1", capture.port, timeout=5.0, helo="ccm.test"))


def tree(part: MIMEPart) -> list[str]:
    """The MIME tree as "depth:content-type", depth first, in order."""
    found: list[str] = []

    def walk(node: MIMEPart, depth: int) -> None:
        found.append(f"{depth}:{node.get_content_type()}")
        if node.is_multipart():
            for child in node.iter_parts():
                assert isinstance(child, MIMEPart)
                walk(child, depth + 1)

    walk(part, 0)
    return found


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    found: dict[str, EmailMessage] = {}
    for part in message.walk():
        assert isinstance(part, EmailMessage)
        found.setdefault(part.get_content_type(), part)
    return found


def decoded(part: EmailMessage) -> str:
    """A text part's content as written: MIME text travels with CRLF line ends (and the
    email package ends a body with a line end), which readers turn back into lines."""
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[SmtpCapture]:
    with SmtpCapture(folder=tmp_path / "mail") as server:
        yield server


def test_the_server_receives_the_full_mime_tree(capture: SmtpCapture) -> None:
    [answer] = adapter_for(capture).deliver_many([email_message()])

    assert isinstance(answer, DeliveryReceipt), answer
    assert answer.provider == "smtp"
    assert answer.provider_message_id == "<8c0f-0001@northwind.example>"
    [received] = capture.received
    assert received.mail_from == "billing@northwind.example"
    assert received.rcpt_tos == ("juergen.weiss@example.de",)
    mail = received.message
    assert tree(mail) == [
        "0:multipart/mixed",
        "1:multipart/alternative",
        "2:text/plain",
        "2:multipart/related",
        "3:text/html",
        "3:image/png",
        "1:application/pdf",
    ]
    assert mail["Message-ID"] == "<8c0f-0001@northwind.example>"
    assert mail["Subject"] == "Ihre Rechnung über 128,40 € – März 2025"
    assert mail["Date"].datetime == DATE
    assert mail["MIME-Version"] == "1.0"
    assert mail["From"].addresses[0].display_name == "Northwind Energy"
    assert mail["To"].addresses[0].display_name == "Jürgen Weiß"
    assert mail["List-Unsubscribe"] == UNSUBSCRIBE
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # 7-bit clean on the wire: nothing relies on the server's 8BITMIME.
    assert received.raw.isascii()
    assert max(len(line) for line in received.raw.split(b"\r\n")) <= 998

    found = parts(mail)
    assert decoded(found["text/plain"]) == TEXT
    assert found["text/plain"].get_content_charset() == "utf-8"
    assert decoded(found["text/html"]) == HTML + "\n"
    assert found["text/html"].get_content_charset() == "utf-8"
    image = found["image/png"]
    assert image["Content-ID"] == "<logo-1>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    pdf = found["application/pdf"]
    assert pdf.get_content_disposition() == "attachment"
    assert pdf.get_filename() == "Rechnung-2025-03.pdf"
    assert pdf.get_content() == PDF
    # The capture also wrote it as a file.
    assert received.path is not None
    assert received.path.name == "1-8c0f-0001.eml"
    assert received.path.read_bytes() == received.raw


def test_build_mime_is_deterministic_and_is_what_is_sent(capture: SmtpCapture) -> None:
    message = email_message()
    first = build_mime(message).as_bytes()

    assert build_mime(message).as_bytes() == first
    assert build_mime(dataclasses.replace(message, message_id="8c0f-0002")).as_bytes() != first
    adapter_for(capture).deliver_many([message])
    assert capture.received[0].raw == first
    assert email.message_from_bytes(first, policy=email.policy.default)["Date"] == (
        "Fri, 14 Mar 2025 09:26:53 +0000")


def test_simple_structures() -> None:
    html_only = build_mime(email_message(text=None, inline_parts=(), attachments=()))
    assert tree(html_only) == ["0:text/html"]
    alternative = build_mime(email_message(inline_parts=(), attachments=()))
    assert tree(alternative) == ["0:multipart/alternative", "1:text/plain", "1:text/html"]
    assert alternative.get_boundary() != build_mime(
        email_message(message_id="other", inline_parts=(), attachments=())).get_boundary()


def test_several_messages_share_one_connection(capture: SmtpCapture) -> None:
    messages = [email_message(f"batch-{n}", to_address=f"customer{n}@example.de")
                for n in range(5)]

    answers = adapter_for(capture).deliver_many(messages)

    assert all(isinstance(answer, DeliveryReceipt) for answer in answers), answers
    assert [a.provider_message_id for a in answers if isinstance(a, DeliveryReceipt)] == [
        f"<batch-{n}@northwind.example>" for n in range(5)]
    assert [r.rcpt_tos for r in capture.received] == [
        (f"customer{n}@example.de",) for n in range(5)]
    assert len({r.peer for r in capture.received}) == 1


def test_a_refused_recipient_is_permanent_and_the_batch_goes_on(tmp_path: Path) -> None:
    with SmtpCapture(refuse_recipients={"gone@example.de"}) as capture:
        answers = adapter_for(capture).deliver_many([
            email_message("refused", to_address="gone@example.de"),
            email_message("fine"),
        ])

        refused, fine = answers
        assert isinstance(refused, DeliveryFailed)
        assert refused.permanent
        assert "550" in refused.reason and "gone@example.de" in refused.reason
        assert isinstance(fine, DeliveryReceipt)
        assert list(capture.messages_by_id()) == ["<fine@northwind.example>"]


def test_a_451_is_transient_and_the_retry_keeps_the_message_id() -> None:
    with SmtpCapture(fail_next=1) as capture:
        adapter = adapter_for(capture)
        message = email_message()

        [first] = adapter.deliver_many([message])
        assert isinstance(first, DeliveryFailed)
        assert not first.permanent
        assert "451" in first.reason
        assert capture.received == []

        [second] = adapter.deliver_many([message])
        assert isinstance(second, DeliveryReceipt)
        # A retry after an acceptance the worker never recorded: the receiver sees the
        # same Message-ID twice and can tell it is one message.
        [third] = adapter.deliver_many([message])
        assert isinstance(third, DeliveryReceipt)
        assert capture.raw_count == 3
        by_id = capture.messages_by_id()
        assert list(by_id) == ["<8c0f-0001@northwind.example>"]
        assert len(by_id["<8c0f-0001@northwind.example>"]) == 2
        assert by_id["<8c0f-0001@northwind.example>"][0].raw == (
            by_id["<8c0f-0001@northwind.example>"][1].raw)


def test_a_server_that_is_down_gives_transient_failures() -> None:
    adapter = SmtpAdapter(SmtpSettings("127.0.0.1", free_port(), timeout=2.0, helo="ccm.test"))

    answers = adapter.deliver_many([email_message("a"), email_message("b")])

    assert len(answers) == 2
    for answer in answers:
        assert isinstance(answer, DeliveryFailed)
        assert not answer.permanent
        assert "cannot connect" in answer.reason


def test_a_connection_dropped_midway_is_reopened_once() -> None:
    with SmtpCapture(drop_next=1) as capture:
        answers = adapter_for(capture).deliver_many(
            [email_message("one"), email_message("two"), email_message("three")])

        assert all(isinstance(answer, DeliveryReceipt) for answer in answers), answers
        assert capture.raw_count == 4  # "one" was cut off once and sent again
        assert [r.message_id for r in capture.received] == [
            "<one@northwind.example>", "<two@northwind.example>", "<three@northwind.example>"]
        assert len({r.peer for r in capture.received}) == 1  # all on the second connection


def test_a_connection_that_keeps_dropping_fails_the_rest_transiently() -> None:
    with SmtpCapture(drop_next=2) as capture:
        answers = adapter_for(capture).deliver_many([email_message("one"), email_message("two")])

        assert all(isinstance(a, DeliveryFailed) and not a.permanent for a in answers), answers
        assert capture.received == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"to_address": None}, "to_address"),
    ({"from_address": None}, "from_address"),
    ({"html": None}, "html"),
    ({"date": None}, "date"),
    ({"to_address": "not an address"}, "to_address"),
    ({"headers": {"Message-ID": "<x@y>"}}, "Message-ID"),
])
def test_an_incomplete_message_fails_permanently_naming_the_field(
    capture: SmtpCapture, changes: dict[str, Any], field: str,
) -> None:
    [answer, fine] = adapter_for(capture).deliver_many(
        [email_message(**changes), email_message("fine")])

    assert isinstance(answer, DeliveryFailed)
    assert answer.permanent
    assert field in answer.reason
    assert isinstance(fine, DeliveryReceipt)
    assert len(capture.received) == 1


def test_works_when_called_inside_a_running_event_loop(capture: SmtpCapture) -> None:
    async def from_async_code() -> list[DeliveryReceipt | DeliveryFailed]:
        return adapter_for(capture).deliver_many([email_message()])

    [answer] = asyncio.run(from_async_code())

    assert isinstance(answer, DeliveryReceipt)
