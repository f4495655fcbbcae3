"""The delivery worker end to end on the test database: journey sends rendered, recorded
and delivered to a real SMTP server, a local SMS provider and the print spool, then read
back the way a customer (or a print vendor) would get them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker
from support import pdf_text

from ccm.artifacts import LocalArtifactStore
from ccm.audit.models import Communication
from ccm.config import Settings
from ccm.customers.models import Purpose
from ccm.customers.schemas import ConsentIn, CustomerProfile
from ccm.customers.service import set_consent, upsert_customer
from ccm.db import make_session_factory, unit_of_work
from ccm.db.session import json_dumps
from ccm.delivery.adapters.print_spool import read_manifest
from ccm.delivery.message import DeliveryChannel
from ccm.delivery.models import Send, SendStatus
from ccm.delivery.sinks import SmsSink, SmtpCapture
from ccm.delivery.worker import DeliveryWorker
from ccm.journeys.events import ingest_events
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data, welcome_data
from ccm.templates.lifecycle import submit_for_review
from ccm.templates.models import LifecycleAction, TemplateVersion
from ccm.templates.service import (
    TemplateContent,
    add_template_version,
    get_template,
    get_template_version,
)

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    factory: sessionmaker[Session]
    settings: Settings
    smtp: SmtpCapture
    sms: SmsSink
    spool: Path
    store: LocalArtifactStore
    clock: Clock
    worker: DeliveryWorker

    def customer(self, **fields: Any) -> str:
        customer_id = f"W-{uuid.uuid4().hex[:10]}"
        profile: dict[str, Any] = {
            "name": "Jürgen Weiß", "locale": "de_DE", "time_zone": "Europe/Berlin",
            "email": f"{customer_id.lower()}@example.de", "phone": "+4915112345678",
            "postal_address": ["Mühlenstraße 7", "21029 Hamburg"],
            "preferred_channel": "email", "attributes": {"tenure_months": 26}} | fields
        with unit_of_work(self.factory) as session:
            upsert_customer(session, customer_id, CustomerProfile.model_validate(profile),
                            source="test", now=self.clock.now)
        return customer_id

    def consent(self, customer_id: str, channel: str, purpose: str, granted: bool) -> None:
        with unit_of_work(self.factory) as session:
            set_consent(session, customer_id, ConsentIn(
                channel=DeliveryChannel(channel), purpose=Purpose(purpose), granted=granted,
                source="test"))

    def event(self, customer_id: str, type_: str, payload: dict[str, Any] | None = None,
              at: datetime | None = None) -> None:
        at = at or self.clock.now
        raw = {"event_id": f"{customer_id}-{type_}-{at.isoformat()}", "customer_id": customer_id,
               "type": type_, "occurred_at": at.isoformat(), "payload": payload or {}}
        with unit_of_work(self.factory) as session:
            [result] = ingest_events(session, [raw], source="test", now=self.clock.now,
                                     settings=self.settings)
            assert result.status == "accepted", result.error

    def sends(self, customer_id: str) -> list[Send]:
        with unit_of_work(self.factory) as session:
            return list(session.scalars(select(Send).where(Send.customer_id == customer_id)
                                        .order_by(Send.created_at, Send.id)))

    def mail_for(self, send: Send) -> list[EmailMessage]:
        return [r.message for r in self.smtp.received if send.id in (r.message_id or "")]


def payload(data: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(json_dumps(data))
    return value


@pytest.fixture
def rig(engine: Engine, tmp_path: Path) -> Iterator[Rig]:
    with SmtpCapture() as smtp, SmsSink() as sms:
        settings = Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            quiet_hours="", marketing_cap="", smtp_host="127.0.0.1", smtp_port=smtp.port,
            sms_provider_url=sms.url, print_spool_dir=tmp_path / "spool",
            public_url="http://ccm.test", tracking_secret="test-secret-0123456789",
            delivery_backoff_seconds=60, delivery_max_attempts=3)
        factory = make_session_factory(engine)
        store = LocalArtifactStore(tmp_path / "artifacts")
        clock = Clock()
        worker = DeliveryWorker(factory, store, settings, clock=clock)
        yield Rig(factory, settings, smtp, sms, tmp_path / "spool", store, clock, worker)


def test_a_bill_by_email_arrives_with_its_pdf_and_is_recorded(rig: Rig) -> None:
    customer = rig.customer()
    bill = payload(bill_data(SAMPLE_CUSTOMERS[2]))
    rig.event(customer, "bill_issued", bill)
    rig.worker.run_until_idle()
    [send] = rig.sends(customer)
    assert send.status is SendStatus.SENT and send.channel == "email"
    [mail] = rig.mail_for(send)
    assert mail["To"] == f"{customer.lower()}@example.de"
    assert mail["From"] == "Northwind Energy <service@northwind-energy.example>"
    assert bill["invoice_number"] in mail["Subject"]
    assert mail["Message-ID"].startswith(f"<{send.id}@")
    assert "List-Unsubscribe" not in mail  # a bill is not marketing
    assert [part.get_content_type() for part in mail.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
        "text/html", "image/png", "application/pdf"]
    attachment = next(p for p in mail.walk() if p.get_content_type() == "application/pdf")
    assert attachment.get_filename() == f"utility-bill-{bill['invoice_number']}.pdf"
    text = pdf_text(attachment.get_content())
    assert "Jürgen Weiß" in text and "Mühlenstraße 7" in text
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    # What was sent is what was recorded: the stored email is the one received.
    with unit_of_work(rig.factory) as session:
        record = session.scalar(select(Communication).where(Communication.send_id == send.id))
        assert record is not None and record.channel == "email"
        assert record.trigger_event_id == send.trigger_event_id
        stored = rig.store.get(record.sha256).decode()
        assert [p["role"] for p in record.parts or []] == ["inline", "attachment"]
    assert stored.replace("\r\n", "\n").strip() == html.replace("\r\n", "\n").strip()
    assert "http://ccm.test/t/o/" in html  # the open pixel


def test_a_marketing_email_has_one_click_unsubscribe_and_tracked_links(rig: Rig) -> None:
    customer = rig.customer()
    rig.consent(customer, "email", "marketing", True)
    rig.event(customer, "payment_received")
    rig.worker.run_until_idle()
    [offer] = rig.sends(customer)
    assert offer.template_key == "loyalty-offer" and offer.status is SendStatus.SENT
    [mail] = rig.mail_for(offer)
    assert mail["List-Unsubscribe"].startswith("<http://ccm.test/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert "https://northwind-energy.example/offers/solar" in offer.links
    assert 'href="https://northwind-energy.example/offers/solar' not in html
    assert "http://ccm.test/t/c/" in html


def test_sms_and_print_are_delivered_to_their_providers(rig: Rig) -> None:
    by_sms = rig.customer(preferred_channel="sms")
    by_post = rig.customer(preferred_channel="print")
    rig.event(by_sms, "signed_up", payload(welcome_data(SAMPLE_CUSTOMERS[2])))
    rig.event(by_post, "signed_up", payload(welcome_data(SAMPLE_CUSTOMERS[2])))
    rig.worker.run_until_idle()
    [sms_send], [print_send] = rig.sends(by_sms), rig.sends(by_post)
    assert (sms_send.status, print_send.status) == (SendStatus.SENT, SendStatus.SENT)
    [received] = [r for r in rig.sms.received if r.body["reference"] == sms_send.id]
    assert received.body["to"] == "+4915112345678" and received.body["from"] == "Northwind"
    assert "Northwind Green 24" in received.body["text"]
    assert received.headers["idempotency-key"] == sms_send.id
    assert sms_send.provider_message_id == received.provider_id
    [row] = [r for r in read_manifest(rig.spool) if r["message_id"] == print_send.id]
    assert row["address"] == "Mühlenstraße 7 | 21029 Hamburg"
    letter = (rig.spool / row["file"]).read_bytes()
    assert "Northwind Green 24" in pdf_text(letter)


def test_a_failed_attempt_is_retried_with_backoff_then_failed_for_good(rig: Rig) -> None:
    customer = rig.customer()
    rig.smtp.fail_next = 1
    rig.event(customer, "signed_up", payload(welcome_data(SAMPLE_CUSTOMERS[2])))
    rig.worker.run_until_idle()
    [send] = rig.sends(customer)
    assert send.status is SendStatus.QUEUED and send.attempts == 1
    assert send.due_at.replace(tzinfo=UTC) == START + timedelta(seconds=60)
    assert send.reason is not None and "451" in send.reason
    rig.clock.now += timedelta(seconds=61)
    rig.worker.run_until_idle()
    [send] = rig.sends(customer)
    assert send.status is SendStatus.SENT and send.attempts == 2
    assert len(rig.mail_for(send)) == 1
    # A server that keeps refusing: failed after the last attempt, with the reason.
    other = rig.customer()
    rig.smtp.fail_next = 10
    rig.event(other, "signed_up", payload(welcome_data(SAMPLE_CUSTOMERS[2])))
    for _ in range(3):
        rig.worker.run_until_idle()
        rig.clock.now += timedelta(hours=1)
    [send] = rig.sends(other)
    assert send.status is SendStatus.FAILED and send.attempts == 3
    assert send.reason is not None and "after 3 attempt(s)" in send.reason
    rig.smtp.fail_next = 0


def test_consent_withdrawn_before_sending_suppresses_the_send(rig: Rig) -> None:
    customer = rig.customer()
    rig.consent(customer, "email", "marketing", True)
    rig.event(customer, "payment_received")
    rig.consent(customer, "email", "marketing", False)
    rig.worker.run_until_idle()
    [offer] = rig.sends(customer)
    assert offer.status is SendStatus.SUPPRESSED
    assert offer.reason == "at sending: marketing consent withdrawn"
    assert rig.mail_for(offer) == []


def test_the_worker_fires_follow_ups_and_sends_the_reminder(rig: Rig) -> None:
    customer = rig.customer(preferred_channel="sms")
    rig.event(customer, "bill_issued", payload(bill_data(SAMPLE_CUSTOMERS[2])))
    rig.worker.run_until_idle()
    rig.clock.now += timedelta(days=21, minutes=1)
    rig.worker.run_until_idle()
    sends = {s.template_key: s for s in rig.sends(customer)}
    assert set(sends) == {"utility-bill", "payment-reminder"}
    reminder = sends["payment-reminder"]
    assert (reminder.status, reminder.channel) == (SendStatus.SENT, "sms")
    [text] = [r.body["text"] for r in rig.sms.received if r.body["reference"] == reminder.id]
    assert sends["utility-bill"].data["invoice_number"] in text


def test_journeys_send_the_published_version_never_a_newer_draft_or_one_in_review(
        rig: Rig) -> None:
    with unit_of_work(rig.factory) as session:
        live = get_template_version(session, "welcome-letter")
        bodies = {**live.bodies, "sms": "UNAPPROVED TEXT {{ customer.name }}"}
        pending = [add_template_version(session, get_template(session, "welcome-letter"),
                                        TemplateContent.of(live, bodies=bodies), author="ana")
                   for _ in range(2)]
        submit_for_review(session, pending[1], "ana")
        ids = [row.id for row in pending]
    try:
        customer = rig.customer(preferred_channel="sms")
        rig.event(customer, "signed_up", payload(welcome_data(SAMPLE_CUSTOMERS[2])))
        rig.worker.run_until_idle()
        [send] = rig.sends(customer)
        [received] = [r for r in rig.sms.received if r.body["reference"] == send.id]
        assert "UNAPPROVED" not in received.body["text"]
        assert "Northwind Green 24" in received.body["text"]
        with unit_of_work(rig.factory) as session:
            record = session.scalar(select(Communication).where(
                Communication.customer_id == customer))
            assert record is not None and record.template_version == live.version
    finally:  # the stock template is shared: leave it as it was
        with unit_of_work(rig.factory) as session:
            session.execute(delete(LifecycleAction).where(
                LifecycleAction.template_version_id.in_(ids)))
            session.execute(delete(TemplateVersion).where(TemplateVersion.id.in_(ids)))
