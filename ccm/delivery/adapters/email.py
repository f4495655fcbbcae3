"""Email over SMTP: the MIME message a communication becomes, and the adapter that sends it.

Why it is built the way it is:

* **Stable Message-ID.** ``Message-ID: <{message_id}@{sender domain}>`` comes from the
  outbox's ``message_id``, never from a clock or a random source. A worker that crashes
  after the server accepted a message but before it recorded the receipt sends the
  message again with the *same* Message-ID, so the receiving side (and our own bounce and
  complaint tracking) recognises the retry instead of seeing a second, different email.
* **Deterministic bytes.** The stored email is hashed, and a retry must store the same
  hash, so :func:`build_mime` gives the same bytes for the same message: the ``Date``
  header is the worker's ``message.date`` (not "now") and the MIME boundaries are derived
  from the ``message_id`` and the part's depth instead of the email package's random ones.
* **7-bit clean.** Bodies are encoded quoted-printable or base64 (the email package picks
  whichever is shorter; short plain-ASCII text stays 7bit), so the bytes do not depend on
  whether a relay offers 8BITMIME and survive any relay unchanged.
* **Headers not mangled.** The stdlib folds a long unstructured header by turning it
  into RFC 2047 encoded words, which breaks ``List-Unsubscribe`` (mail clients then no
  longer see the ``<https://...>`` URL). Extra ASCII headers are therefore folded only at
  spaces, the way RFC 5322 folding is meant to work.

The caller (the delivery worker) is synchronous; :class:`SmtpAdapter` runs aiosmtplib in
a fresh event loop per :meth:`SmtpAdapter.deliver_many` call and sends the whole batch
over one connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.policy import Policy
from typing import Any, TypeVar

import aiosmtplib

from ccm.delivery.message import (
    AnswerCallback,
    DeliveryChannel,
    DeliveryFailed,
    DeliveryReceipt,
    OutboundMessage,
)

__all__ = ["MIME_POLICY", "SmtpAdapter", "SmtpSettings", "build_mime", "message_id_header"]

_T = TypeVar("_T")

_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]+")
#: RFC 5322 field names: printable ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
#: Headers build_mime writes itself; ``message.headers`` may not set them.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "sender",
     "reply-to"}
)
_MAX_LINE = 998  # RFC 5322 hard limit, without the CRLF


class _VerbatimHeader(UnstructuredHeader, BaseHeader):
    """An unstructured header folded only at spaces (never re-encoded) when it is ASCII.

    The class is reached through the message policy's header registry, so the folding
    also holds when aiosmtplib flattens the message again with its own policy."""

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():
            return super().fold(policy=policy)
        head = f"{self.name}:"
        limit = policy.max_line_length or _MAX_LINE
        lines = [head]
        for word in value.split(" "):
            if lines[-1] != head and len(lines[-1]) + 1 + len(word) > limit:
                lines.append("")
            lines[-1] += " " + word
        if any(len(line) > _MAX_LINE for line in lines):
            raise ValueError(f"header {self.name} has a word longer than {_MAX_LINE} characters")
        return policy.linesep.join(lines) + policy.linesep


#: ``email.policy.SMTP`` (CRLF line ends, 78-column folding) made 7-bit clean, with extra
#: ASCII headers folded at spaces only (see :class:`_VerbatimHeader`).
MIME_POLICY: Policy = email.policy.SMTP.clone(
    cte_type="7bit", header_factory=HeaderRegistry(default_class=_VerbatimHeader)
)


def _single_address(value: str, field_name: str) -> str:
    """The addr-spec of a header holding exactly one address (``Name <a@b>`` or ``a@b``)."""
    addresses = email.utils.getaddresses([value])
    if len(addresses) != 1 or not addresses[0][1]:
        raise ValueError(f"{field_name} must hold exactly one address: {value!r}")
    address = addresses[0][1]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "." not in domain.strip("."):
        raise ValueError(f"{field_name} is not an email address: {value!r}")
    return address


def message_id_header(message: OutboundMessage) -> str:
    """The ``Message-ID`` value of ``message``: ``<{message_id}@{domain of From}>``."""
    if not _MESSAGE_ID.fullmatch(message.message_id):
        raise ValueError(f"message_id must be letters, digits and '-': {message.message_id!r}")
    if not message.from_address:
        raise ValueError("missing from_address")
    domain = _single_address(message.from_address, "from_address").rpartition("@")[2]
    return f"<{message.message_id}@{domain}>"


def _boundary(message_id: str, depth: int, avoid: Sequence[str]) -> str:
    """A MIME boundary fixed by the message and the part's depth.

    ``=_`` cannot occur in base64 and is escaped in quoted-printable, so only bodies sent
    as plain 7bit text could contain it; the (deterministic) counter steps past those."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{message_id}/{depth}/{counter}".encode()).hexdigest()
        boundary = f"=_ccm{depth}_{digest[:32]}"
        if not any(boundary in text for text in avoid):
            return boundary
        counter += 1


def _split_media_type(media_type: str) -> tuple[str, str]:
    maintype, slash, subtype = media_type.partition("/")
    if not slash or not maintype or not subtype:
        raise ValueError(f"not a media type: {media_type!r}")
    return maintype.lower(), subtype.lower()


def build_mime(message: OutboundMessage) -> EmailMessage:
    """The MIME message for ``message``; the same message always gives the same bytes.

    Structure (each level only when needed)::

        multipart/mixed                    (only with attachments)
          multipart/alternative            (only with a text body)
            text/plain                     message.text
            multipart/related              (only with inline parts)
              text/html                    message.html
              image/png  Content-ID: <cid>, inline
          application/pdf                  attachment; filename=...

    Raises :class:`ValueError` naming the missing or invalid field.
    """
    if message.to_address is None or not message.to_address.strip():
        raise ValueError("missing to_address")
    if message.from_address is None or not message.from_address.strip():
        raise ValueError("missing from_address")
    if message.html is None:
        raise ValueError("missing html")
    if message.date is None:
        raise ValueError("missing date")
    _single_address(message.to_address, "to_address")
    message_id = message_id_header(message)
    avoid = [message.html, message.text or ""]

    mime = EmailMessage(policy=MIME_POLICY)
    mime["From"] = message.from_address
    mime["To"] = message.to_address
    if message.subject is not None:
        mime["Subject"] = message.subject
    mime["Date"] = email.utils.format_datetime(message.date)
    mime["Message-ID"] = message_id
    for name, value in message.headers.items():
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"not a header name: {name!r}")
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or lowered.startswith("content-"):
            raise ValueError(f"header {name} is set by build_mime, not by message.headers")
        mime[name] = value
    mime["MIME-Version"] = "1.0"

    def html_into(target: MIMEPart, depth: int) -> None:
        if not message.inline_parts:
            target.set_content(message.html, subtype="html", charset="utf-8")
            return
        target.make_related(boundary=_boundary(message.message_id, depth, avoid))
        html = MIMEPart(policy=MIME_POLICY)
        html.set_content(message.html, subtype="html", charset="utf-8")
        target.attach(html)
        for inline in message.inline_parts:
            maintype, subtype = _split_media_type(inline.media_type)
            image = MIMEPart(policy=MIME_POLICY)
            image.set_content(inline.content, maintype, subtype,
                              disposition="inline", cid=f"<{inline.content_id}>")
            target.attach(image)

    def body_into(target: MIMEPart, depth: int) -> None:
        if message.text is None:
            html_into(target, depth)
            return
        target.make_alternative(boundary=_boundary(message.message_id, depth, avoid))
        text = MIMEPart(policy=MIME_POLICY)
        text.set_content(message.text, subtype="plain", charset="utf-8")
        target.attach(text)
        html = MIMEPart(policy=MIME_POLICY)
        html_into(html, depth + 1)
        target.attach(html)

    if not message.attachments:
        body_into(mime, 0)
        return mime
    mixed: MIMEPart = mime  # attach() is typed for parts of the same class
    mixed.make_mixed(boundary=_boundary(message.message_id, 0, avoid))
    body = MIMEPart(policy=MIME_POLICY)
    body_into(body, 1)
    mixed.attach(body)
    for attachment in message.attachments:
        maintype, subtype = _split_media_type(attachment.media_type)
        part = MIMEPart(policy=MIME_POLICY)
        part.set_content(attachment.content, maintype, subtype,
                         disposition="attachment", filename=attachment.filename)
        mixed.attach(part)
    return mime


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to submit mail. ``starttls`` upgrades a plain connection (port 587);
    ``use_tls`` connects over TLS from the start (port 465); at most one may be set."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    timeout: float = 30.0
    helo: str | None = None  # the EHLO name; None: this host's FQDN

    def __post_init__(self) -> None:
        if self.starttls and self.use_tls:
            raise ValueError("starttls and use_tls are mutually exclusive")


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run ``factory()`` in a fresh event loop: in this thread, or in a helper thread when
    this thread already runs a loop (``asyncio.run`` refuses to nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _answer_for_reply(code: int, text: str) -> DeliveryFailed:
    """A refusal: 5xx is permanent, anything else (4xx) is worth retrying."""
    return DeliveryFailed(f"SMTP {text}", permanent=500 <= code < 600)


class SmtpAdapter:
    """Sends email over one SMTP connection per batch (see the module docstring)."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def deliver_many(
        self, messages: Sequence[OutboundMessage], on_answer: AnswerCallback | None = None
    ) -> list[DeliveryReceipt | DeliveryFailed]:
        answers: list[DeliveryReceipt | DeliveryFailed | None] = [None] * len(messages)
        ready: list[tuple[int, EmailMessage, str, str]] = []
        for index, message in enumerate(messages):
            if message.channel is not DeliveryChannel.EMAIL:
                answers[index] = DeliveryFailed(
                    f"not an email message: channel {message.channel}", permanent=True)
                continue
            try:
                mime = build_mime(message)
                sender = _single_address(message.from_address or "", "from_address")
                recipient = _single_address(message.to_address or "", "to_address")
            except ValueError as exc:
                answers[index] = DeliveryFailed(str(exc), permanent=True)
                continue
            ready.append((index, mime, sender, recipient))

        if on_answer is not None:
            for index, answer in enumerate(answers):
                if answer is not None:
                    on_answer(index, answer)
        if ready:
            _run_coroutine(lambda: self._send_all(ready, answers, on_answer))

        result: list[DeliveryReceipt | DeliveryFailed] = []
        for answer in answers:
            assert answer is not None
            result.append(answer)
        return result

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        return aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            local_hostname=settings.helo,
            timeout=settings.timeout,
            use_tls=settings.use_tls,
            start_tls=settings.starttls,
        )

    async def _send_all(
        self,
        ready: Sequence[tuple[int, EmailMessage, str, str]],
        answers: list[DeliveryReceipt | DeliveryFailed | None],
        on_answer: AnswerCallback | None = None,
    ) -> None:
        """Send ``ready`` in order over one connection, reconnecting once if it breaks;
        a message whose send was cut off is sent again on the new connection (its stable
        Message-ID lets the receiver recognise a duplicate)."""
        smtp: aiosmtplib.SMTP | None = None
        reconnects_left = 1
        position = 0
        try:
            while position < len(ready):
                index, mime, sender, recipient = ready[position]
                if smtp is None or not smtp.is_connected:
                    if smtp is not None:
                        smtp.close()
                        if reconnects_left == 0:
                            self._fail_rest(ready, position, answers,
                                            "SMTP connection lost again after reconnecting")
                            return
                        reconnects_left -= 1
                    smtp = self._client()
                    try:
                        await smtp.connect()
                    except aiosmtplib.SMTPResponseException as exc:
                        self._fail_rest(ready, position, answers,
                                        f"SMTP server refused the session: {_reply(exc)}")
                        return
                    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                        self._fail_rest(ready, position, answers,
                                        f"cannot connect to SMTP server "
                                        f"{self.settings.host}:{self.settings.port}: {exc}")
                        return
                try:
                    _, reply = await smtp.send_message(
                        mime, sender=sender, recipients=[recipient])
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients[0]
                    answers[index] = _answer_for_reply(
                        refused.code, f"recipient {refused.recipient} refused: {_reply(refused)}")
                except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError,
                        OSError, TimeoutError):
                    # The connection broke mid-message: retry it on a new connection.
                    smtp.close()
                    continue
                except aiosmtplib.SMTPResponseException as exc:
                    answers[index] = _answer_for_reply(exc.code, _reply(exc))
                except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
                    answers[index] = DeliveryFailed(f"SMTP: {exc}", permanent=True)
                else:
                    answers[index] = DeliveryReceipt(
                        provider=self.name,
                        provider_message_id=str(mime["Message-ID"]),
                        detail=reply,
                    )
                if on_answer is not None:
                    answer = answers[index]
                    assert answer is not None
                    on_answer(index, answer)
                position += 1
        finally:
            if smtp is not None and smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await smtp.quit()
            if smtp is not None:
                smtp.close()

    @staticmethod
    def _fail_rest(
        ready: Sequence[tuple[int, EmailMessage, str, str]],
        position: int,
        answers: list[DeliveryReceipt | DeliveryFailed | None],
        reason: str,
    ) -> None:
        for index, *_ in ready[position:]:
            answers[index] = DeliveryFailed(reason, permanent=False)
