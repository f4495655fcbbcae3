"""A customer profile as clients send it (``PUT /v1/customers/{id}``, journey simulations)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ccm.brand.tokens import LocaleId
from ccm.customers.models import Purpose
from ccm.delivery.message import DeliveryChannel

_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _phone(value: str) -> str:
    compact = re.sub(r"[\s()./-]", "", value)
    if not _PHONE.match(compact):
        raise ValueError(f"{value!r} is not a phone number in international form (+4915…)")
    return compact


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name: Europe/Berlin)") from None
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]
PhoneNumber = Annotated[str, AfterValidator(_phone)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]


class ConsentIn(BaseModel):
    """The customer's answer for one channel and purpose."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "channel": "sms", "purpose": "marketing", "granted": True,
        "source": "preference centre"}]})

    channel: DeliveryChannel
    purpose: Purpose
    granted: bool
    source: str = Field(min_length=1, max_length=200,
                        description="Where the answer came from: 'signup form', 'call centre'.")


class CustomerProfile(BaseModel):
    """Everything ccm keeps about a customer to reach them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Jürgen Weiß", "locale": "de_DE", "time_zone": "Europe/Berlin",
        "email": "juergen.weiss@example.de", "phone": "+4915112345678",
        "postal_address": ["Mühlenstraße 7", "21029 Hamburg"], "preferred_channel": "email",
        "attributes": {"tenure_months": 26, "tariff": "Green Flex"},
        "consents": [{"channel": "email", "purpose": "marketing", "granted": True,
                      "source": "signup form"}],
    }]})

    name: str = Field(min_length=1, max_length=300)
    locale: LocaleId | None = None
    time_zone: TimeZoneName = "UTC"
    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    postal_address: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=8, description="Address lines, as printed.")
    preferred_channel: DeliveryChannel | None = None
    attributes: dict[str, Any] = Field(default_factory=dict,
                                       description="Free attributes conditions can read.")
    consents: list[ConsentIn] = Field(default_factory=list,
                                      description="Answers to record with the profile.")
