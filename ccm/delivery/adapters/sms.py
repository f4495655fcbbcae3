"""SMS through a provider's HTTP API: one JSON ``POST`` per message.

Every request carries ``Idempotency-Key: <message_id>`` (and the id again as
``reference``). The outbox's ``message_id`` is stable across retries, so when a worker
crashes after the provider accepted a message but before the receipt was stored, the
retry is recognised by the provider and answered with the first message's id instead of
texting the customer twice.

Status codes are sorted the way providers mean them: a 4xx says the request itself is
wrong (a bad number, a refused sender) and is not retried, except 408/409/425/429, which
say "not now"; 5xx, timeouts and connection errors are retried.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx2

from ccm.delivery.message import (
    AnswerCallback,
    DeliveryChannel,
    DeliveryFailed,
    DeliveryReceipt,
    OutboundMessage,
)

__all__ = ["E164", "HttpSmsAdapter"]

#: E.164: a '+', then 8 to 15 digits, the first not 0.
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
#: 4xx statuses that mean "try again later" rather than "this request is wrong".
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_EXCERPT = 200
_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]+")


def _excerpt(response: httpx2.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


class HttpSmsAdapter:
    """Posts each SMS to ``url`` (see the module docstring); one HTTP client per batch, so
    the connection is reused across the batch."""

    name = "sms-http"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def deliver_many(
        self, messages: Sequence[OutboundMessage], on_answer: AnswerCallback | None = None
    ) -> list[DeliveryReceipt | DeliveryFailed]:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        with httpx2.Client(timeout=self.timeout, headers=headers,
                           follow_redirects=False) as client:
            answers = []
            for index, message in enumerate(messages):
                answers.append(self._deliver(client, message))
                if on_answer is not None:
                    on_answer(index, answers[-1])
            return answers

    def _deliver(
        self, client: httpx2.Client, message: OutboundMessage
    ) -> DeliveryReceipt | DeliveryFailed:
        if message.channel is not DeliveryChannel.SMS:
            return DeliveryFailed(f"not an SMS message: channel {message.channel}",
                                  permanent=True)
        if not _MESSAGE_ID.fullmatch(message.message_id):
            return DeliveryFailed(
                f"message_id must be letters, digits and '-': {message.message_id!r}",
                permanent=True)
        if not message.to_number:
            return DeliveryFailed("missing to_number", permanent=True)
        if not E164.fullmatch(message.to_number):
            return DeliveryFailed(
                f"to_number {message.to_number!r} is not an E.164 number (+ and 8-15 digits)",
                permanent=True)
        if not message.sms_text:
            return DeliveryFailed("missing sms_text", permanent=True)
        payload = {
            "to": message.to_number,
            "from": message.sender_id,
            "text": message.sms_text,
            "reference": message.message_id,
        }
        try:
            response = client.post(self.url, json=payload,
                                   headers={"Idempotency-Key": message.message_id})
        except httpx2.TimeoutException as exc:
            return DeliveryFailed(f"SMS provider timed out: {type(exc).__name__}")
        except httpx2.TransportError as exc:
            return DeliveryFailed(f"SMS provider unreachable: {type(exc).__name__}: {exc}")
        except httpx2.HTTPError as exc:
            return DeliveryFailed(f"SMS request failed: {type(exc).__name__}: {exc}")
        return self._answer(message, response)

    def _answer(
        self, message: OutboundMessage, response: httpx2.Response
    ) -> DeliveryReceipt | DeliveryFailed:
        status = response.status_code
        if 200 <= status < 300:
            provider_id = _provider_id(response)
            if provider_id is None:
                # Accepted, but no id to match callbacks by: the provider knows the message
                # by our reference, and re-sending could text the customer twice.
                return DeliveryReceipt(
                    provider=self.name, provider_message_id=message.message_id,
                    detail=f"HTTP {status} without an id; the reference stands in")
            return DeliveryReceipt(provider=self.name, provider_message_id=provider_id,
                                   detail=f"HTTP {status}")
        reason = f"SMS provider answered HTTP {status}: {_excerpt(response)}"
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            return DeliveryFailed(reason, permanent=True)
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            reason += f" (Retry-After: {retry_after})"
        return DeliveryFailed(reason, permanent=False)


def _provider_id(response: httpx2.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for key in ("id", "message_id"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None
