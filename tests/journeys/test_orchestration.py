"""Events move customers through the stock journey; sends obey consent, contact points,
quiet hours and the marketing cap; follow-ups wait and are cancelled. An injectable clock
stands in for time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from journey_support import (
    START,
    Clock,
    add_customer,
    bill_payload,
    event,
    fire,
    follow_ups_of,
    history,
    quiet_settings,
    send_events,
    sends_of,
    stage_of,
    welcome_payload,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ccm.customers.models import Purpose
from ccm.customers.schemas import ConsentIn
from ccm.customers.service import set_consent
from ccm.db import make_session_factory, unit_of_work
from ccm.delivery.message import DeliveryChannel
from ccm.delivery.models import SendStatus
from ccm.errors import EventIdReusedError, UnknownCustomerError
from ccm.journeys.models import Event, FollowUpStatus


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_sign_up_enters_welcome_and_sends_the_letter_by_the_preferred_channel(
    session: Session, clock: Clock
) -> None:
    customer = add_customer(session)
    [result] = send_events(session, quiet_settings(), clock,
                           event(customer, "signed_up", START, welcome_payload()))
    assert result.status == "accepted"
    assert stage_of(session, customer) == "welcome"
    assert history(session, customer) == [(None, "welcome", "entered", False)]
    [send] = sends_of(session, customer)
    assert (send.template_key, send.channel, send.status) == (
        "welcome-letter", "email", SendStatus.QUEUED)
    assert send.purpose == "transactional" and send.trigger == f"event:{result.event_id}"
    assert send.decision == [{"channel": "email", "taken": True, "reason": "transactional"}]


def test_follow_up_fires_after_its_wait(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session)
    send_events(session, settings, clock, event(customer, "bill_issued", START, bill_payload()))
    [follow_up] = follow_ups_of(session, customer)
    assert follow_up.status is FollowUpStatus.PENDING
    clock.advance(days=20, hours=23)
    assert not fire(session, settings, clock, customer).transitions
    assert stage_of(session, customer) == "first-bill"
    clock.advance(hours=1)
    outcome = fire(session, settings, clock, customer)
    assert [t.to_stage for t in outcome.transitions] == ["payment-reminder"]
    assert stage_of(session, customer) == "payment-reminder"
    reminder = [s for s in sends_of(session, customer) if s.template_key == "payment-reminder"]
    assert len(reminder) == 1 and reminder[0].status is SendStatus.QUEUED
    # The reminder renders from the bill's data, which the follow-up kept.
    assert reminder[0].data["invoice_number"] == bill_payload()["invoice_number"]
    session.refresh(follow_up)
    assert follow_up.status is FollowUpStatus.FIRED
    # Firing again does nothing: the follow-up is done.
    clock.advance(days=1)
    assert not fire(session, settings, clock, customer).sends
    assert len([s for s in sends_of(session, customer)
                if s.template_key == "payment-reminder"]) == 1


def test_unless_event_cancels_the_follow_up(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session, attributes={"tenure_months": 3})
    send_events(session, settings, clock, event(customer, "bill_issued", START, bill_payload()))
    clock.advance(days=9)
    send_events(session, settings, clock,
                event(customer, "payment_received", clock.now, {"amount": 100}))
    [follow_up] = follow_ups_of(session, customer)
    assert follow_up.status is FollowUpStatus.CANCELLED
    assert "payment_received" in (follow_up.resolution or "")
    clock.advance(days=30)
    assert not fire(session, settings, clock, customer).transitions
    assert stage_of(session, customer) == "first-bill"
    assert [s.template_key for s in sends_of(session, customer)] == ["utility-bill"]


def test_a_payment_that_arrives_late_still_cancels_but_one_from_before_the_bill_does_not(
    session: Session, clock: Clock
) -> None:
    settings = quiet_settings()
    customer = add_customer(session, attributes={"tenure_months": 3})
    send_events(session, settings, clock, event(customer, "bill_issued", START, bill_payload()))
    clock.advance(days=12)
    # Paid the day before the bill: not a payment of this bill.
    send_events(session, settings, clock, event(customer, "payment_received",
                                                START - timedelta(days=1), event_id="early"))
    assert follow_ups_of(session, customer)[0].status is FollowUpStatus.PENDING
    # Paid on day 5, reported on day 12: placed by its time, it cancels.
    send_events(session, settings, clock, event(customer, "payment_received",
                                                START + timedelta(days=5), event_id="late"))
    assert follow_ups_of(session, customer)[0].status is FollowUpStatus.CANCELLED


def test_quiet_hours_delay_a_send_to_the_morning_in_the_customers_time_zone(
    session: Session, clock: Clock
) -> None:
    settings = quiet_settings(quiet_hours="21:00-08:00")
    customer = add_customer(session, preferred_channel="sms")
    late_evening = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    clock.now = late_evening
    send_events(session, settings, clock,
                event(customer, "signed_up", late_evening, welcome_payload()))
    [send] = sends_of(session, customer)
    assert send.channel == "sms" and send.status is SendStatus.QUEUED
    assert send.due_at.replace(tzinfo=UTC) == datetime(2026, 11, 3, 7, 0, tzinfo=UTC)  # 08:00
    # Print is not held back by quiet hours.
    other = add_customer(session, "C-2", preferred_channel="print")
    send_events(session, settings, clock,
                event(other, "signed_up", late_evening, welcome_payload()))
    assert sends_of(session, other)[0].due_at.replace(tzinfo=UTC) == late_evening


def test_consent_blocks_a_promotion_but_not_a_bill(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session)
    send_events(session, settings, clock,
                event(customer, "bill_issued", START, bill_payload()),
                event(customer, "payment_received", START + timedelta(hours=1)))
    by_template = {s.template_key: s for s in sends_of(session, customer)}
    bill, offer = by_template["utility-bill"], by_template["loyalty-offer"]
    assert bill.status is SendStatus.QUEUED and bill.channel == "email"
    assert offer.template_key == "loyalty-offer" and offer.purpose == "marketing"
    assert offer.status is SendStatus.SUPPRESSED
    assert offer.reason is not None and "no marketing opt-in" in offer.reason
    # With an opt-in for email marketing, the next offer goes out.
    set_consent(session, customer, ConsentIn(channel=DeliveryChannel.EMAIL,
                                             purpose=Purpose.MARKETING, granted=True,
                                             source="preference centre"))
    send_events(session, settings, clock,
                event(customer, "bill_issued", START + timedelta(days=30), bill_payload()),
                event(customer, "payment_received", START + timedelta(days=31)))
    offers = [s for s in sends_of(session, customer) if s.template_key == "loyalty-offer"]
    assert sorted(s.status.value for s in offers) == ["queued", "suppressed"]


def test_a_refused_channel_blocks_even_a_bill(session: Session, clock: Clock) -> None:
    customer = add_customer(session)
    set_consent(session, customer, ConsentIn(channel=DeliveryChannel.EMAIL,
                                             purpose=Purpose.TRANSACTIONAL, granted=False,
                                             source="letter from the customer"))
    send_events(session, quiet_settings(), clock,
                event(customer, "bill_issued", START, bill_payload()))
    [bill] = sends_of(session, customer)
    assert bill.channel == "print"  # the next channel of the policy
    assert bill.decision[0] == {"channel": "email", "taken": False,
                                "reason": "customer refused this channel"}


def test_falls_back_from_sms_to_email_when_there_is_no_phone(
    session: Session, clock: Clock
) -> None:
    customer = add_customer(session, preferred_channel="sms", phone=None)
    send_events(session, quiet_settings(), clock,
                event(customer, "signed_up", START, welcome_payload()))
    [send] = sends_of(session, customer)
    assert send.channel == "email"
    assert send.decision == [
        {"channel": "sms", "taken": False, "reason": "no phone number"},
        {"channel": "email", "taken": True, "reason": "transactional"},
    ]


def test_no_channel_left_is_recorded_as_suppressed_with_the_reasons(
    session: Session, clock: Clock
) -> None:
    customer = add_customer(session, preferred_channel=None, email=None, phone=None,
                            postal_address=[])
    send_events(session, quiet_settings(), clock,
                event(customer, "signed_up", START, welcome_payload()))
    [send] = sends_of(session, customer)
    assert send.status is SendStatus.SUPPRESSED and send.channel is None
    assert send.reason == ("no channel allowed (preferred: the customer has no preferred "
                           "channel; email: no email address; print: no postal address)")


def test_frequency_cap_suppresses_marketing_beyond_the_cap(
    session: Session, clock: Clock
) -> None:
    settings = quiet_settings(marketing_cap="1/7d")
    customer = add_customer(session)
    set_consent(session, customer, ConsentIn(channel=DeliveryChannel.EMAIL,
                                             purpose=Purpose.MARKETING, granted=True,
                                             source="signup form"))
    for day in (0, 2, 9):
        at = START + timedelta(days=day)
        clock.now = at
        send_events(session, settings, clock,
                    event(customer, "bill_issued", at, bill_payload()),
                    event(customer, "payment_received", at + timedelta(minutes=5)))
    offers = [s for s in sends_of(session, customer) if s.template_key == "loyalty-offer"]
    assert [s.status for s in offers] == [SendStatus.QUEUED, SendStatus.SUPPRESSED,
                                          SendStatus.QUEUED], [s.reason for s in offers]
    assert offers[1].reason is not None and "frequency cap" in offers[1].reason
    # Bills are never capped.
    bills = [s for s in sends_of(session, customer) if s.template_key == "utility-bill"]
    assert all(s.status is SendStatus.QUEUED for s in bills)


def test_a_duplicated_event_changes_nothing(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session)
    signed_up = event(customer, "signed_up", START, welcome_payload(), event_id="evt-1")
    [first] = send_events(session, settings, clock, signed_up)
    [again] = send_events(session, settings, clock, signed_up)
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert len(sends_of(session, customer)) == 1
    assert len(history(session, customer)) == 1
    changed = dict(signed_up, payload={"other": True})
    [reused] = send_events(session, settings, clock, changed)
    assert reused.status == "refused" and isinstance(reused.error, EventIdReusedError)


def test_events_out_of_order_are_placed_by_their_time(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session)
    send_events(session, settings, clock,
                event(customer, "bill_issued", START + timedelta(days=3), bill_payload()))
    send_events(session, settings, clock,
                event(customer, "signed_up", START, welcome_payload()))
    assert stage_of(session, customer) == "first-bill"
    assert history(session, customer) == [(None, "welcome", "entered", True),
                                          (None, "first-bill", "entered", False)]
    welcome = next(s for s in sends_of(session, customer) if s.template_key == "welcome-letter")
    assert welcome.status is SendStatus.SUPPRESSED
    assert welcome.reason is not None and welcome.reason.startswith("superseded")


def test_a_batch_is_handled_in_time_order(session: Session, clock: Clock) -> None:
    customer = add_customer(session)
    results = send_events(
        session, quiet_settings(), clock,
        event(customer, "bill_issued", START + timedelta(days=3), bill_payload()),
        event(customer, "signed_up", START, welcome_payload()))
    assert [r.status for r in results] == ["accepted", "accepted"]
    assert history(session, customer) == [(None, "welcome", "entered", False),
                                          ("welcome", "first-bill", "entered", False)]
    assert all(s.status is SendStatus.QUEUED for s in sends_of(session, customer))


def test_unknown_customers_are_created_or_refused_by_setting(
    session: Session, clock: Clock
) -> None:
    [created] = send_events(session, quiet_settings(), clock,
                            event("C-new", "signed_up", START, welcome_payload()))
    assert created.status == "accepted"
    [send] = sends_of(session, "C-new")
    assert send.status is SendStatus.SUPPRESSED  # a bare profile has no contact points yet
    [refused] = send_events(session, quiet_settings(events_unknown_customer="refuse"), clock,
                            event("C-other", "signed_up", START, welcome_payload()))
    assert refused.status == "refused" and isinstance(refused.error, UnknownCustomerError)
    assert sends_of(session, "C-other") == []


def test_an_exit_ends_the_journey_and_its_follow_ups(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session)
    send_events(session, settings, clock,
                event(customer, "bill_issued", START, bill_payload()),
                event(customer, "contract_ended", START + timedelta(days=2)))
    assert history(session, customer)[-1] == ("first-bill", None, "exited", False)
    assert follow_ups_of(session, customer)[0].status is FollowUpStatus.CANCELLED
    clock.advance(days=20)
    assert not fire(session, settings, clock, customer).sends
    # A finished journey is not re-entered.
    send_events(session, settings, clock,
                event(customer, "bill_issued", clock.now, bill_payload()))
    assert len(sends_of(session, customer)) == 1


def test_the_goal_completes_the_journey(session: Session, clock: Clock) -> None:
    settings = quiet_settings()
    customer = add_customer(session)
    send_events(session, settings, clock,
                event(customer, "bill_issued", START, bill_payload()),
                event(customer, "payment_received", START + timedelta(days=1)),
                event(customer, "link_clicked", START + timedelta(days=2),
                      {"template": "loyalty-offer", "url": "https://x.example"}))
    assert history(session, customer)[-1] == ("loyalty-offer", None, "goal_reached", False)


def test_invalid_data_fails_the_send_with_the_path(session: Session, clock: Clock) -> None:
    customer = add_customer(session)
    payload = bill_payload()
    del payload["invoice_number"]
    send_events(session, quiet_settings(), clock,
                event(customer, "bill_issued", START, payload))
    [send] = sends_of(session, customer)
    assert send.status is SendStatus.FAILED
    assert send.reason is not None and "/invoice_number" in send.reason


def test_a_failed_unit_of_work_keeps_none_of_its_events(engine: Engine) -> None:
    """Each event of a batch has a savepoint of its own, and still nothing is kept when
    the unit of work around them fails (pysqlite would commit each savepoint)."""
    factory = make_session_factory(engine)
    customer = f"ATOM-{uuid.uuid4().hex[:8]}"
    with unit_of_work(factory) as session:
        add_customer(session, customer)
    with pytest.raises(RuntimeError), unit_of_work(factory) as session:
        results = send_events(session, quiet_settings(), Clock(),
                              event(customer, "signed_up", START, welcome_payload()),
                              event(customer, "bill_issued", START, bill_payload()))
        assert [r.status for r in results] == ["accepted", "accepted"]
        raise RuntimeError("the request failed after the events")
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.customer_id == customer)) == 0
        assert sends_of(session, customer) == []
