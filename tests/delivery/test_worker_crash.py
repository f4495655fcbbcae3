"""A worker killed (SIGKILL) in the middle of a batch of sends, then restarted: every send
reaches the SMTP server and is recorded once.

The only message that can arrive twice is the one the server had accepted in the instant
before the kill, before the worker could record it (RFC 1047's window); it is sent again
with the same Message-ID and the same bytes, which is how receivers recognise it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from ccm.audit.models import Communication
from ccm.config import Settings
from ccm.customers.schemas import CustomerProfile
from ccm.customers.service import upsert_customer
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.db.session import json_dumps
from ccm.delivery.models import Send, SendStatus
from ccm.delivery.sinks import SmtpCapture
from ccm.journeys.events import ingest_events
from ccm.registry import load_registry
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

SENDS = 16


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ccm", "worker"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _backends() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get("CCM_TEST_DATABASE_URL") else [])


@pytest.fixture(params=_backends())
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own: the worker under test takes every due send it finds."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    server = make_url(os.environ["CCM_TEST_DATABASE_URL"])
    name = f"ccm_crash_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_killed_worker_restarted_delivers_every_send_once(crash_database: str,
                                                          tmp_path: Path) -> None:
    url = crash_database
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    settings = Settings(database_url=url, quiet_hours="", marketing_cap="")
    now = datetime.now(UTC)
    bill = json.loads(json_dumps(bill_data(SAMPLE_CUSTOMERS[2])))
    with unit_of_work(factory) as session:
        load_registry(session, STOCK_DIR)
        events = []
        for n in range(SENDS):
            customer = f"K-{n:03d}"
            upsert_customer(session, customer, CustomerProfile(
                name=f"Kunde {n}", email=f"k{n}@example.de", preferred_channel="email",
                postal_address=["Mühlenstraße 7", "21029 Hamburg"], locale="de_DE"),
                source="test")
            events.append({"event_id": f"bill-{n}", "customer_id": customer,
                           "type": "bill_issued", "occurred_at": now.isoformat(),
                           "payload": bill})
        ingest_events(session, events, source="test", now=now, settings=settings)
    with unit_of_work(factory) as session:
        send_ids = set(session.scalars(select(Send.id)))
    assert len(send_ids) == SENDS

    with SmtpCapture() as smtp:
        env = {**os.environ, "CCM_DATABASE_URL": url, "CCM_SMTP_PORT": str(smtp.port),
               "CCM_SMTP_HOST": "127.0.0.1", "CCM_ARTIFACT_DIR": str(tmp_path / "artifacts"),
               "CCM_QUIET_HOURS": "", "CCM_DELIVERY_LEASE_SECONDS": "2",
               "CCM_WORKER_BATCH_SIZE": "4", "CCM_WORKER_POLL_SECONDS": "0.2",
               "CCM_TRACKING_SECRET": "crash-test-secret-0123"}
        log = tmp_path / "worker.log"
        first = _worker(env, log)
        _wait(lambda: smtp.raw_count >= 5, 120, "the first sends")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = smtp.raw_count
        with unit_of_work(factory) as session:
            sent_at_kill = session.scalar(select(func.count()).select_from(Send).where(
                Send.status == SendStatus.SENT)) or 0
        assert at_kill < SENDS, "the kill came after the batch: nothing was interrupted"

        second = _worker(env, log)
        try:
            def all_sent() -> bool:
                with unit_of_work(factory) as session:
                    return (session.scalar(select(func.count()).select_from(Send).where(
                        Send.status == SendStatus.SENT)) or 0) == SENDS
            _wait(all_sent, 180, "every send to be sent")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, log.read_text()

        received = smtp.messages_by_id()
    ids = {message_id.strip("<>").split("@")[0] for message_id in received}
    assert ids == send_ids, "a send never arrived"
    duplicates = {mid: copies for mid, copies in received.items() if len(copies) > 1}
    assert len(duplicates) <= 1, f"sent twice: {sorted(duplicates)}"
    for copies in duplicates.values():  # the in-doubt one: the very same message again
        assert len({c.raw for c in copies}) == 1
    with unit_of_work(factory) as session:
        per_send = session.execute(select(Communication.send_id, func.count())
                                   .group_by(Communication.send_id)).all()
    assert sorted(count for _, count in per_send) == [1] * SENDS
    assert 0 <= sent_at_kill <= at_kill
    engine.dispose()
