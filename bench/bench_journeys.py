"""Event intake (`ingest_events`) and dispatch (`DeliveryWorker`), each beside a baseline
measured in the same run: a plain SQLAlchemy insert of the same event rows, and raw SMTP
of the same messages.

    python bench/bench_journeys.py             # prints Markdown tables and where the time goes
    python bench/bench_journeys.py --quick     # fewer events and sends, for a smoke run
    python bench/bench_journeys.py --with-pdf  # also bills by email, each with its PDF
    python bench/bench_journeys.py --database-url postgresql+psycopg://…   # instead of SQLite

The script makes a throwaway folder (SQLite database, artifact folder), migrates, loads
the stock registry and creates the customers it needs (German, email preferred, six
months' tenure) before anything is timed. Intake and the worker run in this process; the
SMTP capture runs in a process of its own (as a mail server would), keeping the messages
in memory.

Intake: each event type is taken one event per unit of work (``ingest_events`` with one
event, then commit: what ``POST /v1/events`` with one event does) and in batches, one unit
of work per batch. ``signed_up`` events name customers not yet in the journey: each
enters the welcome stage and queues one welcome email. ``payment_received`` events enter
no stage (the loyalty offer wants a year's tenure): half of the customers have an open
bill whose payment reminder the payment cancels, the other half have nothing to cancel.
The baseline, interleaved unit by unit with ccm's (alternating which goes first), is a
plain SQLAlchemy Core insert of the same event rows, prepared beforehand, into a scratch
table with the events table's columns and indexes, committed per event or per batch: the
floor of durable intake on this database. SQL statements are counted and timed at the
driver (``before/after_cursor_execute``); a commit is counted as durable when the
database really commits (on SQLite: the connection leaves its transaction).

Dispatch: welcome emails (no PDF), queued by ``signed_up`` events beforehand (and with
``--with-pdf`` bills, which attach their PDF), delivered by a ``DeliveryWorker``
(``run_until_idle``, settings as in production apart from no quiet hours and no marketing
cap) to an ``SmtpCapture`` on loopback; every message is checked to have arrived once and
every send to be marked sent. One run is timed plain; a second, on as many fresh sends,
has each phase of the worker wrapped with a timer (render, record, artifact store, MIME,
SMTP, commits …) for the breakdown: each phase's own time, without the phases inside it.
The baseline after each run: aiosmtplib sending the very messages that run delivered (the
bytes the capture received) over one connection to the same capture. The worker runs with
a fixed clock a month in the past, so the sends the intake part queued (due now) are not
its work; a database holding other sends due then is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiosmtplib
import aiosmtplib.smtp
import sqlalchemy
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from ccm.artifacts import LocalArtifactStore
from ccm.config import Settings
from ccm.customers.schemas import CustomerProfile
from ccm.customers.service import upsert_customer
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.db.base import utcnow
from ccm.db.session import json_dumps
from ccm.delivery.models import Send, SendStatus
from ccm.delivery.sinks import SmtpCapture
from ccm.delivery.worker import DeliveryWorker
from ccm.journeys.events import EventResult, ingest_events
from ccm.registry import load_registry
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data, welcome_data

HOST = "127.0.0.1"
SOURCE = "bench-journeys"
KINDS = ("signed_up", "payment_received")
#: (full run, --quick)
EVENTS = (500, 100)
BATCH_SIZES = ((100, 1000), (100,))
SENDS = (200, 40)
PDF_SENDS = (10, 3)
WARMUP_EVENTS = 10
WARMUP_SENDS = 10
SETUP_BATCH = 500

_T = TypeVar("_T")


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as it arrives over HTTP: JSON numbers, not Decimals."""
    value: dict[str, Any] = json.loads(json_dumps(data))
    return value


# -- SQL accounting -------------------------------------------------------------------------

@dataclass
class SqlTally:
    """Statements by verb (count, seconds at the driver) and durable commits."""

    statements: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    commits: int = 0
    release_commit_s: float = 0.0  # SQLite: RELEASE statements that committed


class SqlMeter:
    """Counts and times every statement on ``engine`` into :attr:`tally` (None: not
    counted), and counts the commits that reach the database."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.tally: SqlTally | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        tally = self.tally
        if tally is None:
            return
        verb = statement.lstrip().split(None, 1)[0].upper()
        tally.statements[verb] += 1
        tally.seconds[verb] += elapsed
        # pysqlite starts no transaction before a SAVEPOINT, so SQLite itself opens one
        # and the RELEASE of that outermost savepoint commits it.
        if self.sqlite and verb == "RELEASE" and not cursor.connection.in_transaction:
            tally.commits += 1
            tally.release_commit_s += elapsed

    def _commit(self, conn: Any) -> None:
        if self.tally is None:
            return
        if not self.sqlite or conn.connection.dbapi_connection.in_transaction:
            self.tally.commits += 1


# -- the SMTP capture, in a process of its own -----------------------------------------------

def serve_capture() -> None:
    """``--capture``: an SmtpCapture, keeping messages in memory; prints its port, then
    answers ``count`` and ``since N`` (one JSON line) on stdin until it closes."""
    import base64

    with SmtpCapture() as capture:
        print(capture.port, flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            received = list(capture.received)
            if command == "count":
                print(len(received), flush=True)
            elif command == "since":
                print(json.dumps([
                    {"message_id": reception.message_id, "mail_from": reception.mail_from,
                     "rcpt_to": list(reception.rcpt_tos),
                     "raw": base64.b64encode(reception.raw).decode()}
                    for reception in received[int(argument):]]), flush=True)


@dataclass(frozen=True)
class Captured:
    """One message as the capture received it."""

    send_id: str  # the local part of its Message-ID
    raw: bytes
    mail_from: str
    rcpt_to: list[str]


class CaptureProcess:
    """:class:`SmtpCapture` in another process, so that its parsing does not compete with
    the worker for this interpreter (a real mail server would not); messages are kept in
    memory there, not written to files, so the capture does no disk I/O of its own."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--capture"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        line = self._read()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the SMTP capture did not start: {line!r}")
        self.port = int(line)

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline()

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def count(self) -> int:
        return int(self._ask("count"))

    def since(self, count: int) -> list[Captured]:
        """The messages received after the first ``count``, in order."""
        import base64

        return [Captured(item["message_id"].strip("<>").partition("@")[0],
                         base64.b64decode(item["raw"]), item["mail_from"], item["rcpt_to"])
                for item in json.loads(self._ask(f"since {count}"))]

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the rig --------------------------------------------------------------------------------

@dataclass
class Rig:
    engine: Engine
    factory: sessionmaker[Session]
    settings: Settings
    store: LocalArtifactStore
    capture: CaptureProcess
    meter: SqlMeter
    run: str  # unique per run: customer and event ids never meet an earlier run's

    def customer_ids(self, label: str, count: int) -> list[str]:
        return [f"BJ-{self.run}-{label}-{index}" for index in range(count)]

    def make_customers(self, ids: Sequence[str], now: datetime) -> None:
        for chunk in _chunks(ids, SETUP_BATCH):
            with unit_of_work(self.factory) as session:
                for customer_id in chunk:
                    profile = CustomerProfile.model_validate({
                        "name": "Jürgen Weiß", "locale": "de_DE", "time_zone": "Europe/Berlin",
                        "email": f"{customer_id.lower()}@example.de",
                        "phone": "+4915112345678",
                        "postal_address": ["Mühlenstraße 7", "21029 Hamburg"],
                        "preferred_channel": "email", "attributes": {"tenure_months": 6}})
                    upsert_customer(session, customer_id, profile, source=SOURCE, now=now)

    def ingest(self, events: Sequence[dict[str, Any]], now: datetime) -> list[EventResult]:
        """Untimed: the events in batches, each accepted."""
        results: list[EventResult] = []
        for chunk in _chunks(events, SETUP_BATCH):
            with unit_of_work(self.factory) as session:
                done = ingest_events(session, list(chunk), source=SOURCE, now=now,
                                     settings=self.settings)
            for result in done:
                if result.status != "accepted":
                    raise RuntimeError(f"setup event {result.event_id} {result.status}: "
                                       f"{result.error}")
            results += done
        return results


def make_rig(database_url: str, folder: Path, capture: CaptureProcess) -> Rig:
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        load_registry(session, STOCK_DIR)
    settings = Settings(database_url=database_url, quiet_hours="", marketing_cap="",
                        smtp_host=HOST, smtp_port=capture.port,
                        tracking_secret="bench-secret-0123456789",
                        public_url="http://ccm.bench")
    return Rig(engine, factory, settings, LocalArtifactStore(folder / "artifacts"), capture,
               SqlMeter(engine), uuid.uuid4().hex[:8])


def raw_event(customer_id: str, type_: str, at: datetime, label: str,
              payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": f"{customer_id}-{type_}-{label}", "customer_id": customer_id,
            "type": type_, "occurred_at": at.isoformat(), "payload": payload}


# -- intake ---------------------------------------------------------------------------------

@dataclass
class IntakeRun:
    """One path (ccm or the plain insert) of one event type at one batch size."""

    path: str  # "ccm" or "insert"
    kind: str
    batch: int
    unit_s: list[float] = field(default_factory=list)
    work_s: float = 0.0  # ccm: ingest_events; insert: execute
    commit_s: float = 0.0  # session.commit / transaction commit, and close
    events: int = 0
    sql: SqlTally = field(default_factory=SqlTally)
    effects: Counter[str] = field(default_factory=Counter)

    @property
    def seconds(self) -> float:
        return sum(self.unit_s)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def per_event_s(self) -> float:
        return self.seconds / self.events

    def summary(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "batch": self.batch,
                "events": self.events, "units": len(self.unit_s), "seconds": self.seconds,
                "events_per_s": self.rate, "per_event_s": self.per_event_s,
                "p50_unit_s": statistics.median(self.unit_s),
                "p99_unit_s": _percentile(self.unit_s, 0.99),
                "work_s": self.work_s, "commit_s": self.commit_s,
                "statements": dict(self.sql.statements),
                "statement_s": dict(self.sql.seconds), "durable_commits": self.sql.commits,
                "release_commit_s": self.sql.release_commit_s,
                "effects": dict(self.effects)}


class FloorTable:
    """A scratch table with the events table's columns and indexes, dropped at the end."""

    def __init__(self, engine: Engine, run: str) -> None:
        self.engine = engine
        metadata = MetaData()
        name = f"bench_intake_floor_{run}"
        self.table = Table(
            name, metadata,
            Column("id", Integer, primary_key=True),
            Column("event_id", String(200), nullable=False, unique=True),
            Column("customer_id", String(200), nullable=False),
            Column("type", String(100), nullable=False),
            Column("occurred_at", DateTime(timezone=True), nullable=False),
            Column("payload", JSON, nullable=False),
            Column("fingerprint", String(64), nullable=False),
            Column("source", String(200), nullable=False),
            Column("received_at", DateTime(timezone=True), nullable=False),
            Index(f"ix_{name}_customer_time", "customer_id", "occurred_at", "id"),
        )
        metadata.create_all(engine)

    def rows(self, events: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """The rows the events become, prepared outside the timing."""
        return [{"event_id": f"floor-{raw['event_id']}", "customer_id": raw["customer_id"],
                 "type": raw["type"], "occurred_at": datetime.fromisoformat(raw["occurred_at"]),
                 "payload": raw["payload"],
                 "fingerprint": hashlib.sha256(json_dumps(raw).encode()).hexdigest(),
                 "source": SOURCE, "received_at": now} for raw in events]

    def drop(self) -> None:
        self.table.drop(self.engine, checkfirst=True)


def _ccm_unit(rig: Rig, run: IntakeRun, events: Sequence[dict[str, Any]]) -> None:
    """One unit of work as the API does it: ingest_events, then commit."""
    rig.meter.tally = run.sql
    start = time.perf_counter()
    session = rig.factory()
    try:
        results = ingest_events(session, list(events), source=SOURCE, now=utcnow(),
                                settings=rig.settings)
        worked = time.perf_counter()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    end = time.perf_counter()
    rig.meter.tally = None
    run.unit_s.append(end - start)
    run.work_s += worked - start
    run.commit_s += end - worked
    run.events += len(events)
    for result in results:
        run.effects[result.status] += 1
        run.effects["transitions"] += len(result.outcome.transitions)
        run.effects["sends"] += len(result.outcome.sends)
        run.effects["cancelled"] += len(result.outcome.cancelled)


def _floor_unit(rig: Rig, floor: FloorTable, run: IntakeRun,
                rows: Sequence[dict[str, Any]]) -> None:
    """The same rows, inserted with SQLAlchemy Core in one transaction."""
    rig.meter.tally = run.sql
    start = time.perf_counter()
    with rig.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(insert(floor.table), list(rows) if len(rows) > 1 else rows[0])
        worked = time.perf_counter()
        transaction.commit()
    end = time.perf_counter()
    rig.meter.tally = None
    run.unit_s.append(end - start)
    run.work_s += worked - start
    run.commit_s += end - worked
    run.events += len(rows)
    run.effects["accepted"] += len(rows)


@dataclass
class IntakeEvents:
    """Timed events of one type with the plain-insert rows made from them."""

    events: list[dict[str, Any]]
    rows: list[dict[str, Any]]


def prepare_intake(rig: Rig, floor: FloorTable, kind: str, label: str, count: int,
                   start: datetime) -> IntakeEvents:
    """Customers (and, for payments, half of them with an open bill) made untimed."""
    ids = rig.customer_ids(f"{kind}-{label}", count)
    rig.make_customers(ids, utcnow())
    if kind == "signed_up":
        payload = _plain(welcome_data(SAMPLE_CUSTOMERS[2]))
        events = [raw_event(c, kind, start, label, payload) for c in ids]
    else:
        bill = _plain(bill_data(SAMPLE_CUSTOMERS[2]))
        issued = start - timedelta(days=10)
        rig.ingest([raw_event(c, "bill_issued", issued, label, bill)
                    for c in ids[::2]], utcnow())
        paid = start - timedelta(days=5)
        events = [raw_event(c, kind, paid, label,
                            {"invoice_number": bill["invoice_number"],
                             "amount": bill["total"]}) for c in ids]
    return IntakeEvents(events, floor.rows(events, utcnow()))


def measure_intake(rig: Rig, floor: FloorTable, kind: str, batch: int, count: int,
                   start: datetime) -> tuple[IntakeRun, IntakeRun]:
    """ccm and the plain insert, unit by unit in turn (alternating which goes first)."""
    prepared = prepare_intake(rig, floor, kind, f"b{batch}", count, start)
    ccm, plain = IntakeRun("ccm", kind, batch), IntakeRun("insert", kind, batch)
    units = list(zip(_chunks(prepared.events, batch), _chunks(prepared.rows, batch),
                     strict=True))
    for index, (events, rows) in enumerate(units):
        if index % 2 == 0:
            _ccm_unit(rig, ccm, events)
            _floor_unit(rig, floor, plain, rows)
        else:
            _floor_unit(rig, floor, plain, rows)
            _ccm_unit(rig, ccm, events)
    # What the events are meant to do (see the module docstring), checked.
    expected = ({"accepted": count, "transitions": count, "sends": count}
                if kind == "signed_up" else
                {"accepted": count, "cancelled": len(range(0, count, 2))})
    got = {name: ccm.effects[name] for name in ("accepted", "transitions", "sends",
                                                 "cancelled")}
    if got != {"transitions": 0, "sends": 0, "cancelled": 0, **expected}:
        raise RuntimeError(f"{kind}, {batch} per unit: the events did {got}, not {expected}")
    return ccm, plain


def warm_up_intake(rig: Rig, floor: FloorTable, start: datetime) -> None:
    for kind in KINDS:
        prepared = prepare_intake(rig, floor, kind, "warmup", WARMUP_EVENTS, start)
        scratch = IntakeRun("ccm", kind, 1), IntakeRun("insert", kind, 1)
        for raw, row in zip(prepared.events, prepared.rows, strict=True):
            _ccm_unit(rig, scratch[0], [raw])
            _floor_unit(rig, floor, scratch[1], [row])


# -- dispatch -------------------------------------------------------------------------------

class Phases:
    """Exclusive time per phase: a phase's own time, without the phases timed inside it."""

    @dataclass
    class _Frame:
        label: str
        child_s: float = 0.0
        children: list[str] = field(default_factory=list)

    def __init__(self) -> None:
        self.totals: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._stack: list[Phases._Frame] = []

    @contextlib.contextmanager
    def span(self, label: str) -> Iterator[Phases._Frame]:
        frame = Phases._Frame(label)
        parent = self._stack[-1] if self._stack else None
        if parent is not None:
            parent.children.append(label)
        self._stack.append(frame)
        start = time.perf_counter()
        try:
            yield frame
        finally:
            elapsed = time.perf_counter() - start
            self._stack.pop()
            if parent is not None:
                parent.child_s += elapsed
            self.totals[frame.label] += elapsed - frame.child_s
            self.calls[frame.label] += 1

    def wrap(self, label: str, function: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> _T:
            with self.span(label):
                return function(*args, **kwargs)
        return timed

    def unit_of_work(self, original: Callable[[sessionmaker[Session]],
                                              contextlib.AbstractContextManager[Session]]
                     ) -> Callable[[sessionmaker[Session]],
                                   contextlib.AbstractContextManager[Session]]:
        """A unit of work whose own time (session, commit, close) is charged to
        ``commit: <first phase inside it>``."""
        @contextlib.contextmanager
        def timed(factory: sessionmaker[Session]) -> Iterator[Session]:
            with self.span("unit of work") as frame:
                try:
                    with original(factory) as session:
                        yield session
                finally:
                    frame.label = (f"commit after {frame.children[0]}" if frame.children
                                   else "unit of work with nothing in it (idle tick)")
        return timed


class TimedStore:
    """The artifact store with its reads and writes timed."""

    def __init__(self, store: LocalArtifactStore, phases: Phases) -> None:
        self.store = store
        self.put = phases.wrap("artifact writes (new file, fsync)", store.put)
        self.get = phases.wrap("artifact reads", store.get)
        self.exists = store.exists
        self.check = store.check
        self.describe = store.describe


#: Phase labels in the order of a send's life, for the breakdown table.
PHASE_ORDER = (
    "follow-ups due (query)", "claim sends", "load send (checks, template lookup)",
    "render", "tracking links", "artifact writes (new file, fsync)", "record communication",
    "rebuild message", "artifact reads", "MIME build", "SMTP: connect and EHLO",
    "SMTP: message flattened again (aiosmtplib)", "SMTP: MAIL, RCPT, DATA and replies",
    "SMTP: QUIT",
    "record delivery (finish_delivery)",
)


@contextlib.contextmanager
def instrumented(worker: DeliveryWorker, phases: Phases) -> Iterator[None]:
    """The worker's phases timed, by wrapping the functions it calls (restored after)."""
    from aiosmtplib.email import flatten_message

    import ccm.delivery.adapters.email as email_adapter
    import ccm.delivery.dispatch as dispatch
    import ccm.delivery.worker as worker_module
    from ccm.delivery.message import DeliveryChannel
    from ccm.delivery.tracking import instrument_email
    from ccm.journeys.orchestrator import Orchestrator

    patches: list[tuple[object, str, object]] = [
        (worker_module, "claim_sends", phases.wrap("claim sends", dispatch.claim_sends)),
        (worker_module, "load_send",
         phases.wrap("load send (checks, template lookup)", dispatch.load_send)),
        (worker_module, "render_work", phases.wrap("render", dispatch.render_work)),
        (worker_module, "record_send",
         phases.wrap("record communication", dispatch.record_send)),
        (worker_module, "outbound_message",
         phases.wrap("rebuild message", dispatch.outbound_message)),
        (worker_module, "finish_delivery",
         phases.wrap("record delivery (finish_delivery)", dispatch.finish_delivery)),
        (worker_module, "unit_of_work", phases.unit_of_work(unit_of_work)),
        (dispatch, "instrument_email", phases.wrap("tracking links", instrument_email)),
        (email_adapter, "build_mime", phases.wrap("MIME build", email_adapter.build_mime)),
        (Orchestrator, "fire_due_follow_ups",
         phases.wrap("follow-ups due (query)", Orchestrator.fire_due_follow_ups)),
    ]
    def timed_async(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        # The adapter awaits one SMTP step at a time on its own loop: spans do not overlap.
        @functools.wraps(function)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            with phases.span(label):
                return await function(*args, **kwargs)
        return timed

    patches += [
        (aiosmtplib.smtp, "flatten_message",
         phases.wrap("SMTP: message flattened again (aiosmtplib)", flatten_message)),
        (aiosmtplib.SMTP, "connect",
         timed_async("SMTP: connect and EHLO", aiosmtplib.SMTP.connect)),
        (aiosmtplib.SMTP, "quit", timed_async("SMTP: QUIT", aiosmtplib.SMTP.quit)),
    ]
    adapter = worker.adapters[DeliveryChannel.EMAIL]
    patches.append((adapter, "deliver_many",
                    phases.wrap("SMTP: MAIL, RCPT, DATA and replies", adapter.deliver_many)))
    originals = [(target, name, target.__dict__[name] if name in vars(target) else None)
                 for target, name, _ in patches]
    for target, name, value in patches:
        setattr(target, name, value)
    try:
        yield
    finally:
        for target, name, value in originals:
            if value is None:
                delattr(target, name)  # an instance attribute over the class's method
            else:
                setattr(target, name, value)


def queue_sends(rig: Rig, label: str, count: int, at: datetime, *, bills: bool) -> list[str]:
    """``count`` email sends due at ``at``: welcome letters (signed_up) or bills with their
    PDF (bill_issued); returns their ids."""
    ids = rig.customer_ids(label, count)
    rig.make_customers(ids, at)
    if bills:
        payload = _plain(bill_data(SAMPLE_CUSTOMERS[2]))
        events = [raw_event(c, "bill_issued", at, label, payload) for c in ids]
    else:
        payload = _plain(welcome_data(SAMPLE_CUSTOMERS[2]))
        events = [raw_event(c, "signed_up", at, label, payload) for c in ids]
    sends = [send for result in rig.ingest(events, at) for send in result.outcome.sends]
    queued = [send.id for send in sends if send.status is SendStatus.QUEUED]
    if len(queued) != count:
        raise RuntimeError(f"{label}: {len(queued)} of {count} sends queued: "
                           f"{Counter(str(s.status) for s in sends)}")
    return queued


def _claimable(rig: Rig, at: datetime) -> set[str]:
    with unit_of_work(rig.factory) as session:
        return set(session.scalars(select(Send.id).where(sqlalchemy.or_(
            sqlalchemy.and_(Send.status == SendStatus.QUEUED, Send.due_at <= at),
            sqlalchemy.and_(Send.status == SendStatus.SENDING, Send.lease_until < at)))))


@dataclass
class DispatchRun:
    label: str
    sends: int
    wall_s: float
    ticks: int
    messages: list[Captured]
    phases: dict[str, float] | None = None

    @property
    def rate(self) -> float:
        return self.sends / self.wall_s


def run_worker(rig: Rig, label: str, send_ids: list[str], at: datetime,
               phases: Phases | None = None) -> DispatchRun:
    """``run_until_idle`` of a fresh worker; checks every send went out exactly once."""
    others = _claimable(rig, at) - set(send_ids)
    if others:
        raise RuntimeError(f"the database holds {len(others)} other sends due at "
                           f"{at.isoformat()}: use a fresh database")
    store: Any = rig.store if phases is None else TimedStore(rig.store, phases)
    worker = DeliveryWorker(rig.factory, store, rig.settings, clock=lambda: at)
    before = rig.capture.count()
    with instrumented(worker, phases) if phases is not None else contextlib.nullcontext():
        start = time.perf_counter()
        reports = worker.run_until_idle()
        wall = time.perf_counter() - start
    received = rig.capture.since(before)
    with unit_of_work(rig.factory) as session:
        statuses = Counter(str(status) for status in session.scalars(
            select(Send.status).where(Send.id.in_(send_ids))))
    if statuses != Counter({str(SendStatus.SENT): len(send_ids)}):
        raise RuntimeError(f"{label}: sends ended as {dict(statuses)}")
    got = Counter(message.send_id for message in received)
    if got != Counter(send_ids):
        raise RuntimeError(f"{label}: the capture received {len(received)} messages for "
                           f"{len(got)} sends, {len(send_ids)} expected")
    return DispatchRun(label, len(send_ids), wall, len(reports), received,
                       dict(phases.totals) if phases is not None else None)


def raw_smtp(rig: Rig, messages: Sequence[Captured]) -> float:
    """Seconds to send ``messages`` (their bytes as received) over one new connection."""
    async def send_all() -> float:
        start = time.perf_counter()
        smtp = aiosmtplib.SMTP(hostname=HOST, port=rig.capture.port)
        await smtp.connect()
        for message in messages:
            await smtp.sendmail(message.mail_from, message.rcpt_to, message.raw)
        await smtp.quit()
        return time.perf_counter() - start

    before = rig.capture.count()
    seconds = asyncio.run(send_all())
    if rig.capture.count() - before != len(messages):
        raise RuntimeError("raw SMTP: the capture did not receive every message")
    return seconds


@dataclass
class DispatchFamily:
    """One kind of send: plain and instrumented worker runs, each with its raw baseline."""

    label: str
    runs: list[DispatchRun]
    raw_s: list[float]


def measure_dispatch(rig: Rig, label: str, slug: str, count: int, at: datetime, *,
                     bills: bool) -> DispatchFamily:
    warm = queue_sends(rig, f"{slug}-warmup", min(WARMUP_SENDS, count), at, bills=bills)
    warm_run = run_worker(rig, "warm-up", warm, at)
    raw_smtp(rig, warm_run.messages)
    family = DispatchFamily(label, [], [])
    for run_label, phases in (("worker", None), ("worker, phases timed", Phases())):
        send_ids = queue_sends(rig, f"{slug}-{len(family.runs)}", count, at, bills=bills)
        run = run_worker(rig, run_label, send_ids, at, phases)
        family.runs.append(run)
        family.raw_s.append(raw_smtp(rig, run.messages))
    return family


# -- the report -----------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    if milliseconds >= 100:
        return f"{milliseconds:.0f} ms"
    if milliseconds >= 10:
        return f"{milliseconds:.1f} ms"
    if milliseconds >= 1:
        return f"{milliseconds:.2f} ms"
    return f"{milliseconds:.3f} ms"


def intake_table(runs: list[IntakeRun]) -> str:
    lines = ["| event | path | events per unit of work | events | events/s | time per event "
             "| p50 per unit | p99 per unit | SQL statements per event "
             "| durable commits per unit | time ÷ plain insert | events/s ÷ one per unit |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by_key = {(run.path, run.kind, run.batch): run for run in runs}
    for run in runs:
        floor = by_key[("insert", run.kind, run.batch)]
        single = by_key[(run.path, run.kind, 1)]
        path = "ccm `ingest_events`" if run.path == "ccm" else "plain insert (baseline)"
        statements = sum(run.sql.statements.values()) / run.events  # executemany: one
        commits = run.sql.commits / len(run.unit_s)
        lines.append(
            f"| `{run.kind}` | {path} | {run.batch} | {run.events} | {run.rate:.0f} "
            f"| {_ms(run.per_event_s)} | {_ms(statistics.median(run.unit_s))} "
            f"| {_ms(_percentile(run.unit_s, 0.99))} | {statements:.3g} | {commits:.0f} "
            f"| {run.per_event_s / floor.per_event_s:.1f} × | {run.rate / single.rate:.2f} × |")
    return "\n".join(lines)


def dispatch_table(families: list[DispatchFamily]) -> str:
    lines = ["| sends | path | messages | mean size | wall | sends/s | time per send "
             "| sends/s ÷ raw SMTP |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for family in families:
        for run, raw_s in zip(family.runs, family.raw_s, strict=True):
            raw_rate = run.sends / raw_s
            size = f"{statistics.mean(len(m.raw) for m in run.messages) / 1024:.0f} KiB"
            lines.append(f"| {family.label} | `DeliveryWorker.run_until_idle` ({run.label}) "
                         f"| {run.sends} | {size} | {run.wall_s:.2f} s | {run.rate:.1f} "
                         f"| {_ms(run.wall_s / run.sends)} | {run.rate / raw_rate:.3f} × |")
            lines.append(f"| {family.label} | raw SMTP, aiosmtplib, one connection (baseline) "
                         f"| {run.sends} | {size} | {raw_s:.2f} s | {raw_rate:.0f} "
                         f"| {_ms(raw_s / run.sends)} | 1 × |")
    return "\n".join(lines)


def phase_rows(run: DispatchRun) -> list[tuple[str, float]]:
    """(phase, seconds) in the order of a send's life, commits after their phase."""
    assert run.phases is not None
    rows: list[tuple[str, float]] = []
    remaining = dict(run.phases)
    for phase in PHASE_ORDER:
        if phase in remaining:
            rows.append((phase, remaining.pop(phase)))
        commit = f"commit after {phase}"
        if commit in remaining:
            rows.append((f"{phase}: its unit of work (session, commit)",
                         remaining.pop(commit)))
    rows += sorted(remaining.items())
    rows.append(("rest of the worker loop (untimed)", run.wall_s - sum(run.phases.values())))
    return rows


def phases_table(families: list[DispatchFamily]) -> str:
    timed = [(family, run) for family in families for run in family.runs if run.phases]
    header = "| phase | " + " | ".join(f"{family.label}: per send | share"
                                        for family, _ in timed) + " |"
    lines = [header, "|---|" + "---:|---:|" * len(timed)]
    tables = [dict(phase_rows(run)) for _, run in timed]
    names = list(dict.fromkeys(name for _, run in timed for name, _ in phase_rows(run)))
    for name in names:
        cells = []
        for (_, run), table in zip(timed, tables, strict=True):
            value = table.get(name)
            cells.append("| |" if value is None else
                         f"{_ms(value / run.sends)} | {value / run.wall_s:.0%} |")
        lines.append(f"| {name} | " + " ".join(cells))
    totals = " ".join(f"**{_ms(run.wall_s / run.sends)}** | 100% |" for _, run in timed)
    lines.append(f"| **wall time of `run_until_idle`** | {totals}")
    return "\n".join(lines)


def intake_prose(runs: list[IntakeRun], sqlite: bool) -> str:
    by_key = {(run.path, run.kind, run.batch): run for run in runs}
    parts = []
    for kind in KINDS:
        ccm, floor = by_key[("ccm", kind, 1)], by_key[("insert", kind, 1)]
        n = ccm.events
        sql_s = sum(ccm.sql.seconds.values()) / n
        verbs = ", ".join(f"{count / n:.3g} {verb}" for verb, count in
                          ccm.sql.statements.most_common())
        python_s = (ccm.work_s / n) - sql_s
        commit_note = (f"{_ms(ccm.sql.release_commit_s / n)} of it the savepoint RELEASE "
                       f"that commits" if ccm.sql.release_commit_s else "")
        effects = ", ".join(f"{ccm.effects[name] / n:.2g} {what}" for name, what in (
            ("transitions", "stage entered"), ("sends", "email queued"),
            ("cancelled", "reminder cancelled")) if ccm.effects[name])
        parts.append(
            f"`{kind}` ({effects or 'no effect'} per event), one event per unit of work: "
            f"{_ms(ccm.per_event_s)} per event = "
            f"{_ms(sql_s)} in {sum(ccm.sql.statements.values()) / n:.0f} SQL statements "
            f"at the driver ({verbs}{'; ' + commit_note if commit_note else ''}) + "
            f"{_ms(ccm.commit_s / n)} session commit and close + {_ms(python_s)} in Python "
            f"(validation, ORM, orchestration); the plain insert takes "
            f"{_ms(floor.work_s / n)} to insert and {_ms(floor.commit_s / n)} to commit.")
    batched = [run for run in runs if run.path == "ccm" and run.batch > 1]
    if batched:
        worst = max(batched, key=lambda run: run.sql.commits / len(run.unit_s))
        commits = worst.sql.commits / len(worst.unit_s)
        floor = by_key[("insert", worst.kind, worst.batch)]
        if commits > 1.5:
            parts.append(
                f"Batches do not share a commit: a batch of {worst.batch} made {commits:.0f} "
                f"durable commits"
                + (" — with pysqlite (Python's sqlite3), the first statement of the unit of "
                   "work is each event's SAVEPOINT, before which the driver opens no "
                   "transaction, so SQLite opens one for the savepoint and its RELEASE "
                   "commits it: each event is committed (and synced) on its own, and the "
                   "batch is not one transaction (a rollback of the unit of work undoes "
                   "nothing)" if sqlite else "")
                + f"; the plain insert commits each batch once "
                f"({by_key[('insert', worst.kind, 1)].per_event_s / floor.per_event_s:.0f} "
                f"× cheaper per event than one by one).")
        else:
            parts.append("Each batch is one transaction with one durable commit.")
    return "Where the time goes in intake (mean per event). " + " ".join(parts)


def dispatch_prose(families: list[DispatchFamily]) -> str:
    parts = []
    for family in families:
        plain, timed = family.runs
        assert timed.phases is not None
        top = sorted(((name, seconds) for name, seconds in phase_rows(timed)
                      if not name.startswith("rest")), key=lambda row: -row[1])[:3]
        raw = family.raw_s[0] / plain.sends
        commits = sum(s for name, s in timed.phases.items() if name.startswith("commit"))
        parts.append(
            f"{family.label}: {_ms(plain.wall_s / plain.sends)} per send "
            f"({plain.rate:.1f}/s, {plain.ticks} ticks of up to 50 sends); raw SMTP of the "
            f"same bytes takes {_ms(raw)} per message, so the worker reaches "
            f"{raw / (plain.wall_s / plain.sends):.1%} of the raw SMTP rate. The biggest "
            f"phases: " + ", ".join(f"{name.strip(' …')} {_ms(s / timed.sends)}"
                                    for name, s in top)
            + f"; the {sum(1 for n in timed.phases if n.startswith('commit'))} kinds of "
            f"unit of work (session, commit) add {_ms(commits / timed.sends)} per send "
            f"together (phases-timed run: {_ms(timed.wall_s / timed.sends)} per send).")
    return "Where the time goes in dispatch. " + " ".join(parts)


def machine_note(database: str, events: int, sends: int, loads: tuple[float, float]) -> str:
    return (f"{os.cpu_count()} cores (shared), {database}, {events} events per type one by "
            f"one, {sends} sends per run; Python {platform.python_version()}, SQLAlchemy "
            f"{sqlalchemy.__version__}; load average {loads[0]:.1f} at the start, "
            f"{loads[1]:.1f} at the end.")


# -- main -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer events (100, batches of 100) and sends (40)")
    parser.add_argument("--events", type=int,
                        help="events per type taken one per unit of work (default 500); "
                             "each batch size takes as many, at least one full batch")
    parser.add_argument("--batch-sizes", help="comma-separated (default 100,1000)")
    parser.add_argument("--sends", type=int, help="welcome emails per worker run (default 200)")
    parser.add_argument("--with-pdf", action="store_true",
                        help="also bills by email with their PDF attached")
    parser.add_argument("--pdf-sends", type=int, help="bills per worker run (default 10)")
    parser.add_argument("--database-url",
                        help="a database to use instead of a throwaway SQLite file (it is "
                             "migrated and the stock registry loaded; the benchmark's "
                             "customers, events and sends stay in it; the scratch table "
                             "is dropped)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--capture", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture:
        serve_capture()
        return
    pick = 1 if args.quick else 0
    events = args.events or EVENTS[pick]
    batch_sizes = ([int(size) for size in args.batch_sizes.split(",")] if args.batch_sizes
                   else list(BATCH_SIZES[pick]))
    sends = args.sends or SENDS[pick]
    pdf_sends = args.pdf_sends or PDF_SENDS[pick]
    folder = Path(tempfile.mkdtemp(prefix="ccm-bench-journeys-"))
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    database = "PostgreSQL" if database_url.startswith("postgres") else \
        "SQLite (WAL)" if database_url.startswith("sqlite") else database_url.split(":")[0]
    load_start = os.getloadavg()[0]
    runs: list[IntakeRun] = []
    families: list[DispatchFamily] = []
    floor: FloorTable | None = None
    rig: Rig | None = None
    try:
        capture = CaptureProcess()
        try:
            rig = make_rig(database_url, folder, capture)
            floor = FloorTable(rig.engine, rig.run)
            start = utcnow().replace(microsecond=0)
            warm_up_intake(rig, floor, start)
            for kind in KINDS:
                for batch in (1, *batch_sizes):
                    count = max(events, batch) if batch > 1 else events
                    count = math.ceil(count / batch) * batch
                    runs += measure_intake(rig, floor, kind, batch, count, start)
                    print(f"measured intake: {kind}, {batch} per unit", file=sys.stderr)
            # A month back: the sends the intake queued (due now) are not the worker's.
            dispatch_at = start - timedelta(days=30)
            families.append(measure_dispatch(rig, "welcome email (no PDF)", "welcome", sends,
                                             dispatch_at, bills=False))
            print("measured dispatch: welcome emails", file=sys.stderr)
            if args.with_pdf:
                families.append(measure_dispatch(rig, "bill email + PDF", "bill", pdf_sends,
                                                 dispatch_at, bills=True))
                print("measured dispatch: bills with PDF", file=sys.stderr)
        finally:
            capture.stop()
    finally:
        if floor is not None:
            floor.drop()
        if rig is not None:
            rig.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    sqlite = database_url.startswith("sqlite")
    loads = (load_start, os.getloadavg()[0])
    print(machine_note(database, events, sends, loads))
    print()
    print(intake_table(runs))
    print()
    print(intake_prose(runs, sqlite))
    print()
    print(dispatch_table(families))
    print()
    print(phases_table(families))
    print()
    print(dispatch_prose(families))
    if args.json:
        args.json.write_text(json.dumps({
            "database": database, "cores": os.cpu_count(), "load_average": loads,
            "events": events, "batch_sizes": batch_sizes, "sends": sends,
            "intake": [run.summary() for run in runs],
            "dispatch": [{"label": family.label, "runs": [
                {"label": run.label, "sends": run.sends, "wall_s": run.wall_s,
                 "mean_bytes": statistics.mean(len(m.raw) for m in run.messages),
                 "sends_per_s": run.rate, "ticks": run.ticks, "raw_smtp_s": raw_s,
                 "phases_s": run.phases} for run, raw_s in zip(family.runs, family.raw_s,
                                                               strict=True)]}
                for family in families]}, indent=2))


if __name__ == "__main__":
    main()
