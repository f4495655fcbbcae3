"""`ccm journey simulate`: each customer's path and sends, on which channel and why, with
nothing delivered and nothing kept; a draft journey can be tried before it is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from ccm.cli import app
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.delivery.models import Send
from ccm.demo_journeys import events_file_lines
from ccm.journeys.models import Event, StageTransition
from ccm.journeys.service import add_journey_version
from ccm.registry import load_registry
from ccm.stock import STOCK_DIR

runner = CliRunner()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'sim.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        load_registry(session, STOCK_DIR)
    engine.dispose()
    return url


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(events_file_lines()) + "\n", encoding="utf-8")
    return path


def _count(url: str, table: type) -> int:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        count = session.scalar(select(func.count()).select_from(table)) or 0
    engine.dispose()
    return count


def test_simulation_shows_paths_and_sends_and_keeps_nothing(database: str,
                                                            events_file: Path) -> None:
    result = runner.invoke(app, ["journey", "simulate", "utility-customer", "--events",
                                 str(events_file), "--database-url", database, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    paths = {c["customer_id"]: [t["to"] or t["outcome"] for t in c["transitions"]]
             for c in report["customers"]}
    assert paths["C-100871"] == ["welcome", "first-bill", "payment-reminder", "overdue"]
    assert paths["C-100234"] == ["welcome", "first-bill", "loyalty-offer"]
    sends = {(c["customer_id"], s["template"]): s for c in report["customers"]
             for s in c["sends"]}
    overdue = sends[("C-100871", "overdue-notice")]
    assert overdue["channel"] == "print" and overdue["due_at"].startswith("2026-12-23")
    assert sends[("C-100871", "payment-reminder")]["channel"] == "sms"
    offer = sends[("C-101502", "loyalty-offer")]
    assert offer["status"] == "suppressed" and "no marketing opt-in" in offer["reason"]
    welcome = sends[("C-102017", "welcome-letter")]  # after midnight in Vienna: held
    assert welcome["due_at"] > welcome["decided_at"]
    assert [d["reason"] for d in welcome["decision"]] == ["no phone number", "transactional"]
    for table in (Send, Event, StageTransition):
        assert _count(database, table) == 0  # nothing kept, nothing to deliver

    readable = runner.invoke(app, ["journey", "simulate", "utility-customer", "--events",
                                   str(events_file), "--database-url", database],
                             env={"COLUMNS": "160"})
    assert readable.exit_code == 0, readable.output
    assert "C-100871: welcome → first-bill → payment-reminder → overdue" in readable.output
    assert "send overdue-notice by print" in readable.output


def test_a_draft_journey_can_be_tried_before_it_is_published(database: str,
                                                             events_file: Path) -> None:
    definition = yaml.safe_load((STOCK_DIR / "journeys" / "utility-customer.yaml")
                                .read_text(encoding="utf-8"))
    definition["stages"][1]["follow_ups"][0]["after"] = "30d"
    engine = make_engine(database)
    with unit_of_work(make_session_factory(engine)) as session:
        draft, created = add_journey_version(session, definition, publish_now=False)
        assert created and draft.status.value == "draft"
    engine.dispose()
    result = runner.invoke(app, ["journey", "simulate", "utility-customer", "--events",
                                 str(events_file), "--database-url", database, "--json"])
    report = json.loads(result.output)
    assert (report["version"], report["status"]) == (draft.version, "draft")
    liam = next(c for c in report["customers"] if c["customer_id"] == "C-100871")
    reminder = next(t for t in liam["transitions"] if t["to"] == "payment-reminder")
    assert reminder["occurred_at"].startswith("2026-12-20")  # 30 days after the bill
    published = runner.invoke(app, ["journey", "simulate", "utility-customer", "--events",
                                    str(events_file), "--version", "1",
                                    "--database-url", database, "--json"])
    liam = next(c for c in json.loads(published.output)["customers"]
                if c["customer_id"] == "C-100871")
    reminder = next(t for t in liam["transitions"] if t["to"] == "payment-reminder")
    assert reminder["occurred_at"].startswith("2026-12-11")


def test_a_bad_events_file_names_every_bad_line(database: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"customer_id": "C-1", "type": "signed_up", "occurred_at": '
                    '"2026-11-02T10:00:00"}\nnot json\n{"customer": {"name": "No id"}}\n',
                    encoding="utf-8")
    result = runner.invoke(app, ["journey", "simulate", "utility-customer", "--events",
                                 str(path), "--database-url", database],
                           env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert "line 1" in result.output and "time zone" in result.output
    assert "line 2: not JSON" in result.output and "line 3" in result.output
    unknown = runner.invoke(app, ["journey", "simulate", "no-such-journey", "--events",
                                  str(path), "--database-url", database])
    assert unknown.exit_code == 2
