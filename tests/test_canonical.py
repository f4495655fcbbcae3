"""Canonical JSON: equal data gives one text, and so one digest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ccm.canonical import _write, canonical_digest, canonical_json
from ccm.inputs import normalise_numbers
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data


def piece_by_piece(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


TRICKY: dict[str, Any] = {
    "z": [1, 2.5, Decimal("3.10"), True, None, 'quote " backslash \\ newline \n é \u2028 😀'],
    "a": {"x": Decimal("1E+2"), "y": -0.0, "n": Decimal("-12.340"), "big": 10**30},
    "é": "accented key", "A": "upper before lower", "": "empty key",
    "looks-marked": "\u0000not a number\u0000", "nul": "a\x00b",
}


@pytest.mark.parametrize("value", [
    TRICKY, {k: v for k, v in TRICKY.items() if k not in ("nul", "looks-marked")},
    *(normalise_numbers(bill_data(c)) for c in SAMPLE_CUSTOMERS), [], {}, "text", 12,
])
def test_fast_and_piece_by_piece_writers_agree(value: Any) -> None:
    assert canonical_json(value) == piece_by_piece(value)


def test_equal_amounts_written_differently_have_one_digest() -> None:
    assert canonical_digest({"a": 12, "b": [0.1]}) == canonical_digest(
        {"b": [Decimal("0.10")], "a": Decimal("12.00")})
    assert canonical_json({"b": 1, "a": Decimal("1.50")}) == '{"a":1.5,"b":1}'


def test_a_string_is_never_taken_for_a_number() -> None:
    assert canonical_digest({"v": "\x0012\x00"}) != canonical_digest({"v": 12})
    assert canonical_json({"v": "12"}) == '{"v":"12"}'
