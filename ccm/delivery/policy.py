"""Send policy: which channel a send takes, when quiet hours let it go, the marketing cap.

Pure functions over a customer's reachability; the outbox applies them when a journey
decides on a send, and the simulation shows the same decisions without sending.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ccm.config import Settings
from ccm.customers.models import Purpose
from ccm.customers.service import Reachability
from ccm.delivery.message import DeliveryChannel
from ccm.journeys.definition import PREFERRED, JourneyDef, parse_clock, parse_duration

#: The template body a delivery channel renders.
BODY_FOR_CHANNEL = {DeliveryChannel.EMAIL: "email", DeliveryChannel.SMS: "sms",
                    DeliveryChannel.PRINT: "pdf"}


@dataclass(frozen=True)
class QuietHours:
    """Local times in which sends on ``channels`` wait (``start`` > ``end``: overnight)."""

    start: time
    end: time
    channels: frozenset[DeliveryChannel]

    @classmethod
    def parse(cls, text: str, channels: Iterable[str] = ("email", "sms")) -> QuietHours | None:
        if not text.strip():
            return None
        try:
            start, end = (parse_clock(part.strip()) for part in text.split("-", 1))
        except ValueError:
            raise ValueError(f"quiet hours {text!r} must read like 21:00-08:00") from None
        return cls(start, end, frozenset(DeliveryChannel(c) for c in channels))

    def _quiet(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def release(self, due: datetime, time_zone: str, channel: DeliveryChannel) -> datetime:
        """When a send due at ``due`` may go: ``due`` itself, or the end of the quiet
        hours it falls in, in the customer's time zone."""
        if channel not in self.channels:
            return due
        zone = zone_of(time_zone)
        local = due.astimezone(zone)
        if not self._quiet(local.time().replace(tzinfo=None)):
            return due
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        released = datetime.combine(day, self.end, tzinfo=zone)
        return released.astimezone(UTC)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``limit`` marketing sends per customer in any ``period``."""

    limit: int
    period: timedelta

    @classmethod
    def parse(cls, text: str) -> FrequencyCap | None:
        if not text.strip():
            return None
        try:
            count, period = text.split("/", 1)
            return cls(int(count), parse_duration(period))
        except ValueError:
            raise ValueError(f"frequency cap {text!r} must read like 3/7d") from None

    def describe(self) -> str:
        days = self.period / timedelta(days=1)
        span = f"{days:g}d" if days >= 1 else f"{self.period.total_seconds():g}s"
        return f"{self.limit} per {span}"


@dataclass(frozen=True)
class SendPolicy:
    """Quiet hours and marketing caps that apply to one journey's sends."""

    quiet_hours: QuietHours | None
    caps: tuple[FrequencyCap, ...]

    @classmethod
    def for_journey(cls, settings: Settings, journey: JourneyDef | None) -> SendPolicy:
        quiet = QuietHours.parse(settings.quiet_hours)
        if journey is not None and journey.quiet_hours is not None:
            q = journey.quiet_hours
            quiet = QuietHours(parse_clock(q.start), parse_clock(q.end),
                               frozenset(DeliveryChannel(c) for c in q.channels))
        caps = [cap for cap in (FrequencyCap.parse(settings.marketing_cap),) if cap]
        if journey is not None and journey.marketing_cap is not None:
            caps.append(FrequencyCap(journey.marketing_cap.max,
                                     parse_duration(journey.marketing_cap.per)))
        return cls(quiet, tuple(caps))


@dataclass(frozen=True)
class ChannelDecision:
    """The channel a send takes (None: suppressed) and why, candidate by candidate."""

    channel: DeliveryChannel | None
    steps: tuple[dict[str, Any], ...]

    @property
    def reason(self) -> str:
        if self.channel is not None:
            return f"{self.channel.value}: {self.steps[-1]['reason']}"
        skipped = "; ".join(f"{s['channel']}: {s['reason']}" for s in self.steps)
        return f"no channel allowed ({skipped})" if skipped else "no channel allowed"


def choose_channel(
    candidates: Sequence[str],
    reach: Reachability,
    purpose: Purpose,
    bodies: Iterable[str],
) -> ChannelDecision:
    """The first candidate the template has a body for, the customer has a contact point
    for and consent allows. ``preferred`` stands for the customer's preferred channel."""
    available = set(bodies)
    steps: list[dict[str, Any]] = []
    seen: set[DeliveryChannel] = set()
    for candidate in candidates:
        if candidate == PREFERRED:
            preferred = reach.customer.preferred_channel
            if preferred is None:
                steps.append({"channel": PREFERRED, "taken": False,
                              "reason": "the customer has no preferred channel"})
                continue
            candidate = preferred
        channel = DeliveryChannel(candidate)
        if channel in seen:
            continue
        seen.add(channel)
        step: dict[str, Any] = {"channel": channel.value, "taken": False}
        allowed, why = reach.allows(channel, purpose)
        if BODY_FOR_CHANNEL[channel] not in available:
            step["reason"] = f"the template has no {BODY_FOR_CHANNEL[channel]} body"
        elif reach.contact_point(channel) is None:
            step["reason"] = {DeliveryChannel.EMAIL: "no email address",
                              DeliveryChannel.SMS: "no phone number",
                              DeliveryChannel.PRINT: "no postal address"}[channel]
        elif not allowed:
            step["reason"] = why
        else:
            step.update(taken=True, reason=why)
            steps.append(step)
            return ChannelDecision(channel, tuple(steps))
        steps.append(step)
    return ChannelDecision(None, tuple(steps))
