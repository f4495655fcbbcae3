"""Locale-aware filters (Babel): money, numbers, percentages and dates.

Every filter takes its locale and default currency from the render context, so a template
writes ``{{ total|money }}`` and a German customer reads ``1.234,56 €``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel import dates, numbers
from jinja2 import pass_context
from jinja2.runtime import Context

from ccm.errors import TemplateDataError
from ccm.rendering.numbers import formatter

LOCALE_VAR = "ccm_locale"
CURRENCY_VAR = "ccm_currency"


def _decimal(value: Any, filter_name: str) -> Decimal:
    if type(value) is Decimal:
        return value
    if isinstance(value, bool):
        raise TemplateDataError(f"{filter_name}: expected a number, got a boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise TemplateDataError(f"{filter_name}: expected a number, got {value!r}")


def _as_date(value: Any, filter_name: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if "T" in value or " " in value.strip():
                return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise TemplateDataError(f"{filter_name}: expected an ISO 8601 date, got {value!r}")


@pass_context
def money(context: Context, value: Any, currency: str | None = None,
          exact: bool = False) -> str:
    """``1234.56|money`` -> ``$1,234.56`` (en_US), ``1.234,56 €`` (de_DE).

    ``exact=True`` keeps digits beyond the currency's cents, for unit prices (``0,2874 €``).
    """
    code = (currency or context.get(CURRENCY_VAR) or "EUR").upper()
    amount = _decimal(value, "money")
    try:
        return formatter("currency", context[LOCALE_VAR], code)(amount, exact)
    except (numbers.UnknownCurrencyFormatError, KeyError) as exc:
        raise TemplateDataError(f"money: unknown currency {code!r}") from exc


@pass_context
def number(context: Context, value: Any, decimals: int | None = None) -> str:
    amount = _decimal(value, "number")
    if decimals is None:
        return formatter("decimal", context[LOCALE_VAR])(amount, False)
    pattern_digits = "0" * max(0, min(int(decimals), 10))
    return numbers.format_decimal(
        amount, format=f"#,##0.{pattern_digits}" if pattern_digits else "#,##0",
        locale=context[LOCALE_VAR], decimal_quantization=True,
    )


@pass_context
def percent(context: Context, value: Any, decimals: int = 0) -> str:
    """``0.19|percent`` -> ``19%`` (en), ``19 %`` (de)."""
    if not decimals:
        return formatter("percent", context[LOCALE_VAR])(_decimal(value, "percent"), False)
    digits = "0" * max(0, min(int(decimals), 6))
    return numbers.format_percent(_decimal(value, "percent"), format=f"#,##0.{digits}%",
                                  locale=context[LOCALE_VAR])


@pass_context
def date_filter(context: Context, value: Any, format: str = "medium") -> str:
    """``'2026-12-01'|date`` -> ``1 Dec 2026`` (en_GB), ``01.12.2026`` (de_DE)."""
    if isinstance(value, str):
        return _format_iso_date(value, format, context[LOCALE_VAR])
    moment = _as_date(value, "date")
    day = moment.date() if isinstance(moment, datetime) else moment
    return dates.format_date(day, format=format, locale=context[LOCALE_VAR])


@lru_cache(maxsize=4096)
def _format_iso_date(value: str, format: str, locale: str) -> str:
    # Bills repeat the same few dates; Babel's date formatting is slow enough to matter.
    moment = _as_date(value, "date")
    day = moment.date() if isinstance(moment, datetime) else moment
    return dates.format_date(day, format=format, locale=locale)


@pass_context
def datetime_filter(context: Context, value: Any, format: str = "medium",
                    tz: str | None = None) -> str:
    moment = _as_date(value, "datetime")
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    zone = dates.get_timezone(tz) if tz else None
    return dates.format_datetime(moment, format=format, tzinfo=zone, locale=context[LOCALE_VAR])


@pass_context
def currency_symbol(context: Context, currency: str | None = None) -> str:
    code = (currency or context.get(CURRENCY_VAR) or "EUR").upper()
    return numbers.get_currency_symbol(code, locale=context[LOCALE_VAR])


FILTERS: dict[str, Callable[..., Any]] = {
    "money": money,
    "number": number,
    "percent": percent,
    "date": date_filter,
    "datetime": datetime_filter,
    "currency_symbol": currency_symbol,
}
