"""The journey part of `ccm demo`: sample customers with different preferences and consents
go through the stock journey, driven by sample events on a demo clock, and every send is
delivered for real — email to a local SMTP capture, SMS to a local provider sink, letters
to the print spool — into the demo folder.

The clock starts on a fixed date and jumps from one event, follow-up or held send to the
next, so four weeks of a journey pass in seconds. Event ids are fixed: a second run finds
every event already handled, sends nothing twice, and reports the same paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ccm.artifacts import ArtifactStore
from ccm.config import Settings
from ccm.customers.schemas import CustomerProfile
from ccm.customers.service import upsert_customer
from ccm.db import unit_of_work
from ccm.db.base import as_utc
from ccm.db.session import json_dumps
from ccm.delivery.engagement import record_click
from ccm.delivery.models import Send, SendStatus
from ccm.delivery.sinks import SmsSink, SmtpCapture
from ccm.delivery.worker import DeliveryWorker
from ccm.journeys.events import ingest_events
from ccm.journeys.models import FollowUp, FollowUpStatus
from ccm.journeys.views import customer_path
from ccm.stock.customers import SAMPLE_CUSTOMERS, SampleCustomer, bill_data, welcome_data

JOURNEY = "utility-customer"
DEMO_START = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
_CLICK = re.compile(r'href="([^"]*/t/c/[^"]+)"')


@dataclass(frozen=True)
class DemoCustomer:
    """A sample customer and how they want to be reached."""

    sample: SampleCustomer
    time_zone: str
    email: str | None
    phone: str | None
    preferred: str
    consents: tuple[tuple[str, str, bool], ...]  # channel, purpose, granted
    pays_after_days: int | None  # None: never pays
    clicks_offer: bool = False

    def profile(self) -> dict[str, Any]:
        return {"name": self.sample.name, "locale": self.sample.locale,
                "time_zone": self.time_zone, "email": self.email, "phone": self.phone,
                "postal_address": list(self.sample.address),
                "preferred_channel": self.preferred,
                "attributes": {"tenure_months": 14 if self.pays_after_days else 3},
                "consents": [{"channel": c, "purpose": p, "granted": g,
                              "source": "sign-up form"} for c, p, g in self.consents]}


#: Emma reads email and takes up the offer; Liam wants SMS and never pays; Jürgen wants
#: letters and gave no marketing consent; Sophie prefers SMS but gave no number.
DEMO_CUSTOMERS = (
    DemoCustomer(SAMPLE_CUSTOMERS[0], "Europe/London", "emma.thompson@example.co.uk",
                 "+447700900123", "email", (("email", "marketing", True),), 5,
                 clicks_offer=True),
    DemoCustomer(SAMPLE_CUSTOMERS[1], "Europe/Dublin", None, "+353871234567", "sms", (),
                 None),
    DemoCustomer(SAMPLE_CUSTOMERS[2], "Europe/Berlin", None, None, "print", (), 9),
    DemoCustomer(SAMPLE_CUSTOMERS[3], "Europe/Vienna", "sophie.gruber@example.at", None,
                 "sms", (("email", "marketing", True),), 3),
)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(json_dumps(data))
    return value


def demo_events() -> list[dict[str, Any]]:
    """The sample events: sign-up, the first bill on its invoice date, payments."""
    events = []
    for number, customer in enumerate(DEMO_CUSTOMERS):
        cid = customer.sample.customer_id
        signed_up = DEMO_START + timedelta(hours=number * 5)
        billed = datetime(2026, 11, 20, 7, 0, tzinfo=UTC) + timedelta(hours=number)
        events.append({"event_id": f"demo-{cid}-signed-up", "customer_id": cid,
                       "type": "signed_up", "occurred_at": signed_up.isoformat(),
                       "payload": _jsonable(welcome_data(customer.sample))})
        bill = _jsonable(bill_data(customer.sample))
        events.append({"event_id": f"demo-{cid}-bill-1", "customer_id": cid,
                       "type": "bill_issued", "occurred_at": billed.isoformat(),
                       "payload": bill})
        if customer.pays_after_days is not None:
            paid = billed + timedelta(days=customer.pays_after_days)
            events.append({"event_id": f"demo-{cid}-paid-1", "customer_id": cid,
                           "type": "payment_received", "occurred_at": paid.isoformat(),
                           "payload": {"invoice_number": bill["invoice_number"],
                                       "amount": bill["total"]}})
    return sorted(events, key=lambda e: e["occurred_at"])


def events_file_lines() -> list[str]:
    """The customers and events as JSON Lines, for `ccm journey simulate`."""
    lines = [json.dumps({"customer": {"id": c.sample.customer_id, **c.profile()}},
                        ensure_ascii=False) for c in DEMO_CUSTOMERS]
    lines += [json.dumps(e, ensure_ascii=False) for e in demo_events()]
    return lines


@dataclass
class DemoClock:
    now: datetime = DEMO_START

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def _sinks(folder: Path) -> Iterator[tuple[SmtpCapture, SmsSink]]:
    with SmtpCapture(folder=folder / "mail") as smtp, SmsSink(folder=folder / "sms") as sms:
        yield smtp, sms


@dataclass(frozen=True)
class JourneyDemoReport:
    paths: list[dict[str, Any]]
    delivered: dict[str, int]  # channel -> messages delivered in this run
    folder: Path
    already_run: bool


def run_journey_demo(factory: sessionmaker[Session], store: ArtifactStore, settings: Settings,
                     output_dir: Path) -> JourneyDemoReport:
    """Drive the demo customers through the stock journey; deliver every send."""
    folder = output_dir / "journeys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_text("\n".join(events_file_lines()) + "\n",
                                         encoding="utf-8")
    customers = [c.sample.customer_id for c in DEMO_CUSTOMERS]
    with unit_of_work(factory) as session:
        already_run = (session.scalar(select(func.count()).select_from(Send).where(
            Send.customer_id.in_(customers), Send.journey_key == JOURNEY)) or 0) > 0
        if not already_run:
            for customer in DEMO_CUSTOMERS:
                upsert_customer(session, customer.sample.customer_id,
                                CustomerProfile.model_validate(customer.profile()),
                                source="ccm demo", now=DEMO_START)
    with _sinks(folder) as (smtp, sms):
        run_settings = settings.model_copy(update={
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_starttls": False,
            "smtp_tls": False, "sms_provider_url": sms.url, "sms_provider_token": None,
            "print_spool_dir": folder / "print"})
        clock = DemoClock()
        worker = DeliveryWorker(factory, store, run_settings, clock=clock)
        pending = [] if already_run else demo_events()
        clickers = {c.sample.customer_id for c in DEMO_CUSTOMERS if c.clicks_offer}
        seen: set[str] = set()
        while True:
            moment = _next_moment(factory, pending, customers)
            if moment is None:
                break
            clock.now = max(clock.now, moment)
            due = [e for e in pending if datetime.fromisoformat(e["occurred_at"]) <= clock.now]
            pending = [e for e in pending if e not in due]
            if due:
                with unit_of_work(factory) as session:
                    ingest_events(session, due, source="ccm demo", now=clock.now,
                                  settings=run_settings)
            worker.run_until_idle()
            _click_offers(factory, smtp, clickers, seen, clock.now + timedelta(hours=2),
                          run_settings)
        delivered = {"email": len(smtp.received), "sms": len(sms.received),
                     "print": len(list((folder / "print").glob("*.pdf")))
                     if not already_run else 0}
    with unit_of_work(factory) as session:
        paths = [customer_path(session, c) for c in customers]
    return JourneyDemoReport(paths, delivered, folder, already_run)


def _next_moment(factory: sessionmaker[Session], pending: list[dict[str, Any]],
                 customers: list[str]) -> datetime | None:
    """The next time something happens: an event, a follow-up, or a held send."""
    with unit_of_work(factory) as session:
        follow_up = session.scalar(select(func.min(FollowUp.due_at)).where(
            FollowUp.status == FollowUpStatus.PENDING, FollowUp.customer_id.in_(customers)))
        held = session.scalar(select(func.min(Send.due_at)).where(
            Send.status == SendStatus.QUEUED, Send.customer_id.in_(customers)))
    moments = [datetime.fromisoformat(e["occurred_at"]) for e in pending]
    moments += [as_utc(m) for m in (follow_up, held) if m is not None]
    return min(moments) if moments else None


def _click_offers(factory: sessionmaker[Session], smtp: SmtpCapture, clickers: set[str],
                  seen: set[str], at: datetime, settings: Settings) -> None:
    """The customers who take up the offer click its link in the email they received —
    through the same service the click redirect uses."""
    for reception in list(smtp.received):
        mail = reception.message
        send_id = (reception.message_id or "").strip("<>").split("@")[0]
        if "List-Unsubscribe" not in mail or send_id in seen:
            continue
        seen.add(send_id)
        with unit_of_work(factory) as session:
            send = session.get(Send, send_id)
            if send is None or send.customer_id not in clickers:
                continue
            html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
            match = _CLICK.search(html.get_content())
            if match:
                record_click(session, match.group(1).rsplit("/", 1)[-1], now=at,
                             settings=settings)
