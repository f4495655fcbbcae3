"""validate_data: every violation, with JSON Pointer paths and short messages."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from inputs_bill import BILL_JSON, BILL_SCHEMA

from ccm.errors import DataValidationError, InputError, Violation
from ccm.inputs import parse_json_data, validate_data
from ccm.inputs.validation import _validator_for


def _violations(data: Any, schema: Any) -> list[str]:
    with pytest.raises(DataValidationError) as caught:
        validate_data(data, schema)
    assert caught.value.code == "data_invalid"
    assert all(isinstance(v, Violation) for v in caught.value.violations)
    return [str(v) for v in caught.value.violations]


def test_the_valid_bill_passes() -> None:
    validate_data(parse_json_data(BILL_JSON), BILL_SCHEMA)


def test_every_violation_is_reported_at_once_sorted_by_path() -> None:
    data = parse_json_data(BILL_JSON)
    data["items"].append({"description": "Late fee", "quantity": 1, "amount": "ten"})
    del data["customer"]["name"]
    del data["customer"]["address"]["city"]
    data["currency"] = "GBP"
    data["email"] = "not-an-address"
    data["foo"] = 1
    data["issued"] = "31/01/2024"
    data["items"][0]["quantity"] = Decimal("1.5")
    assert _violations(data, BILL_SCHEMA) == [
        "/currency: must be one of 'EUR', 'USD'",
        "/customer/address/city: required property is missing",
        "/customer/name: required property is missing",
        "/email: does not match format 'email'",
        "/foo: property is not allowed",
        "/issued: does not match format 'date'",
        "/items/0/quantity: expected integer",
        "/items/3/amount: expected number",
    ]


def test_the_error_message_lists_the_violations() -> None:
    data = parse_json_data(BILL_JSON)
    data["items"] = []
    with pytest.raises(DataValidationError) as caught:
        validate_data(data, BILL_SCHEMA)
    assert caught.value.violations == [Violation("/items", "expected at least 1 item")]
    assert str(caught.value) == "1 data violation(s): /items: expected at least 1 item"


def test_numeric_indexes_sort_as_numbers() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    data: dict[str, list[Any]] = {"xs": [1] * 12}
    data["xs"][10] = "a"
    data["xs"][2] = "b"
    assert _violations(data, {"properties": {"xs": schema}}) == [
        "/xs/2: expected integer",
        "/xs/10: expected integer",
    ]


def test_decimals_count_as_numbers_and_integral_ones_as_integers() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number"}, "i": {"type": "integer"}}}
    validate_data({"n": Decimal("0.10"), "i": Decimal("3.0")}, schema)
    validate_data({"n": 5, "i": 3}, schema)
    assert _violations({"n": True, "i": Decimal("3.5")}, schema) == [
        "/i: expected integer",
        "/n: expected number",
    ]


def test_money_keywords_are_exact_with_decimals() -> None:
    schema = {
        "type": "object",
        "properties": {"amount": {"type": "number", "multipleOf": 0.01, "minimum": 0.01}},
    }
    validate_data({"amount": Decimal("0.30")}, schema)
    validate_data({"amount": 19.99}, schema)  # a float from elsewhere works too
    assert _violations({"amount": Decimal("0.005")}, schema) == [
        "/amount: must be a multiple of 0.01",
        "/amount: must be at least 0.01",
    ]


def test_other_messages() -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3},
            "note": {"type": ["string", "null"]},
            "discount": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "kind": {"const": "bill"},
            "tags": {"type": "array", "maxItems": 1, "uniqueItems": True},
            "pct": {"type": "number", "exclusiveMaximum": 100},
        },
    }
    data = {
        "code": "abcd",
        "note": 5,
        "discount": "x",
        "kind": "letter",
        "tags": ["a", "a"],
        "pct": 100,
    }
    assert _violations(data, schema) == [
        "/code: does not match pattern '^[A-Z]{3}$'",
        "/code: expected at most 3 characters",
        "/discount: expected number or null",
        "/kind: must be 'bill'",
        "/note: expected string or null",
        "/pct: must be less than 100",
        "/tags: expected at most 1 item",
        "/tags: items must be unique",
    ]


def test_a_violation_at_the_root_has_an_empty_path() -> None:
    with pytest.raises(DataValidationError) as caught:
        validate_data({"a": 1}, {"type": "object", "maxProperties": 0})
    assert caught.value.violations == [Violation("", "expected at most 0 properties")]
    assert str(caught.value.violations[0]) == "/: expected at most 0 properties"


def test_an_invalid_schema_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"^template schema is invalid: /type: ") as caught:
        validate_data({}, {"type": "banana"})
    assert type(caught.value) is InputError


def test_a_remote_ref_is_never_fetched() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/s.json"}}}
    with pytest.raises(InputError, match="template schema is invalid: cannot resolve"):
        validate_data({"a": 1}, schema)


def test_validators_are_cached_per_schema_content() -> None:
    first = _validator_for(BILL_SCHEMA)
    reordered = dict(reversed(list(copy.deepcopy(BILL_SCHEMA).items())))
    assert _validator_for(reordered) is first
    assert _validator_for({"type": "object"}) is not first


def test_unevaluated_and_dependent_properties_name_their_own_paths() -> None:
    schema = {
        "type": "object",
        "allOf": [{"properties": {"a": {"type": "integer"}}}],
        "properties": {"b": {"type": "integer"}},
        "unevaluatedProperties": False,
        "dependentRequired": {"b": ["c"]},
    }
    validate_data({"a": 1, "b": 2, "c": 3}, {**schema, "properties": {"b": {}, "c": {}}})
    assert _violations({"a": 1, "b": 2, "zz": 3}, schema) == [
        "/c: required property is missing",
        "/zz: property is not allowed",
    ]
