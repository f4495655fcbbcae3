"""What a channel adapter is given to deliver, and what it answers.

The worker renders a communication, stores it, and hands an :class:`OutboundMessage` to
the adapter of its channel. Adapters are the outbound boundary: each is a
:class:`ChannelAdapter`, with real ones (SMTP, an SMS provider's HTTP API, a print spool)
and fakes for unit tests.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class DeliveryChannel(enum.StrEnum):
    """Where a communication goes: each renders one template body."""

    EMAIL = "email"  # the template's email body (+ its PDF when the template attaches it)
    SMS = "sms"  # the sms body
    PRINT = "print"  # the pdf body, posted by a print vendor


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    media_type: str  # "application/pdf"
    content: bytes


@dataclass(frozen=True, slots=True)
class InlinePart:
    """An image the HTML shows as ``cid:<content_id>``."""

    content_id: str
    media_type: str  # "image/png"
    content: bytes


@dataclass(frozen=True)
class OutboundMessage:
    """One send, ready for its adapter. ``message_id`` is stable across retries: it is the
    provider idempotency key (SMS), the ``Message-ID`` (email) and the spool file name
    (print), so a retry after a crash is recognised as the same message."""

    message_id: str  # e.g. "8c0f...": letters, digits, '-' only
    channel: DeliveryChannel
    customer_id: str
    #: When the send is made (the worker's clock): the email ``Date`` header.
    date: datetime | None = None
    # email
    to_address: str | None = None
    from_address: str | None = None  # "Northwind Energy <billing@northwind.example>"
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    inline_parts: Sequence[InlinePart] = ()
    attachments: Sequence[Attachment] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # List-Unsubscribe, ...
    # sms
    to_number: str | None = None
    sender_id: str | None = None
    sms_text: str | None = None
    # print
    pdf: bytes | None = None
    recipient_name: str | None = None
    postal_address: Sequence[str] = ()
    page_count: int | None = None
    sha256: str | None = None  # of the main document


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """The provider took the message; ``provider_message_id`` matches its callbacks."""

    provider: str  # "smtp", "sms-http", "print-spool"
    provider_message_id: str
    detail: str = ""


class DeliveryFailed(Exception):
    """The adapter could not deliver. ``permanent`` failures are not retried (a bad
    address, a refused number); others are retried with backoff."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


#: Told each answer as soon as it is known (message index, answer), so the caller can
#: record a send as sent right after the provider took it, not after the whole batch.
AnswerCallback = Callable[[int, "DeliveryReceipt | DeliveryFailed"], None]


class ChannelAdapter(Protocol):
    """Delivers messages of one channel. ``deliver_many`` lets an adapter reuse one
    connection; it answers each message with a receipt or a :class:`DeliveryFailed`,
    in order, and tells ``on_answer`` each answer as it comes."""

    name: str

    def deliver_many(
        self, messages: Sequence[OutboundMessage], on_answer: AnswerCallback | None = None
    ) -> list[DeliveryReceipt | DeliveryFailed]: ...
