"""The `ccm` command, run as a user runs it: real database files, real output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from support import pdf_text
from typer.testing import CliRunner

from ccm.cli import app
from ccm.db.migrate import head_revision
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

runner = CliRunner()


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_db_upgrade_creates_the_schema(database: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--database-url", database])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    with create_engine(database).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() \
            == head_revision()
        tables = {row[0] for row in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"brands", "brand_versions", "templates", "template_versions", "blocks",
            "block_versions", "assets", "communications", "api_keys", "batches",
            "batch_items", "idempotency_keys", "registry_revision"} <= tables


def test_registry_load_publishes_then_reports_unchanged(database: str) -> None:
    first = runner.invoke(app, ["registry", "load", str(STOCK_DIR), "--database-url", database])
    assert first.exit_code == 0, first.output
    assert "utility-bill" in first.output and "published" in first.output
    second = runner.invoke(app, ["registry", "load", str(STOCK_DIR), "--database-url",
                                 database])
    assert second.exit_code == 0
    assert "published" not in second.output and "unchanged" in second.output


def test_render_from_json_and_xml(database: str, tmp_path: Path) -> None:
    runner.invoke(app, ["registry", "load", str(STOCK_DIR), "--database-url", database])
    data = bill_data(SAMPLE_CUSTOMERS[2])
    data["total"] = Decimal("1234.56")
    json_file = tmp_path / "bill.json"
    json_file.write_text(json.dumps(data, default=_json))
    xml_file = tmp_path / "bill.xml"
    xml_file.write_text(_xml(data), encoding="utf-8")
    outputs = {}
    for source in (json_file, xml_file):
        out = tmp_path / f"{source.suffix[1:]}.pdf"
        result = runner.invoke(app, ["render", "utility-bill", "--data", str(source),
                                     "--channel", "pdf", "--locale", "de_DE", "--output",
                                     str(out), "--database-url", database])
        assert result.exit_code == 0, result.output
        assert "page(s)" in result.output
        outputs[source.suffix] = out.read_bytes()
    assert "1.234,56 €" in pdf_text(outputs[".json"])
    assert outputs[".json"] == outputs[".xml"]

    email = tmp_path / "bill.email.html"
    result = runner.invoke(app, ["render", "utility-bill", "-d", str(json_file), "-c", "email",
                                 "-l", "en_GB", "-o", str(email), "--database-url", database])
    assert result.exit_code == 0, result.output
    assert email.with_suffix(".txt").read_text().count("€1,234.56") >= 1


def _xml(value: Any, tag: str = "bill") -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(v, k) for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_xml(v, "item") for v in value)
    else:
        inner = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f"<{tag}>{inner}</{tag}>"


def test_render_reports_bad_data_with_paths_and_exit_status(database: str,
                                                            tmp_path: Path) -> None:
    runner.invoke(app, ["registry", "load", str(STOCK_DIR), "--database-url", database])
    data = bill_data(SAMPLE_CUSTOMERS[0])
    data["items"][3]["amount"] = "n/a"
    del data["due_date"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, default=_json))
    out = tmp_path / "never.pdf"
    result = runner.invoke(app, ["render", "utility-bill", "-d", str(bad), "-o", str(out),
                                 "--database-url", database])
    assert result.exit_code == 2
    assert "/items/3/amount: expected number" in result.output
    assert "/due_date: required property is missing" in result.output
    assert not out.exists()

    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   "<bill>&x;</bill>")
    result = runner.invoke(app, ["render", "utility-bill", "-d", str(xxe), "-o", str(out),
                                 "--database-url", database])
    assert result.exit_code == 2
    assert "DOCTYPE" in result.output and "root:" not in result.output
    unknown = runner.invoke(app, ["render", "no-such-template", "-d", str(bad), "-o", str(out),
                                  "--database-url", database])
    assert unknown.exit_code == 2 and "not in the registry" in unknown.output


def _run_demo(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CCM_DATABASE_URL": f"sqlite:///{folder / 'ccm.db'}",
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "ccm", "demo"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_demo_twice_gives_the_same_files_byte_for_byte(tmp_path: Path) -> None:
    first = _run_demo(tmp_path)
    assert first.returncode == 0, first.stderr
    output = tmp_path / "ccm-demo"
    files = sorted(p for p in output.rglob("*") if p.is_file())
    snapshot = {p.relative_to(output): p.read_bytes() for p in files}
    kinds = {p.name.split(".", 1)[0] for p in snapshot}
    assert {"utility-bill", "welcome-letter", "loyalty-offer"} <= kinds
    customers = {p.parts[0] for p in snapshot if len(p.parts) > 1} - {"journeys"}
    assert len(customers) == len(SAMPLE_CUSTOMERS)
    suffixes = {"".join(Path(p.name).suffixes[-2:]) for p in snapshot}
    assert {".pdf", ".html", ".email.html", ".email.txt", ".sms.txt"} <= suffixes | {
        "".join(Path(p.name).suffixes) for p in snapshot}
    assert "documents in" in first.stdout and "utility-bill" in first.stdout
    german = pdf_text(snapshot[Path("C-101502/utility-bill.pdf")])
    assert "Ihre Energierechnung" in german
    second = _run_demo(tmp_path)
    assert second.returncode == 0, second.stderr
    again = {p.relative_to(output): p.read_bytes()
             for p in sorted(output.rglob("*")) if p.is_file()}
    assert again == snapshot
    assert "unchanged" in second.stdout
    assert "handled by an earlier run; nothing was sent again" in second.stdout
    _check_demo_journeys(output, first.stdout)


def _check_demo_journeys(output: Path, stdout: str) -> None:
    """The stock journey for four customers, delivered to the local sinks: each customer's
    path is printed, and each send is there in the form its channel gives it."""
    from email import message_from_bytes, policy

    journeys = output / "journeys"
    assert "C-100234: welcome → first-bill → loyalty-offer → goal" in stdout
    assert "C-100871: welcome → first-bill → payment-reminder → overdue" in stdout
    assert "no marketing opt-in" in stdout  # Jürgen's offer: suppressed, and why
    assert "held by quiet hours" in stdout  # Sophie signs up after midnight in Vienna
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default)
             for p in sorted((journeys / "mail").glob("*.eml"))]
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert len(mails) == 6 and sum("Welcome" in s or "Willkommen" in s for s in subjects) == 2
    offers = [m for m in mails if "List-Unsubscribe" in m]
    assert len(offers) == 2 and all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                                    for m in offers)
    bills = [m for m in mails if any(p.get_content_type() == "application/pdf"
                                     for p in m.walk())]
    assert len(bills) == 2  # the bill's email carries its PDF
    texts = [json.loads(p.read_text())["text"] for p in sorted((journeys / "sms").glob("*"))]
    assert len(texts) == 3 and any("NW-2026" in t for t in texts)
    letters = sorted((journeys / "print").glob("*.pdf"))
    manifest = (journeys / "print" / "manifest.csv").read_text(encoding="utf-8")
    assert len(letters) == 3 and manifest.count("\n") == 4  # header and three letters
    assert "Jürgen Weiß" in manifest and "Liam O'Connor" in manifest
    assert any("Mahnung" in pdf_text(p.read_bytes()) or "overdue" in
               pdf_text(p.read_bytes()).lower() for p in letters)
    assert (journeys / "events.jsonl").read_text(encoding="utf-8").count("\n") == 4 + 11
