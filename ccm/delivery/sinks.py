"""Local peers the channel adapters deliver to: a real SMTP server and a real SMS provider
endpoint, both on 127.0.0.1. Tests and the demo use them instead of mocks, so what is
checked is what went over the wire.

* :class:`SmtpCapture` is an aiosmtpd server that keeps every message it is given (and
  can write each as an ``.eml`` file). It records every DATA, including repeats, so a
  test can see that a retry reused the Message-ID.
* :class:`SmsSink` is a small HTTP server that answers like an SMS provider, including
  the ``Idempotency-Key`` behaviour real providers offer: the same key again answers the
  same id and the message is not sent twice.

Both have knobs to make the next sends fail (temporarily or for good), so the adapters'
error handling is tested against real protocol replies.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import http.server
import json
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

__all__ = ["SmsReception", "SmsSink", "SmtpCapture", "SmtpReception", "free_port"]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(text: str) -> str:
    """``text`` usable as part of a file name (no separators, no dot-dot tricks)."""
    return _UNSAFE_NAME.sub("_", text).strip("._") or "message"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class SmtpReception:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: email.message.EmailMessage
    peer: str = ""  # the client's address and port: one value per SMTP connection
    path: Path | None = None

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))


class _CaptureHandler:
    """aiosmtpd hooks for :class:`SmtpCapture`."""

    def __init__(self, capture: SmtpCapture) -> None:
        self.capture = capture

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in {refused.lower() for refused in self.capture.refuse_recipients}:
            return f"550 5.1.1 <{address}>: recipient refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        return self.capture._data(server, session, envelope)


class _Peer:
    """A local peer started and stopped around a block: ``with SmtpCapture() as smtp``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SmtpCapture(_Peer):
    """An SMTP server on ``127.0.0.1:port`` (port 0: a free one) keeping what it receives.

    ``refuse_recipients`` (lower-case addresses) are answered 550 at RCPT; the next
    ``fail_next`` messages are answered 451 after DATA; the next ``drop_next`` messages
    have their connection closed after DATA without any answer (a crash mid-send).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        folder: Path | None = None,
        refuse_recipients: Iterable[str] = (),
        fail_next: int = 0,
        drop_next: int = 0,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.port = port
        self.folder = folder
        self.refuse_recipients: set[str] = {address.lower() for address in refuse_recipients}
        self.fail_next = fail_next
        self.drop_next = drop_next
        self.received: list[SmtpReception] = []
        self.raw_count = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        if self._controller is not None:
            raise RuntimeError("SmtpCapture already started")
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        attempts = 5 if self.requested_port == 0 else 1
        for attempt in range(attempts):
            port = self.requested_port or free_port(self.host)
            controller = Controller(_CaptureHandler(self), hostname=self.host, port=port,
                                    server_hostname="capture.localhost", ready_timeout=10.0)
            try:
                controller.start()
            except OSError:  # the free port was taken meanwhile: pick another
                controller.loop.close()
                if attempt == attempts - 1:
                    raise
                continue
            self.port = port
            self._controller = controller
            break
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    # --- what was received -------------------------------------------------------------

    def messages_by_id(self) -> dict[str, list[SmtpReception]]:
        """Message-ID → every reception of it (more than one: a duplicate)."""
        by_id: dict[str, list[SmtpReception]] = {}
        with self._lock:
            for reception in self.received:
                by_id.setdefault(reception.message_id, []).append(reception)
        return by_id

    def _data(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self._lock:
            self.raw_count += 1
            if self.drop_next > 0:
                self.drop_next -= 1
                if server.transport is not None:
                    server.transport.close()
                return "421 4.3.2 connection dropped"
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 temporary failure, try again later"
            parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
            assert isinstance(parsed, email.message.EmailMessage)
            number = len(self.received) + 1
            path: Path | None = None
            if self.folder is not None:
                local = str(parsed.get("Message-ID", "")).strip().strip("<>").partition("@")[0]
                path = self.folder / f"{number}-{_safe_name(local)}.eml"
                path.write_bytes(raw)
            self.received.append(SmtpReception(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                message=parsed,
                peer=str(session.peer),
                path=path,
            ))
        return f"250 2.0.0 OK queued as capture-{number}"


@dataclass(frozen=True)
class SmsReception:
    """One accepted SMS request: its JSON body and its headers (names lower-cased)."""

    body: dict[str, Any]
    headers: dict[str, str]
    provider_id: str
    path: Path | None = None


@dataclass
class _SmsState:
    received: list[SmsReception] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    raw_count: int = 0


class SmsSink(_Peer):
    """An SMS provider endpoint on ``127.0.0.1`` answering ``POST /messages``.

    Accepted messages are answered ``201 {"id": "sms-<n>"}``; a repeated
    ``Idempotency-Key`` answers the first id again and is not recorded twice. The next
    ``fail_next`` requests are answered 503; ``reject_numbers`` are answered 422; with
    ``token`` set, requests without ``Authorization: Bearer <token>`` are answered 401.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        folder: Path | None = None,
        fail_next: int = 0,
        reject_numbers: Iterable[str] = (),
        token: str | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.folder = folder
        self.fail_next = fail_next
        self.reject_numbers: set[str] = set(reject_numbers)
        self.token = token
        self._state = _SmsState()
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def received(self) -> list[SmsReception]:
        with self._lock:
            return list(self._state.received)

    @property
    def raw_count(self) -> int:
        with self._lock:
            return self._state.raw_count

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SmsSink not started")
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/messages"

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("SmsSink already started")
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length > 0 else b""
                status, answer = sink._post(self.path, raw,
                                            {k.lower(): v for k, v in self.headers.items()})
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        server = http.server.ThreadingHTTPServer((self.host, self.requested_port), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="sms-sink", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    # --- the provider ------------------------------------------------------------------

    def _post(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            state = self._state
            state.raw_count += 1
            if path.partition("?")[0] != "/messages":
                return 404, {"error": "not found"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": "service unavailable, try again later"}
            if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"error": "unauthorized"}
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, {"error": "body is not JSON"}
            if not isinstance(body, dict) or not isinstance(body.get("to"), str) \
                    or not isinstance(body.get("text"), str):
                return 400, {"error": "to and text are required"}
            key = headers.get("idempotency-key")
            if key is not None and key in state.by_key:
                return 201, {"id": state.by_key[key], "replayed": True}
            if body["to"] in self.reject_numbers:
                return 422, {"error": f"number {body['to']} cannot receive messages"}
            number = len(state.received) + 1
            provider_id = f"sms-{number}"
            file: Path | None = None
            if self.folder is not None:
                reference = str(body.get("reference") or provider_id)
                file = self.folder / f"{number}-{_safe_name(reference)}.json"
                file.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n",
                                encoding="utf-8")
            state.received.append(SmsReception(body=body, headers=headers,
                                               provider_id=provider_id, path=file))
            if key is not None:
                state.by_key[key] = provider_id
            return 201, {"id": provider_id}
