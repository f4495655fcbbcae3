"""Customer profiles and consent: who a customer is, how to reach them, what they allow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.customers.models import Consent, ConsentChange, Customer, Purpose
from ccm.customers.schemas import ConsentIn, CustomerProfile
from ccm.db.base import utcnow
from ccm.delivery.message import DeliveryChannel
from ccm.errors import NotFoundError


def get_customer(session: Session, customer_id: str) -> Customer:
    row = session.get(Customer, customer_id)
    if row is None:
        raise NotFoundError(f"no customer {customer_id!r}")
    return row


def upsert_customer(
    session: Session, customer_id: str, profile: CustomerProfile, *, source: str,
    now: datetime | None = None,
) -> tuple[Customer, bool]:
    """Create or replace the profile (and record the consents it carries); flushes.
    Returns the row and whether it was created."""
    now = now or utcnow()
    row = session.get(Customer, customer_id)
    created = row is None
    if row is None:
        row = Customer(id=customer_id, created_at=now)
        session.add(row)
    row.name = profile.name
    row.locale = profile.locale
    row.time_zone = profile.time_zone
    row.email = profile.email
    row.phone = profile.phone
    row.postal_address = list(profile.postal_address)
    row.preferred_channel = profile.preferred_channel.value if profile.preferred_channel else None
    row.attributes = dict(profile.attributes)
    row.updated_at = now
    session.flush()
    for consent in profile.consents:
        set_consent(session, customer_id, consent, now=now)
    return row, created


def ensure_customer(session: Session, customer_id: str, *, now: datetime | None = None
                    ) -> tuple[Customer, bool]:
    """The customer, or a bare new profile (no contact points yet) for an unknown id."""
    row = session.get(Customer, customer_id)
    if row is not None:
        return row, False
    now = now or utcnow()
    row = Customer(id=customer_id, name=customer_id, time_zone="UTC", postal_address=[],
                   attributes={}, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row, True


def set_consent(session: Session, customer_id: str, consent: ConsentIn, *,
                now: datetime | None = None) -> bool:
    """Record the customer's answer; returns whether it changed anything (a repeat of the
    current answer adds no history)."""
    now = now or utcnow()
    channel, purpose = consent.channel.value, consent.purpose.value
    current = session.get(Consent, (customer_id, channel, purpose))
    if current is not None and current.granted == consent.granted:
        return False
    if current is None:
        session.add(Consent(customer_id=customer_id, channel=channel, purpose=purpose,
                            granted=consent.granted, source=consent.source, updated_at=now))
    else:
        current.granted, current.source, current.updated_at = (
            consent.granted, consent.source, now)
    session.add(ConsentChange(customer_id=customer_id, channel=channel, purpose=purpose,
                              granted=consent.granted, source=consent.source, changed_at=now))
    session.flush()
    return True


def consents_of(session: Session, customer_id: str) -> Sequence[Consent]:
    return session.scalars(select(Consent).where(Consent.customer_id == customer_id)
                           .order_by(Consent.channel, Consent.purpose)).all()


def consent_history(session: Session, customer_id: str) -> Sequence[ConsentChange]:
    return session.scalars(select(ConsentChange).where(ConsentChange.customer_id == customer_id)
                           .order_by(ConsentChange.changed_at, ConsentChange.id)).all()


@dataclass(frozen=True)
class Reachability:
    """What a customer allows and can receive, read once per decision."""

    customer: Customer
    consents: dict[tuple[str, str], bool]

    def contact_point(self, channel: DeliveryChannel) -> str | None:
        """The address a channel would use, or None when the profile has none."""
        if channel is DeliveryChannel.EMAIL:
            return self.customer.email
        if channel is DeliveryChannel.SMS:
            return self.customer.phone
        return " | ".join(self.customer.postal_address) or None

    def allows(self, channel: DeliveryChannel, purpose: Purpose) -> tuple[bool, str]:
        """Marketing needs an opt-in; transactional mail is allowed unless refused."""
        answer = self.consents.get((channel.value, purpose.value))
        if purpose is Purpose.MARKETING:
            if answer is True:
                return True, "marketing opt-in"
            return False, ("marketing consent withdrawn" if answer is False
                           else "no marketing opt-in")
        if answer is False:
            return False, "customer refused this channel"
        return True, "transactional"


def reachability(session: Session, customer: Customer) -> Reachability:
    return Reachability(customer, {(c.channel, c.purpose): c.granted
                                   for c in consents_of(session, customer.id)})


def template_customer(customer: Customer) -> dict[str, Any]:
    """The ``customer`` object templates read, from the profile (for data without one)."""
    first_name = customer.name.split()[0] if customer.name.strip() else customer.name
    return {"name": customer.name, "first_name": first_name,
            "address": list(customer.postal_address) or [customer.name],
            "customer_number": customer.id}


def profile_of(customer: Customer, consents: Sequence[Consent] = ()) -> dict[str, Any]:
    """The profile as the API shows it (and conditions read as ``customer``)."""
    return {"id": customer.id, "name": customer.name, "locale": customer.locale,
            "time_zone": customer.time_zone, "email": customer.email, "phone": customer.phone,
            "postal_address": list(customer.postal_address),
            "preferred_channel": customer.preferred_channel,
            "attributes": dict(customer.attributes),
            "consents": [{"channel": c.channel, "purpose": c.purpose, "granted": c.granted,
                          "source": c.source} for c in consents]}
