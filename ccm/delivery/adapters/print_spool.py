"""Letters for the print vendor: PDFs dropped in a spool folder, listed in a manifest.

``<folder>/<message_id>.pdf`` is the letter; ``<folder>/manifest.csv`` has one row per
letter (who it goes to, how many pages, its SHA-256), which is what the vendor reconciles
against. Why it is built the way it is:

* **Atomic files.** Each PDF is written to a temporary file in the same folder, fsynced
  and renamed into place, so the vendor never picks up half a letter, and a crash leaves
  either the old state or the new one.
* **Idempotent.** The ``message_id`` is stable across retries; a message whose id is
  already in the manifest is answered with a receipt and nothing is written again, so a
  worker that crashed before recording its receipt does not post the letter twice.
* **Safe with several workers.** Reading the manifest's ids, writing the PDF and
  appending the row happen under an exclusive ``fcntl.flock`` on ``.manifest.lock``, so
  two worker processes spooling at once neither interleave rows nor both spool one id.
  A row torn by a crash mid-append is cut off before the next append.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ccm.delivery.message import (
    AnswerCallback,
    DeliveryChannel,
    DeliveryFailed,
    DeliveryReceipt,
    OutboundMessage,
)

__all__ = ["MANIFEST_COLUMNS", "MANIFEST_NAME", "PrintSpoolAdapter", "read_manifest"]

MANIFEST_NAME = "manifest.csv"
LOCK_NAME = ".manifest.lock"
MANIFEST_COLUMNS = ("message_id", "customer_id", "recipient_name", "address", "pages",
                    "sha256", "file", "spooled_at")
ADDRESS_SEPARATOR = " | "
_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]+")


def read_manifest(folder: Path) -> list[dict[str, str]]:
    """The manifest's complete rows (a torn last row is left out)."""
    path = folder / MANIFEST_NAME
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return _parse_rows(content)


def _parse_rows(content: str) -> list[dict[str, str]]:
    if not content.endswith("\n"):
        content = content[: content.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(content)))
    if not rows or tuple(rows[0]) != MANIFEST_COLUMNS:
        return []
    return [dict(zip(MANIFEST_COLUMNS, row, strict=True)) for row in rows[1:]
            if len(row) == len(MANIFEST_COLUMNS)]


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_atomically(path: Path, content: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class PrintSpoolAdapter:
    """Spools each letter as ``<message_id>.pdf`` plus a manifest row (see the module
    docstring). ``folder`` is created when missing."""

    name = "print-spool"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def deliver_many(
        self, messages: Sequence[OutboundMessage], on_answer: AnswerCallback | None = None
    ) -> list[DeliveryReceipt | DeliveryFailed]:
        answers: list[DeliveryReceipt | DeliveryFailed] = []
        if not messages:
            return answers
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._locked_manifest() as manifest:
                spooled = self._spooled_ids(manifest)
                for index, message in enumerate(messages):
                    answers.append(self._spool(message, manifest, spooled))
                    if on_answer is not None:
                        on_answer(index, answers[-1])
        except OSError as exc:
            reason = f"print spool {self.folder} unusable: {exc}"
            answers.extend(DeliveryFailed(reason) for _ in range(len(messages) - len(answers)))
        return answers

    @contextlib.contextmanager
    def _locked_manifest(self) -> Iterator[io.BufferedRandom]:
        """The manifest open for reading and appending, under the folder's exclusive lock."""
        with open(self.folder / LOCK_NAME, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                path = self.folder / MANIFEST_NAME
                created = not path.exists()
                with open(path, "a+b") as manifest:
                    if created:
                        _fsync_folder(self.folder)
                    yield manifest
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _spooled_ids(manifest: io.BufferedRandom) -> set[str]:
        """The ids already in the manifest; a torn last row (a crash mid-append) is cut off
        and a missing header written, so the next append starts a clean line."""
        manifest.seek(0)
        content = manifest.read()
        complete = content[: content.rfind(b"\n") + 1]
        if len(complete) != len(content):
            manifest.truncate(len(complete))
        if not complete:
            manifest.truncate(0)
            manifest.write(_csv_line(MANIFEST_COLUMNS))
            manifest.flush()
            os.fsync(manifest.fileno())
            return set()
        return {row["message_id"] for row in _parse_rows(complete.decode("utf-8"))}

    def _spool(
        self, message: OutboundMessage, manifest: io.BufferedRandom, spooled: set[str]
    ) -> DeliveryReceipt | DeliveryFailed:
        problem = _problem(message)
        if problem is not None:
            return DeliveryFailed(problem, permanent=True)
        assert message.pdf is not None and message.recipient_name is not None
        if message.message_id in spooled:
            return DeliveryReceipt(provider=self.name, provider_message_id=message.message_id,
                                   detail="already spooled")
        digest = hashlib.sha256(message.pdf).hexdigest()
        if message.sha256 is not None and message.sha256.lower() != digest:
            return DeliveryFailed(
                f"pdf does not match its sha256 {message.sha256} (got {digest})",
                permanent=True)
        file_name = f"{message.message_id}.pdf"
        try:
            _write_atomically(self.folder / file_name, message.pdf)
            _fsync_folder(self.folder)
            spooled_at = message.date or datetime.now(UTC)
            manifest.seek(0, os.SEEK_END)
            manifest.write(_csv_line((
                message.message_id,
                _one_line(message.customer_id),
                _one_line(message.recipient_name),
                ADDRESS_SEPARATOR.join(_one_line(line) for line in message.postal_address
                                       if line.strip()),
                "" if message.page_count is None else str(message.page_count),
                digest,
                file_name,
                spooled_at.isoformat(),
            )))
            manifest.flush()
            os.fsync(manifest.fileno())
        except OSError as exc:
            return DeliveryFailed(f"cannot spool {file_name}: {exc}")
        spooled.add(message.message_id)
        return DeliveryReceipt(provider=self.name, provider_message_id=message.message_id,
                               detail=f"spooled as {file_name}")


def _problem(message: OutboundMessage) -> str | None:
    """Why ``message`` cannot be spooled, or None."""
    if message.channel is not DeliveryChannel.PRINT:
        return f"not a print message: channel {message.channel}"
    if not _MESSAGE_ID.fullmatch(message.message_id):
        return f"message_id must be letters, digits and '-': {message.message_id!r}"
    if not message.pdf:
        return "missing pdf"
    if not message.recipient_name or not message.recipient_name.strip():
        return "missing recipient_name"
    if not any(line.strip() for line in message.postal_address):
        return "missing postal_address"
    return None


def _one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) made one space, so
    each manifest row is one line."""
    return " ".join(text.split())


def _csv_line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")
