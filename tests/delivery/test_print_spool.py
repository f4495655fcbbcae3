"""The print spool: PDFs written atomically, one manifest row each, idempotent, and safe
with two worker processes spooling into one folder at once."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ccm.delivery.adapters.print_spool import (
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    PrintSpoolAdapter,
    read_manifest,
)
from ccm.delivery.message import DeliveryChannel, DeliveryFailed, DeliveryReceipt, OutboundMessage

DATE = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def pdf_bytes(label: str) -> bytes:
    return (f"%PDF-1.4\n1 0 obj << /Type /Catalog /Title ({label}) >> endobj\n"
            "trailer << /Root 1 0 R >>\n%%EOF\n").encode()


def letter(message_id: str = "8c0f-print-1", **changes: Any) -> OutboundMessage:
    content = pdf_bytes(message_id)
    message = OutboundMessage(
        message_id=message_id,
        channel=DeliveryChannel.PRINT,
        customer_id="CUST-1",
        date=DATE,
        pdf=content,
        recipient_name="Jürgen Weiß",
        postal_address=("Jürgen Weiß", "Hauptstraße 5, Hinterhaus", "10115 Berlin"),
        page_count=2,
        sha256=hashlib.sha256(content).hexdigest(),
    )
    return dataclasses.replace(message, **changes)


def manifest_rows(folder: Path) -> list[list[str]]:
    with open(folder / MANIFEST_NAME, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def test_a_letter_is_spooled_with_its_manifest_row(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    message = letter()

    [answer] = PrintSpoolAdapter(folder).deliver_many([message])

    assert answer == DeliveryReceipt(provider="print-spool", provider_message_id="8c0f-print-1",
                                     detail="spooled as 8c0f-print-1.pdf")
    assert (folder / "8c0f-print-1.pdf").read_bytes() == message.pdf
    assert manifest_rows(folder) == [
        list(MANIFEST_COLUMNS),
        ["8c0f-print-1", "CUST-1", "Jürgen Weiß",
         "Jürgen Weiß | Hauptstraße 5, Hinterhaus | 10115 Berlin", "2", message.sha256,
         "8c0f-print-1.pdf", "2025-03-14T09:26:53+00:00"],
    ]
    # Nothing half-written is left behind.
    assert sorted(p.name for p in folder.iterdir()) == [
        ".manifest.lock", "8c0f-print-1.pdf", "manifest.csv"]


def test_delivering_again_writes_nothing_new(tmp_path: Path) -> None:
    adapter = PrintSpoolAdapter(tmp_path)
    adapter.deliver_many([letter("a"), letter("b")])
    pdf = tmp_path / "a.pdf"
    written = pdf.stat().st_mtime_ns
    manifest = (tmp_path / MANIFEST_NAME).read_bytes()

    answers = adapter.deliver_many([letter("a"), letter("c"), letter("a")])

    assert [a.provider_message_id for a in answers if isinstance(a, DeliveryReceipt)] == [
        "a", "c", "a"]
    assert [a.detail for a in answers if isinstance(a, DeliveryReceipt)] == [
        "already spooled", "spooled as c.pdf", "already spooled"]
    assert pdf.stat().st_mtime_ns == written
    assert (tmp_path / MANIFEST_NAME).read_bytes().startswith(manifest)
    assert [row["message_id"] for row in read_manifest(tmp_path)] == ["a", "b", "c"]


def test_a_row_torn_by_a_crash_is_cut_off(tmp_path: Path) -> None:
    adapter = PrintSpoolAdapter(tmp_path)
    adapter.deliver_many([letter("a")])
    with open(tmp_path / MANIFEST_NAME, "ab") as manifest:
        manifest.write(b"b,CUST-1,J\xc3\xbcrg")  # the crash came mid-row

    adapter.deliver_many([letter("b")])

    assert [row["message_id"] for row in read_manifest(tmp_path)] == ["a", "b"]
    assert len(manifest_rows(tmp_path)) == 3


@pytest.mark.parametrize(("changes", "field"), [
    ({"pdf": None}, "pdf"),
    ({"recipient_name": None}, "recipient_name"),
    ({"postal_address": ()}, "postal_address"),
    ({"message_id": "../escape"}, "message_id"),
    ({"sha256": "0" * 64}, "sha256"),
    ({"channel": DeliveryChannel.EMAIL}, "channel"),
])
def test_an_unusable_letter_fails_permanently(
    tmp_path: Path, changes: dict[str, Any], field: str,
) -> None:
    folder = tmp_path / "spool"
    bad = letter(**{"message_id": "bad", **changes})

    [answer, fine] = PrintSpoolAdapter(folder).deliver_many([bad, letter("fine")])

    assert isinstance(answer, DeliveryFailed)
    assert answer.permanent
    assert field in answer.reason
    assert isinstance(fine, DeliveryReceipt)
    assert [row["message_id"] for row in read_manifest(folder)] == ["fine"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pdf")) == [
        "spool/fine.pdf"]


def spool_one_by_one(folder: str, prefix: str, count: int) -> None:
    """A worker process: spools its letters one call at a time, so the two workers'
    calls interleave (and each also spools the shared letter)."""
    adapter = PrintSpoolAdapter(Path(folder))
    for n in range(count):
        for answer in adapter.deliver_many([letter(f"{prefix}-{n}"), letter("shared")]):
            assert isinstance(answer, DeliveryReceipt), answer


def test_two_processes_spool_into_one_folder(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=spool_one_by_one, args=(str(tmp_path), prefix, 25))
               for prefix in ("left", "right")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]

    rows = manifest_rows(tmp_path)
    assert rows[0] == list(MANIFEST_COLUMNS)
    assert all(len(row) == len(MANIFEST_COLUMNS) for row in rows)
    ids = [row[0] for row in rows[1:]]
    expected = {f"{prefix}-{n}" for prefix in ("left", "right") for n in range(25)} | {"shared"}
    assert sorted(ids) == sorted(expected)  # each once: the shared letter too
    for row in read_manifest(tmp_path):
        content = (tmp_path / row["file"]).read_bytes()
        assert content == pdf_bytes(row["message_id"])
        assert hashlib.sha256(content).hexdigest() == row["sha256"]
    assert not list(tmp_path.glob("*.tmp"))
