"""Sample customers and the data a billing system would send for them.

The bill data is computed the way a billing system would (quantity x unit price, taxes
on the net amount) so that every figure on the stock documents adds up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


@dataclass(frozen=True)
class SampleCustomer:
    customer_id: str
    name: str
    first_name: str
    address: tuple[str, ...]
    locale: str
    annual_kwh: int
    annual_gas_kwh: int
    payment_method: str = "transfer"


SAMPLE_CUSTOMERS: tuple[SampleCustomer, ...] = (
    SampleCustomer("C-100234", "Emma Thompson", "Emma",
                   ("Flat 4, 21 Elbchaussee", "22763 Hamburg", "Germany"), "en_GB", 3120, 9800),
    SampleCustomer("C-100871", "Liam O'Connor", "Liam",
                   ("Grindelallee 80", "20146 Hamburg", "Germany"), "en_IE", 2280, 0,
                   "direct_debit"),
    SampleCustomer("C-101502", "Jürgen Weiß", "Jürgen",
                   ("Mühlenstraße 7", "21029 Hamburg"), "de_DE", 4150, 14200),
    SampleCustomer("C-102017", "Sophie Gruber", "Sophie",
                   ("Lindengasse 3/2", "1070 Wien", "Österreich"), "de_AT", 1890, 7600,
                   "direct_debit"),
)

_TEXT: dict[str, dict[str, str]] = {
    "electricity": {"en": "Electricity", "de": "Strom"},
    "gas": {"en": "Gas", "de": "Erdgas"},
    "services": {"en": "Services", "de": "Dienstleistungen"},
    "credits": {"en": "Credits", "de": "Gutschriften"},
    "base": {"en": "Standing charge", "de": "Grundpreis"},
    "energy_q": {"en": "Energy, quarter {q}", "de": "Arbeitspreis, {q}. Quartal"},
    "network": {"en": "Network charge", "de": "Netzentgelt"},
    "meter": {"en": "Meter operation", "de": "Messstellenbetrieb"},
    "levy_chp": {"en": "CHP levy", "de": "KWKG-Umlage"},
    "levy_offshore": {"en": "Offshore grid levy", "de": "Offshore-Netzumlage"},
    "levy_19": {"en": "Section 19 levy", "de": "§19-StromNEV-Umlage"},
    "concession": {"en": "Concession fee", "de": "Konzessionsabgabe"},
    "power_tax": {"en": "Electricity tax", "de": "Stromsteuer"},
    "gas_tax": {"en": "Energy tax on gas", "de": "Energiesteuer Erdgas"},
    "co2": {"en": "CO₂ price (national emissions trading)", "de": "CO₂-Preis (BEHG)"},
    "gas_storage": {"en": "Gas storage levy", "de": "Gasspeicherumlage"},
    "paperless": {"en": "Paperless billing discount", "de": "Rabatt papierlose Rechnung"},
    "loyalty": {"en": "Loyalty bonus", "de": "Treuebonus"},
    "smart": {"en": "Smart meter rental", "de": "Miete Smart Meter"},
    "service_plan": {"en": "Boiler service plan", "de": "Heizungs-Wartungsvertrag"},
    "months": {"en": "months", "de": "Monate"},
    "vat": {"en": "VAT", "de": "USt."},
}


def _t(key: str, locale: str, **values: object) -> str:
    language = "de" if locale.startswith("de") else "en"
    return _TEXT[key][language].format(**values)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def bill_data(customer: SampleCustomer, *, invoice_serial: int = 1) -> dict[str, Any]:
    """A year's electricity and gas bill for ``customer``; every total adds up."""
    loc = customer.locale
    items: list[dict[str, Any]] = []

    def line(section: str, key: str, quantity: Decimal | None, unit: str | None,
             unit_price: Decimal | None, amount: Decimal | None = None, **fmt: object) -> None:
        item: dict[str, Any] = {"section": _t(section, loc), "description": _t(key, loc, **fmt)}
        if quantity is not None and unit_price is not None:
            item.update(quantity=quantity, unit=unit or "", unit_price=unit_price)
            amount = _money(quantity * unit_price)
        assert amount is not None
        item["amount"] = amount
        items.append(item)

    kwh = Decimal(customer.annual_kwh)
    quarters = (Decimal("0.31"), Decimal("0.22"), Decimal("0.19"), Decimal("0.28"))
    months = _t("months", loc)
    line("electricity", "base", Decimal(12), months, Decimal("11.90"))
    for q, share in enumerate(quarters, start=1):
        line("electricity", "energy_q", (kwh * share).quantize(Decimal(1)), "kWh",
             Decimal("0.2874"), q=q)
    line("electricity", "network", kwh, "kWh", Decimal("0.0921"))
    line("electricity", "meter", Decimal(12), months, Decimal("1.75"))
    line("electricity", "levy_chp", kwh, "kWh", Decimal("0.00277"))
    line("electricity", "levy_offshore", kwh, "kWh", Decimal("0.00816"))
    line("electricity", "levy_19", kwh, "kWh", Decimal("0.01558"))
    line("electricity", "concession", kwh, "kWh", Decimal("0.0199"))
    line("electricity", "power_tax", kwh, "kWh", Decimal("0.0205"))
    if customer.annual_gas_kwh:
        gas = Decimal(customer.annual_gas_kwh)
        line("gas", "base", Decimal(12), months, Decimal("14.50"))
        line("gas", "energy_q", gas, "kWh", Decimal("0.1049"), q=1)
        items[-1]["description"] = _t("energy_q", loc, q=1).split(",")[0]
        line("gas", "network", gas, "kWh", Decimal("0.0184"))
        line("gas", "gas_tax", gas, "kWh", Decimal("0.0055"))
        line("gas", "co2", gas, "kWh", Decimal("0.0109"))
        line("gas", "gas_storage", gas, "kWh", Decimal("0.0029"))
        line("gas", "meter", Decimal(12), months, Decimal("1.20"))
        line("services", "service_plan", Decimal(12), months, Decimal("8.90"))
    line("services", "smart", Decimal(12), months, Decimal("2.50"))
    line("credits", "paperless", None, None, None, Decimal("-12.00"))
    line("credits", "loyalty", None, None, None, Decimal("-25.00"))

    subtotal = sum((i["amount"] for i in items), Decimal(0))
    rate = Decimal("0.19")
    vat = _money(subtotal * rate)
    gross = subtotal + vat
    paid = _money(gross * Decimal("0.85") / 10) * 10  # eleven instalments, rounded
    total = gross - paid
    year = 2026
    number = f"NW-{year}-{int(customer.customer_id[2:]) * 10 + invoice_serial:07d}"
    return {
        "customer": {"name": customer.name, "address": list(customer.address),
                     "customer_number": customer.customer_id},
        "invoice_number": number,
        "invoice_date": f"{year}-11-20",
        "due_date": f"{year}-12-04",
        "period": {"start": f"{year - 1}-11-01", "end": f"{year}-10-31"},
        "supply_address": customer.address[0] + ", " + customer.address[1],
        "currency": "EUR",
        "items": items,
        "subtotal": subtotal,
        "taxes": [{"label": _t("vat", loc), "rate": rate, "amount": vat}],
        "payments_received": paid,
        "total": total,
        "payment": {"method": customer.payment_method, "iban": "DE02 2003 0000 0012 3456 78",
                    "bic": "HYVEDEMM300", "reference": number},
    }


def welcome_data(customer: SampleCustomer) -> dict[str, Any]:
    return {
        "customer": {"name": customer.name, "first_name": customer.first_name,
                     "address": list(customer.address), "customer_number": customer.customer_id},
        "letter_date": "2026-11-02",
        "tariff": {"name": "Northwind Green 24", "monthly_instalment": Decimal("96.00"),
                   "price_per_kwh": Decimal("0.2874"), "start_date": "2026-12-01"},
        "account_url": "https://northwind-energy.example/account",
    }


def promotion_data(customer: SampleCustomer) -> dict[str, Any]:
    return {
        "customer": {"name": customer.name, "first_name": customer.first_name,
                     "address": list(customer.address), "customer_number": customer.customer_id},
        "offer": {"code": f"LOYAL-{customer.customer_id[2:]}", "discount": Decimal("0.15"),
                  "valid_until": "2027-01-31", "saving": Decimal("126.40")},
        "offer_url": "https://northwind-energy.example/offers/solar",
    }
