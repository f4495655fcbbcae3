"""The delivery worker: fires due follow-ups and dispatches due sends, tick after tick.

`ccm worker` runs it on its own; `ccm serve` runs one in a thread beside the API. Several
workers may run against one database: claims are leased, so each send is worked on by one
worker at a time, and a dead worker's sends are taken over when their leases run out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ccm.artifacts import ArtifactStore
from ccm.audit.models import Communication
from ccm.config import Settings
from ccm.db import unit_of_work
from ccm.db.base import utcnow
from ccm.delivery.adapters.email import SmtpAdapter, SmtpSettings
from ccm.delivery.adapters.print_spool import PrintSpoolAdapter
from ccm.delivery.adapters.sms import HttpSmsAdapter
from ccm.delivery.dispatch import (
    ClaimedSend,
    claim_sends,
    finish_delivery,
    load_send,
    outbound_message,
    record_send,
    render_work,
)
from ccm.delivery.message import (
    AnswerCallback,
    ChannelAdapter,
    DeliveryChannel,
    DeliveryFailed,
    DeliveryReceipt,
    OutboundMessage,
)
from ccm.delivery.models import Send, SendStatus
from ccm.journeys.orchestrator import Orchestrator
from ccm.rendering.engine import Renderer

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class UnconfiguredAdapter:
    """Stands in for a channel with no provider set: every send fails, saying what to set."""

    def __init__(self, name: str, setting: str) -> None:
        self.name = name
        self.setting = setting

    def deliver_many(self, messages: Sequence[OutboundMessage],
                     on_answer: AnswerCallback | None = None
                     ) -> list[DeliveryReceipt | DeliveryFailed]:
        failure = DeliveryFailed(f"no {self.name} provider is configured ({self.setting})",
                                 permanent=True)
        return [failure for _ in messages]


def adapters_from_settings(settings: Settings) -> dict[DeliveryChannel, ChannelAdapter]:
    sms: ChannelAdapter = (
        HttpSmsAdapter(settings.sms_provider_url, token=settings.sms_provider_token)
        if settings.sms_provider_url else UnconfiguredAdapter("SMS", "CCM_SMS_PROVIDER_URL"))
    return {
        DeliveryChannel.EMAIL: SmtpAdapter(SmtpSettings(
            settings.smtp_host, settings.smtp_port, settings.smtp_username,
            settings.smtp_password, starttls=settings.smtp_starttls,
            use_tls=settings.smtp_tls)),
        DeliveryChannel.SMS: sms,
        DeliveryChannel.PRINT: PrintSpoolAdapter(settings.print_spool_dir),
    }


@dataclass
class TickReport:
    """What one tick did."""

    follow_ups_fired: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, status: SendStatus | None) -> None:
        name = status.value if status is not None else "lease_lost"
        self.outcomes[name] = self.outcomes.get(name, 0) + 1

    @property
    def busy(self) -> bool:
        return bool(self.follow_ups_fired or self.claimed)


class DeliveryWorker:
    """One worker: ``tick`` does one round of work; ``run`` ticks until stopped."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        store: ArtifactStore,
        settings: Settings,
        *,
        adapters: Mapping[DeliveryChannel, ChannelAdapter] | None = None,
        clock: Clock = utcnow,
        renderer: Renderer | None = None,
    ) -> None:
        self.factory = factory
        self.store = store
        self.settings = settings
        self.adapters = adapters if adapters is not None else adapters_from_settings(settings)
        self.clock = clock
        self.renderer = renderer
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round ------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        with unit_of_work(self.factory) as session:
            outcome = Orchestrator(session, self.settings).fire_due_follow_ups(now=self.clock())
            report.follow_ups_fired = len({t.trigger for t in outcome.transitions}
                                          | {s.trigger for s in outcome.sends})
        with unit_of_work(self.factory) as session:
            claimed = claim_sends(session, self.settings.worker_batch_size, self.lease,
                                  self.clock())
        report.claimed = len(claimed)
        ready: list[ClaimedSend] = []
        for item in claimed:
            if self._prepare(item, report):
                ready.append(item)
        self._deliver(ready, report)
        return report

    def _prepare(self, item: ClaimedSend, report: TickReport) -> bool:
        """Render and record one send; True when it is ready to deliver."""
        with unit_of_work(self.factory) as session:
            work = load_send(session, item, self.clock())
        if work is None:
            report.count(None)
            return False
        if work.done:
            with unit_of_work(self.factory) as session:
                send = session.get(Send, item.send_id)
                report.count(send.status if send is not None else None)
            return False
        rendered = render_work(work, self.renderer)
        with unit_of_work(self.factory) as session:
            communication_id = record_send(session, self.store, work, rendered, self.settings,
                                           self.clock())
        if communication_id is None:
            report.count(SendStatus.FAILED if rendered[2] is not None else None)
            return False
        return True

    def _deliver(self, ready: list[ClaimedSend], report: TickReport) -> None:
        by_channel: dict[DeliveryChannel, list[tuple[ClaimedSend, OutboundMessage]]] = {}
        with unit_of_work(self.factory) as session:
            for item in ready:
                send = session.get(Send, item.send_id)
                assert send is not None and send.communication_id is not None
                communication = session.get(Communication, send.communication_id)
                assert communication is not None
                message = outbound_message(session, self.store, send, communication,
                                           self.settings, self.clock())
                by_channel.setdefault(message.channel, []).append((item, message))
        for channel, items in by_channel.items():
            recorded: set[int] = set()

            def record(index: int, answer: DeliveryReceipt | DeliveryFailed,
                       items: list[tuple[ClaimedSend, OutboundMessage]] = items,
                       recorded: set[int] = recorded) -> None:
                # Each answer is committed the moment it comes: a crash right after a
                # provider took a message leaves the least possible in doubt.
                if index in recorded:
                    return
                recorded.add(index)
                with unit_of_work(self.factory) as session:
                    report.count(finish_delivery(session, items[index][0], answer,
                                                 self.settings, self.clock()))

            answers = self.adapters[channel].deliver_many([m for _, m in items], record)
            for index, answer in enumerate(answers):
                record(index, answer)

    # -- running ----------------------------------------------------------------------

    def run(self) -> None:
        """Tick until :meth:`stop`; a failing tick is logged and retried, never dropped."""
        while not self._stopping.is_set():
            try:
                busy = self.tick().busy
            except Exception:  # the database or a provider may be briefly unreachable
                log.exception("delivery worker tick failed; trying again")
                busy = False
            if not busy:
                self._stopping.wait(self.settings.worker_poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="ccm-delivery-worker",
                                        daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Finish the current tick, then stop (safe from a signal handler)."""
        self._stopping.set()

    def run_until_idle(self, *, max_ticks: int = 10_000) -> list[TickReport]:
        """Tick until a tick finds nothing to do (tests, the demo, ``ccm worker --once``)."""
        reports = []
        for _ in range(max_ticks):
            report = self.tick()
            reports.append(report)
            if not report.busy:
                break
        return reports

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
