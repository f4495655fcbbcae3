"""Babel filters format money, numbers, percentages and dates per locale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from jinja2 import Environment

from ccm.errors import TemplateDataError
from ccm.rendering.filters import CURRENCY_VAR, FILTERS, LOCALE_VAR

NBSP = "\u00a0"
NNBSP = "\u202f"


def fmt(source: str, locale: str, currency: str = "EUR", **data: Any) -> str:
    env = Environment()
    env.filters.update(FILTERS)
    return env.from_string(source).render(**{LOCALE_VAR: locale, CURRENCY_VAR: currency}, **data)


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("en_US", "USD", "$1,234.56"),
        ("en_GB", "GBP", "£1,234.56"),
        ("en_GB", "EUR", "€1,234.56"),
        ("de_DE", "EUR", f"1.234,56{NBSP}€"),
        ("fr_FR", "EUR", f"1{NNBSP}234,56{NBSP}€"),
        ("de_DE", "USD", f"1.234,56{NBSP}$"),
    ],
)
def test_money(locale: str, currency: str, expected: str) -> None:
    assert fmt("{{ v|money }}", locale, currency, v=Decimal("1234.56")) == expected


def test_money_takes_an_explicit_currency_and_exact_unit_prices() -> None:
    assert fmt("{{ v|money('USD') }}", "en_US", v=Decimal("5")) == "$5.00"
    assert fmt("{{ v|money(exact=True) }}", "de_DE", v=Decimal("0.2874")) == f"0,2874{NBSP}€"
    assert fmt("{{ v|money }}", "de_DE", v=Decimal("0.2874")) == f"0,29{NBSP}€"
    assert fmt("{{ v|money }}", "en_US", "USD", v=-12) == "-$12.00"
    assert fmt("{{ v|money }}", "en_US", "USD", v="19.90") == "$19.90"


@pytest.mark.parametrize(
    ("locale", "number", "percent"),
    [
        ("en_US", "1,234,567.891", "19%"),
        ("en_GB", "1,234,567.891", "19%"),
        ("de_DE", "1.234.567,891", f"19{NBSP}%"),
        ("fr_FR", f"1{NNBSP}234{NNBSP}567,891", f"19{NBSP}%"),
    ],
)
def test_numbers_and_percentages(locale: str, number: str, percent: str) -> None:
    assert fmt("{{ v|number }}", locale, v=Decimal("1234567.891")) == number
    assert fmt("{{ v|percent }}", locale, v=Decimal("0.19")) == percent


def test_number_with_fixed_decimals() -> None:
    assert fmt("{{ v|number(2) }}", "de_DE", v=Decimal("4150")) == "4.150,00"
    assert fmt("{{ v|percent(1) }}", "en_US", v=Decimal("0.075")) == "7.5%"


@pytest.mark.parametrize(
    ("locale", "medium", "long", "short"),
    [
        ("en_US", "Dec 4, 2026", "December 4, 2026", "12/4/26"),
        ("en_GB", "4 Dec 2026", "4 December 2026", "04/12/2026"),
        ("de_DE", "04.12.2026", "4. Dezember 2026", "04.12.26"),
        ("fr_FR", "4 déc. 2026", "4 décembre 2026", "04/12/2026"),
    ],
)
def test_dates(locale: str, medium: str, long: str, short: str) -> None:
    assert fmt("{{ d|date }}", locale, d="2026-12-04") == medium
    assert fmt("{{ d|date('long') }}", locale, d="2026-12-04") == long
    assert fmt("{{ d|date('short') }}", locale, d="2026-12-04") == short


def test_bad_values_name_the_filter() -> None:
    with pytest.raises(TemplateDataError, match="money: expected a number"):
        fmt("{{ v|money }}", "en_GB", v="lots")
    with pytest.raises(TemplateDataError, match="date: expected an ISO 8601 date"):
        fmt("{{ v|date }}", "en_GB", v="next tuesday")


def test_unknown_currency_is_a_clear_error() -> None:
    with pytest.raises(TemplateDataError, match="unknown currency 'XYZ'"):
        fmt("{{ v|money('XYZ') }}", "en_GB", v=1)


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "de_AT", "de_CH",
                                    "nl_NL", "hi_IN", "ja_JP", "ar_EG", "pl_PL", "sv_SE"])
def test_fast_formatter_matches_babel_exactly(locale: str) -> None:
    from babel import numbers

    from ccm.rendering.numbers import formatter

    values = [Decimal(v) for v in ("0", "0.004", "-0.005", "7", "19.999", "-42.5", "1000",
                                   "1234.5678", "-98765432.1", "0.00277", "123456789012.34")]
    for value in values:
        for exact in (False, True):
            for currency in ("EUR", "USD", "JPY", "CHF"):
                assert formatter("currency", locale, currency)(value, exact) == \
                    numbers.format_currency(value, currency, locale=locale,
                                            decimal_quantization=not exact)
            assert formatter("decimal", locale)(value, exact) == numbers.format_decimal(
                value, locale=locale, decimal_quantization=not exact)
            assert formatter("percent", locale)(value, exact) == numbers.format_percent(
                value, locale=locale, decimal_quantization=not exact)
