"""Fast locale number formatting, checked against Babel.

A bill formats about fifty amounts; Babel re-reads locale data on every call (about
70 µs each), which alone would cost a bill several milliseconds. This module reads the
locale's pattern and symbols once per (locale, style, currency) and formats with plain
string work. Each compiled formatter proves itself against Babel on probe values when
it is built, and any (locale, currency) where it would differ keeps using Babel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel import numbers as babel_numbers

Style = Literal["currency", "decimal", "percent"]

_PROBES = tuple(Decimal(v) for v in ("0", "1", "-1", "0.5", "-0.005", "12.345", "1234.56",
                                      "-1234.567", "1234567.891", "0.2874", "100000000",
                                      "0.19", "-0.075"))
_QUANTA = tuple(Decimal(1).scaleb(-digits) for digits in range(12))
_QUOTED = re.compile(r"'([^']*)'")


def _unquote(text: str) -> str:
    return _QUOTED.sub(lambda m: m.group(1) or "'", text)


@dataclass(frozen=True, slots=True)
class _Pattern:
    prefix: tuple[str, str]
    suffix: tuple[str, str]
    primary_group: int
    secondary_group: int
    min_int: int
    frac_prec: tuple[int, int]
    scale: int
    decimal_symbol: str
    group_symbol: str

    def apply(self, value: Decimal, exact: bool) -> str:
        if self.scale:
            value = value.scaleb(self.scale)
        negative = int(value.is_signed())
        value = abs(value)
        low, high = self.frac_prec
        if exact:
            exponent = value.normalize().as_tuple().exponent
            natural = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            high = max(high, natural)
        rounded = value.quantize(_QUANTA[high] if high < len(_QUANTA) else
                                 Decimal(1).scaleb(-high))
        whole, _, frac = f"{rounded:f}".partition(".")
        return f"{self.prefix[negative]}{self._group(whole)}{self._frac(frac or '0', low, high)}" \
               f"{self.suffix[negative]}"

    def _group(self, digits: str) -> str:
        if len(digits) < self.min_int:
            digits = "0" * (self.min_int - len(digits)) + digits
        size, parts = self.primary_group, []
        while len(digits) > size:
            parts.append(digits[-size:])
            digits = digits[:-size]
            size = self.secondary_group
        parts.append(digits)
        return self.group_symbol.join(reversed(parts))

    def _frac(self, digits: str, low: int, high: int) -> str:
        if len(digits) < low:
            digits += "0" * (low - len(digits))
        if high == 0 or (low == 0 and int(digits) == 0):
            return ""
        digits = digits.rstrip("0") if len(digits) > low else digits
        if len(digits) < low:
            digits += "0" * (low - len(digits))
        return self.decimal_symbol + digits


def _babel(style: Style, locale: Locale, currency: str | None) -> Callable[[Decimal, bool], str]:
    if style == "currency":
        assert currency is not None
        return lambda v, exact: babel_numbers.format_currency(
            v, currency, locale=locale, decimal_quantization=not exact)
    if style == "percent":
        return lambda v, exact: babel_numbers.format_percent(
            v, locale=locale, decimal_quantization=not exact)
    return lambda v, exact: babel_numbers.format_decimal(
        v, locale=locale, decimal_quantization=not exact)


@lru_cache(maxsize=512)
def formatter(style: Style, locale: str, currency: str | None = None
              ) -> Callable[[Decimal, bool], str]:
    """``format(value, exact)`` for a locale and style; identical to Babel's output."""
    if currency is not None and currency not in babel_numbers.list_currencies():
        raise KeyError(currency)
    parsed = Locale.parse(locale)
    reference = _babel(style, parsed, currency)
    formats = {"currency": parsed.currency_formats, "percent": parsed.percent_formats,
               "decimal": parsed.decimal_formats}[style]
    pattern = formats["standard" if style == "currency" else None]
    if "¤¤¤" in pattern.pattern or "@" in pattern.pattern or pattern.exp_prec:
        return reference

    def affix(text: str) -> str:
        if currency is not None:
            text = text.replace("¤¤", currency).replace(
                "¤", babel_numbers.get_currency_symbol(currency, locale=parsed))
        return _unquote(text)

    frac_prec = pattern.frac_prec
    if style == "currency" and currency is not None:
        precision = babel_numbers.get_currency_precision(currency)
        frac_prec = (precision, precision)
    fast = _Pattern(
        prefix=(affix(pattern.prefix[0]), affix(pattern.prefix[1])),
        suffix=(affix(pattern.suffix[0]), affix(pattern.suffix[1])),
        primary_group=pattern.grouping[0], secondary_group=pattern.grouping[1],
        min_int=pattern.int_prec[0], frac_prec=frac_prec, scale=pattern.scale,
        decimal_symbol=babel_numbers.get_decimal_symbol(parsed),
        group_symbol=babel_numbers.get_group_symbol(parsed),
    )
    for probe in _PROBES:
        for exact in (False, True):
            if fast.apply(probe, exact) != reference(probe, exact):
                return reference
    return fast.apply
