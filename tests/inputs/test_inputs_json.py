"""parse_json_data and normalise_numbers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from inputs_bill import BILL_JSON

from ccm.errors import InputError, InputTooLargeError
from ccm.inputs import normalise_numbers, parse_json_data


def test_numbers_are_exact_decimals_and_ints_stay_ints() -> None:
    data = parse_json_data('{"amount": 0.10, "qty": 3, "big": 1e3, "ok": true}')
    assert data == {"amount": Decimal("0.10"), "qty": 3, "big": Decimal("1E+3"), "ok": True}
    assert type(data["amount"]) is Decimal
    assert str(data["amount"]) == "0.10"  # the trailing zero survives
    assert type(data["qty"]) is int
    assert data["ok"] is True


def test_bytes_and_str_give_the_same_result_with_or_without_bom() -> None:
    expected = parse_json_data(BILL_JSON)
    assert parse_json_data(BILL_JSON.encode()) == expected
    assert parse_json_data("\ufeff" + BILL_JSON) == expected
    assert parse_json_data(b"\xef\xbb\xbf" + BILL_JSON.encode()) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[1, 2]", "an array"), ('"x"', "a string"), ("3.5", "a number"), ("null", "null")],
)
def test_top_level_must_be_an_object(text: str, kind: str) -> None:
    with pytest.raises(InputError, match=f"must be an object at the top level, not {kind}"):
        parse_json_data(text)


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(InputError) as caught:
        parse_json_data('{\n  "a": 1,\n  "b": }')
    assert type(caught.value) is InputError
    assert "line 3, column 8" in str(caught.value)
    assert caught.value.code == "input_invalid"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(literal: str) -> None:
    with pytest.raises(InputError, match=f"{literal} is not a valid JSON number"):
        parse_json_data(f'{{"amount": {literal}}}')


def test_invalid_utf8_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not valid UTF-8"):
        parse_json_data(b'{"name": "\xff"}')


def test_absurd_nesting_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_json_data('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")


@pytest.mark.parametrize("raw", [b'{"a": "' + b"x" * 100 + b'"}', '{"a": "' + "é" * 50 + '"}'])
def test_oversize_is_refused_naming_size_and_limit(raw: bytes | str) -> None:
    with pytest.raises(InputTooLargeError) as caught:
        parse_json_data(raw, max_bytes=64)
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    assert str(caught.value) == f"JSON data is {size} bytes, larger than the limit of 64 bytes"
    assert caught.value.code == "input_too_large"


def test_exactly_at_the_limit_is_accepted() -> None:
    raw = b'{"a": 1}'
    assert parse_json_data(raw, max_bytes=len(raw)) == {"a": 1}


def test_normalise_numbers_matches_parse_json_data() -> None:
    # As a web framework's own JSON parser would have read it: floats.
    foreign = json.loads(BILL_JSON)
    assert isinstance(foreign["totals"]["net"], float)
    normalised = normalise_numbers(foreign)
    assert normalised == parse_json_data(BILL_JSON)
    assert normalised["items"][1]["amount"] == Decimal("0.1")
    assert type(normalised["items"][1]["amount"]) is Decimal
    assert type(normalised["items"][1]["quantity"]) is int
    # The input is copied, not changed.
    assert isinstance(foreign["totals"]["net"], float)


def test_normalise_numbers_keeps_bools_ints_and_copies_containers() -> None:
    value = {"t": True, "f": False, "n": 7, "x": 0.1, "tuple": (1.5, None), "s": "0.1"}
    assert normalise_numbers(value) == {
        "t": True,
        "f": False,
        "n": 7,
        "x": Decimal("0.1"),
        "tuple": [Decimal("1.5"), None],
        "s": "0.1",
    }
    result = normalise_numbers(value)
    assert result["t"] is True and result["f"] is False
    assert normalise_numbers(2.675) == Decimal("2.675")  # repr, not the binary value


def test_normalise_numbers_refuses_nan() -> None:
    with pytest.raises(InputError):
        normalise_numbers({"a": [float("nan")]})
