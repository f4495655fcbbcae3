"""The journey condition language: what it accepts and how it evaluates, what it refuses
(at compile time, with a message naming the construct and its offset), its limits, and
that evaluation is total: odd or missing data gives False or None, never an exception."""

from __future__ import annotations

import copy
import itertools
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ccm.errors import ExpressionError, RegistryError
from ccm.journeys.expressions import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE_LENGTH,
    Condition,
    compile_condition,
    referenced_paths,
)


def holds(source: str, context: Mapping[str, Any] | None = None) -> bool:
    return compile_condition(source).evaluate(context or {})


def refused(source: str, **kwargs: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_condition(source, **kwargs)
    error = caught.value
    assert error.source == source
    assert error.code == "expression_invalid"
    return error


def ctx(
    *,
    event: Mapping[str, Any] | None = None,
    payload: Mapping[Any, Any] | None = None,
    customer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {"event": event or {}, "payload": payload or {}, "customer": customer or {}}


# --------------------------------------------------------------------------- the examples

LOYAL = "payload.amount > 100 and customer.attributes.tenure_months >= 12"
CLICKED = 'event.type == "link_clicked" and payload.link == "offer"'
GERMAN = 'customer.locale in ["de_DE", "de_AT"] or not customer.attributes.paperless'
BASKET = "len(payload.items) >= 3"
NOT_SMS = 'lower(customer.preferred_channel) != "sms"'


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        (LOYAL, ctx(payload={"amount": 150}, customer={"attributes": {"tenure_months": 12}}),
         True),
        (LOYAL, ctx(payload={"amount": 100}, customer={"attributes": {"tenure_months": 12}}),
         False),
        (LOYAL, ctx(payload={"amount": 150}, customer={"attributes": {"tenure_months": 11}}),
         False),
        (LOYAL, ctx(payload={"amount": Decimal("100.01")},
                    customer={"attributes": {"tenure_months": 24}}), True),
        (CLICKED, ctx(event={"type": "link_clicked"}, payload={"link": "offer"}), True),
        (CLICKED, ctx(event={"type": "link_clicked"}, payload={"link": "unsubscribe"}), False),
        (CLICKED, ctx(event={"type": "email_opened"}, payload={"link": "offer"}), False),
        (GERMAN, ctx(customer={"locale": "de_AT", "attributes": {"paperless": True}}), True),
        (GERMAN, ctx(customer={"locale": "en_GB", "attributes": {"paperless": False}}), True),
        (GERMAN, ctx(customer={"locale": "en_GB", "attributes": {"paperless": True}}), False),
        (GERMAN, ctx(customer={"locale": "de", "attributes": {"paperless": True}}), False),
        (BASKET, ctx(payload={"items": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]}), True),
        (BASKET, ctx(payload={"items": [{"sku": "a"}, {"sku": "b"}]}), False),
        (NOT_SMS, ctx(customer={"preferred_channel": "Email"}), True),
        (NOT_SMS, ctx(customer={"preferred_channel": "SMS"}), False),
    ],
)
def test_the_documented_examples(source: str, context: dict[str, Any], expected: bool) -> None:
    assert compile_condition(source).evaluate(context) is expected


@pytest.mark.parametrize("source", [LOYAL, CLICKED, BASKET])
@pytest.mark.parametrize(
    "context",
    [
        {},
        ctx(),
        {"payload": None, "customer": None, "event": None},
        {"payload": "a string", "customer": 42, "event": ["a", "list"]},
        ctx(payload={"amount": None, "items": None, "link": None}),
        ctx(payload={"amount": "150", "items": "ab", "link": 1},
            customer={"attributes": "none"}),
    ],
)
def test_missing_or_mistyped_fields_make_a_condition_false(
    source: str, context: dict[str, Any]
) -> None:
    assert compile_condition(source).evaluate(context) is False


def test_missing_fields_read_as_null() -> None:
    assert holds("payload.a.b.c == null", ctx())
    assert holds("not exists(payload.a.b.c)", ctx())
    assert holds('lower(customer.preferred_channel) != "sms"', {})  # None is not "sms"
    assert holds("not customer.attributes.paperless", {})


# --------------------------------------------------------------------------- the language


def test_literals_and_aliases() -> None:
    assert holds("true") and holds("True") and not holds("false") and not holds("null")
    assert holds("null == None") and holds("true == True")
    assert holds("'it''s' == 'its'")  # adjacent strings join, as in Python
    assert holds('[1, "a", null] == (1, "a", None)')
    assert not holds("0") and not holds("''") and not holds("[]") and holds("[0]")
    assert holds("-3 < -2") and holds("- -3 == 3") and holds("1.5e3 == 1500")


def test_and_or_short_circuit_and_give_an_operand() -> None:
    context = ctx(payload={"nickname": "", "name": "Ada"})
    assert holds('(payload.nickname or payload.name) == "Ada"', context)
    assert holds('(payload.name and payload.nickname) == ""', context)
    assert holds("payload.missing or payload.name", context)
    assert not holds("payload.missing and payload.name", context)
    assert holds("1 and 2 and 3 == 3")
    assert holds("not (0 or null or false)")


def test_chained_comparison() -> None:
    condition = compile_condition("1 < payload.n < 5")
    assert [condition.evaluate(ctx(payload={"n": n})) for n in (0, 1, 2, 4, 5, 6)] == [
        False, False, True, True, False, False]
    assert condition.evaluate(ctx(payload={"n": Decimal("4.99")}))
    assert not condition.evaluate(ctx(payload={"n": "3"}))
    assert not condition.evaluate(ctx())
    assert holds("1 <= 1 == 1.0 != 2 > 0 >= -1")
    assert not holds("1 < 2 > 3")


def test_lookups_are_mapping_keys_and_list_indexes() -> None:
    context = ctx(payload={"items": [{"sku": "A-1"}, {"sku": "B-2"}], "x": {"y": 1},
                           "first name": "Ada", "_id": "k7", 3: "three"})
    assert holds('payload.items[0].sku == "A-1"', context)
    assert holds('payload.items[-1]["sku"] == "B-2"', context)
    assert holds("payload.items[2] == null and payload.items[-3] == null", context)
    assert holds('payload["x"]["y"] == payload.x.y == 1', context)
    assert holds('payload["first name"] == "Ada"', context)
    assert holds('payload["_id"] == "k7"', context)  # a key, so "_" is harmless here
    assert holds('payload[3] == "three"', context)
    assert holds('payload.x[0] == null and payload.items.sku == null', context)
    assert holds('payload.items[0]["sku"][0] == null', context)  # strings are not indexed
    assert holds("[10, 20, 30][1] == 20 and (10, 20)[-2] == 10")
    assert holds('(payload.x or payload.items).y == 1', context)


def test_attribute_syntax_never_reads_python_attributes() -> None:
    class Tricky:
        amount = 500
        upper = "UPPER"

        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"getattr({name!r}) was called")

    tricky = Tricky()
    context = {"payload": tricky, "customer": {"name": tricky}, "event": "text"}
    assert not holds("payload.amount > 1", context)
    assert holds("payload.amount == null and customer.name.upper == null", context)
    assert holds("event.upper == null and event[0] == null", context)
    assert holds('payload["__class__"] == null', context)
    # A key named like a dunder is just a key.
    assert holds('payload["__class__"] == "mine"', ctx(payload={"__class__": "mine"}))


def test_values_are_never_asked_for_their_methods() -> None:
    class Shouting(str):
        def lower(self) -> str:
            raise AssertionError("str subclass method called")

        def strip(self, chars: str | None = None) -> str:
            raise AssertionError("str subclass method called")

    context = ctx(payload={"channel": Shouting("SMS"), "n": Shouting(" 12 ")})
    assert holds('lower(payload.channel) == "sms"', context)
    assert holds("number(payload.n) == 12", context)


def test_evaluate_takes_other_mappings() -> None:
    from types import MappingProxyType

    context = MappingProxyType({"payload": MappingProxyType({"amount": 5})})
    assert compile_condition("payload.amount == 5 and len(payload) == 1").evaluate(context)


def test_equality() -> None:
    assert holds('"a" == "a" and "a" != "b" and "1" != 1 and null == null')
    assert holds("1 == 1.0 and 1 != 2")
    assert not holds("true == 1") and not holds("false == 0") and holds("true != 1")
    assert holds("[1, [2, 3]] == payload.x", ctx(payload={"x": [1.0, (2, Decimal(3))]}))
    assert not holds("[1, 2] == payload.x", ctx(payload={"x": [1, 2, 3]}))
    assert holds("payload.a == payload.b",
                 ctx(payload={"a": {"k": [1, Decimal("0.10")]}, "b": {"k": [1.0, 0.1]}}))
    assert not holds("payload.a == payload.b", ctx(payload={"a": {"k": 1}, "b": {"j": 1}}))
    assert holds("payload.a == payload.b",
                 ctx(payload={"a": date(2024, 1, 2), "b": date(2024, 1, 2)}))
    assert not holds("payload.a == payload.b", ctx(payload={"a": date(2024, 1, 2), "b": "x"}))


def test_ordering_of_unlike_types_is_false() -> None:
    for source in ("null < 3", "3 < null", '"a" < 1', "1 >= \"a\"", "true > 0",
                   "[1] < [2]", "payload.x <= 3", "payload.x >= 3", "payload.x > payload.y"):
        assert not holds(source, ctx(payload={"y": 1})), source
    assert holds('"apple" < "banana" and "b" > "a" and "a" <= "a" and "Z" < "a"')


def test_membership() -> None:
    context = ctx(payload={"tags": ["vip", "beta"], "note": "gold member", "attrs": {"vip": 1},
                           "n": 3})
    assert holds('"vip" in payload.tags and "alpha" not in payload.tags', context)
    assert holds('"gold" in payload.note and "silver" not in payload.note', context)
    assert holds('"vip" in payload.attrs and "beta" not in payload.attrs', context)
    assert holds("3 in [1, 2, 3.0] and payload.n in (2, 3)", context)
    assert not holds('1 in payload.note or "x" in payload.n or "x" in payload.missing', context)
    assert not holds('[1] in payload.attrs or null in payload.attrs', context)
    assert holds('"x" not in payload.missing', context)  # not in is the negation of in
    assert holds("true not in [1, 2]")


def test_arithmetic_on_numbers() -> None:
    assert holds("1 + 2 * 3 == 7 and (1 + 2) * 3 == 9 and 7 % 3 == 1 and 7 / 2 == 3.5")
    assert holds("-payload.n == -4 and payload.n - 5 == -1", ctx(payload={"n": 4}))
    assert holds("0.1 + 0.2 != 0.3")  # floats stay floats ...
    assert holds("payload.d + 0.2 == 0.3", ctx(payload={"d": Decimal("0.1")}))  # ... not here
    assert holds("payload.d * 1.1 == 110", ctx(payload={"d": Decimal("100.00")}))
    assert holds("payload.d / 3 > 33.33", ctx(payload={"d": Decimal("100")}))
    assert holds("payload.d % 7 == 2", ctx(payload={"d": Decimal("100")}))


@pytest.mark.parametrize(
    "expression",
    [
        "payload.n / 0", "payload.n % 0", "payload.n / 0.0", "payload.d / 0", "payload.d % 0.0",
        '"a" + "b"', '"ab" * 2', "[1] + [2]", "payload.missing + 1", "true + 1", "-true",
        '-"a"', "payload.n * payload.big", "payload.big + payload.big", "payload.huge / 3",
        "payload.huge + 0.5", "payload.inf - 1", "payload.nan * 1", "payload.dnan + 1",
        "payload.dbig * payload.dbig", "-payload.big * 2",
    ],
)
def test_arithmetic_that_cannot_be_done_is_null(expression: str) -> None:
    context = ctx(payload={
        "n": 4, "d": Decimal(4), "big": 10**15, "huge": 10**400, "inf": float("inf"),
        "nan": float("nan"), "dnan": Decimal("NaN"), "dbig": Decimal("9e999999"),
    })
    assert holds(f"({expression}) == null", context)
    assert not holds(f"({expression}) > 0", context)


def test_results_up_to_the_limit_are_kept() -> None:
    assert holds("payload.n * 1 == 1000000000000000", ctx(payload={"n": 10**15}))
    assert holds("payload.n + 1 == null", ctx(payload={"n": 10**15}))


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(Decimal("100.00"), True), (Decimal("99.50"), False), (Decimal("99.51"), True),
     (99.5, False), (100, True), (99, False), (99.50000001, True)],
)
def test_decimal_float_and_int_compare_by_value(amount: Any, expected: bool) -> None:
    assert holds("payload.amount > 99.5", ctx(payload={"amount": amount})) is expected


def test_decimal_meets_float_through_its_text() -> None:
    context = ctx(payload={"d": Decimal("0.1")})
    assert holds("payload.d == 0.1 and payload.d >= 0.1 and payload.d <= 0.1", context)
    assert holds("payload.d == 1 / 10", context)
    assert holds("payload.d < 1 and 1 > payload.d", context)


def test_functions() -> None:
    context = ctx(payload={"s": "MiXed", "l": [1, 2], "m": {"a": 1}, "n": 5,
                           "t": " 12.50 ", "i": "-7", "flag": False})
    assert holds('len(payload.s) == 5 and len(payload.l) == 2 and len(payload.m) == 1', context)
    assert holds("len(payload.n) == null and len(payload.missing) == null", context)
    assert holds('lower(payload.s) == "mixed" and upper(payload.s) == "MIXED"', context)
    assert holds("lower(payload.n) == null and upper(payload.l) == null", context)
    assert holds("exists(payload.s) and exists(payload.flag) and not exists(payload.x)", context)
    assert holds("number(payload.t) == 12.5 and number(payload.i) == -7", context)
    assert holds("number(payload.n) == 5 and number(payload.t) > 12", context)
    assert holds("(len)(payload.l) == 2", context)  # parentheses around a name are harmless
    for bad in ('"abc"', '"1,000"', '""', '"nan"', '"inf"', '"1e20"', "true", "null", "[1]",
                '"١٢"', '"1_000"', '"12" * 1'):
        assert holds(f"number({bad}) == null"), bad
    assert holds('number("1e3") == 1000 and number(".5") == 0.5 and number("+3.") == 3')


def test_number_of_text_is_exact() -> None:
    assert holds('number("0.1") + number("0.2") == number("0.3")')


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("''.__class__", "names starting with '_' are not allowed: '__class__'", 3),
        ("payload.__class__", "names starting with '_' are not allowed: '__class__'", 8),
        ("payload.items._private", "names starting with '_' are not allowed", 14),
        ("__import__('os')", "calls are limited to len, lower, upper, exists, number: "
         "'__import__' is not one", 0),
        ("payload.x.upper()", "method calls are not allowed: '.upper()' "
         "(write upper(x) instead of x.upper())", 10),
        ("payload.keys()", "method calls are not allowed: '.keys()'", 8),
        ("[x for x in payload]", "a list comprehension is not allowed", 0),
        ("{x for x in payload}", "a set comprehension is not allowed", 0),
        ("(x for x in payload)", "a generator expression is not allowed", 0),
        ("lambda: 1", "a lambda is not allowed", 0),
        ("open('f')", "calls are limited to len, lower, upper, exists, number: "
         "'open' is not one", 0),
        ("2 ** 1000", "the operator '**' is not allowed", 2),
        ("payload.n // 2", "the operator '//' is not allowed", 10),
        ("1 | 2", "the operator '|' is not allowed", 2),
        ('f"{payload}"', "an f-string is not allowed", 0),
        ("(a := 1)", "the assignment operator ':=' is not allowed", 1),
        ("a := 1", "not a valid expression: invalid syntax", 2),
        ("customr.locale", "unknown name 'customr' (known: customer, event, payload)", 0),
        ("payload.a == 1 and x", "unknown name 'x' (known: customer, event, payload)", 19),
        ("len", "'len' is a function: call it as len(...)", 0),
        ("payload.x is None", "'is' is not allowed: compare with == or !=", 10),
        ("payload.x is not None", "'is not' is not allowed", 10),
        ("len(payload, x=1)", "len() takes no keyword arguments (x=...)", 13),
        ("len(**payload)", "'**' arguments are not allowed", 4),
        ("len(*payload)", "a starred argument (*x) is not allowed", 4),
        ("len(payload, payload)", "len() takes exactly one argument (2 given)", 0),
        ("exists()", "exists() takes exactly one argument (0 given)", 0),
        ("payload(1)", "calls are limited to len, lower, upper, exists, number: "
         "'payload' is not one", 0),
        ("[len][0](payload)", "only the functions len, lower, upper, exists, number can be "
         "called", 0),
        ("payload.a if payload.b else 1", "a conditional expression (x if c else y)", 0),
        ('{"a": 1}', "a dict literal is not allowed", 0),
        ("{1, 2}", "a set literal is not allowed", 0),
        ("[*payload.items]", "a starred expression (*x) is not allowed", 1),
        ("payload.items[1:2]", "a slice (a[i:j]) is not allowed", 14),
        ("payload[payload.k]", "a subscript must be a constant key or integer index", 8),
        ("payload[true]", "a subscript must be a constant key or integer index", 8),
        ("payload[1.5]", "a subscript must be a constant key or integer index", 8),
        ("+payload.n", "the unary operator '+' is not allowed", 0),
        ("~payload.n", "the unary operator '~' is not allowed", 0),
        ("await payload", "await is not allowed", 0),
        ("b'x' == payload.x", "a bytes literal (b'...') is not allowed", 0),
        ("payload.x == 1j", "a complex number is not allowed", 13),
        ("...", "'...' is not allowed", 0),
        ("payload.ｆｏｏ", "the name 'ｆｏｏ' reads as 'foo' after Unicode normalization", 8),
    ],
)
def test_refused_constructs_name_themselves_and_their_position(
    source: str, message: str, position: int
) -> None:
    error = refused(source)
    assert message in error.detail
    assert error.position == position
    assert isinstance(error, RegistryError)


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("payload.amount >", "not a valid expression", 16),
        ("payload.amount > 100 and", "not a valid expression", 24),
        ("(payload.amount > 100", "'(' was never closed", 0),
        ("payload.amount >> > 1", "not a valid expression", 18),
        ("payload.amount = 1", "not a valid expression", 15),
        ("'é' == 'e' and (", "'(' was never closed", 15),
        ("payload.a\npayload.b", "not a valid expression", 10),
        ("yield payload", "not a valid expression", 0),
        ("payload\0", "null bytes", 7),
        ("payload.", "not a valid expression", 8),
        ('"unterminated', "not a valid expression", 0),
    ],
)
def test_syntax_errors_are_expression_errors_with_a_position(
    source: str, message: str, position: int
) -> None:
    error = refused(source)
    assert message in error.detail
    assert error.position == position


def test_positions_count_characters_of_the_source_as_written() -> None:
    # Leading blanks, non-ASCII text (the ast counts UTF-8 bytes) and several lines.
    assert refused("   customr").position == 3
    assert refused("'ääää' == payload.__x").position == 18
    assert refused("'€€' == 1 and open(1)").position == 14
    source = "(payload.amount > 100\n and 'ü' == customr.x)"
    assert refused(source).position == source.index("customr")
    source = "(payload.amount > 100\r\n and 'ü' == payload._x)"
    assert refused(source).position == source.index("_x")
    assert refused("\n\n  len(payload) ** 2").position == 17


def test_the_first_problem_in_reading_order_is_reported() -> None:
    assert "'open'" in refused("open(1) or payload.__x").detail
    assert "unknown name 'a'" in refused("a.__x").detail


@pytest.mark.parametrize("source", ["", " ", "\n\t  \n"])
def test_an_empty_condition_is_an_error(source: str) -> None:
    assert refused(source).detail == "the condition is empty"


def test_a_condition_must_be_text() -> None:
    for value in (True, 5, None, ["payload.x"]):
        with pytest.raises(ExpressionError, match="a condition must be text"):
            compile_condition(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- limits


def test_source_length_limit() -> None:
    longest = "payload.x == '" + "a" * (MAX_SOURCE_LENGTH - 16) + "'"
    assert len(longest) == MAX_SOURCE_LENGTH - 1
    assert not holds(longest)
    longest += " "
    assert not holds(longest)
    error = refused(longest + " ")
    assert "too long: 1001 characters (at most 1000)" in error.detail
    assert "too long" in refused("x" * 100_000).detail


def test_node_count_limit() -> None:
    term = "payload.a == 1"  # Compare, Attribute, Name, Constant
    fits = " or ".join([term] * ((MAX_NODES - 1) // 4))
    assert compile_condition(fits).evaluate(ctx(payload={"a": 1}))
    too_many = " or ".join([term] * (MAX_NODES // 4 + 1))
    assert len(too_many) <= MAX_SOURCE_LENGTH
    assert "too complex" in refused(too_many).detail
    assert "too complex" in refused("[" + ",".join(["1"] * 250) + "]").detail


def test_depth_limit() -> None:
    # not ... not payload.x: Attribute and Name under the UnaryOps.
    deepest = "not " * (MAX_DEPTH - 2) + "payload.x"
    assert compile_condition(deepest).evaluate(ctx(payload={"x": True}))
    error = refused("not " * (MAX_DEPTH - 1) + "payload.x")
    assert "nested too deeply (at most 32 levels)" in error.detail
    assert error.position == 4 * (MAX_DEPTH - 1)  # the node that is one level too deep
    assert "nested too deeply" in refused("[" * 40 + "]" * 40).detail
    assert "nested too deeply" in refused(" + ".join(["1"] * 40)).detail


@pytest.mark.parametrize(
    "source",
    ["-" * 999 + "1", "not " * 249 + "x", "(" * 499 + ")" * 499, "[" * 499 + "]" * 499,
     "payload" + ".a" * 496, "1" + " < 1" * 249],
)
def test_pathological_inputs_fail_cleanly(source: str) -> None:
    assert len(source) <= MAX_SOURCE_LENGTH
    refused(source)


def test_number_constant_limits() -> None:
    assert holds("1000000000000000 == payload.n", ctx(payload={"n": 10**15}))
    assert holds("-1000000000000000 < 0")
    assert holds("payload.n < 1e15", ctx(payload={"n": 1}))
    for source in ("1000000000000001", "-1000000000000001", "0x" + "f" * 20, "1e16",
                   "1e999", "payload.items[10000000000000000]", "9" * 900):
        assert "numbers are limited to 10**15 in magnitude" in refused(source).detail, source


# --------------------------------------------------------------------------- the object


def test_condition_paths() -> None:
    condition = compile_condition(LOYAL)
    assert condition.paths == {"payload.amount", "customer.attributes.tenure_months"}
    assert referenced_paths(condition) == condition.paths
    assert isinstance(condition.paths, frozenset)
    source = ('exists(customer) and len(payload.items) > 0 and payload.items[0].sku == "a" '
              'and payload["first name"] == event.type and [payload.a][0].b == 1 '
              'and (payload.x or payload.y).z == 2 and lower(payload.items[-1]["s k"]) == "q"')
    assert compile_condition(source).paths == {
        "customer", "payload.items", "payload.items[0].sku", 'payload["first name"]',
        "event.type", "payload.a", "payload.x", "payload.y", 'payload.items[-1]["s k"]',
    }
    assert compile_condition("1 == 1").paths == frozenset()


def test_condition_is_frozen_comparable_and_pickles() -> None:
    condition = compile_condition(CLICKED)
    assert condition.source == CLICKED
    with pytest.raises(FrozenInstanceError):
        condition.source = "true"  # type: ignore[misc]
    assert condition == compile_condition(CLICKED)
    assert condition != compile_condition(LOYAL)
    assert CLICKED in repr(condition)
    context = ctx(event={"type": "link_clicked"}, payload={"link": "offer"})
    for clone in (pickle.loads(pickle.dumps(condition)), copy.deepcopy(condition)):
        assert isinstance(clone, Condition)
        assert clone == condition and clone.evaluate(context)


def test_custom_root_names() -> None:
    condition = compile_condition("order.total > 5 and not account.closed",
                                  names=["order", "account"])
    assert condition.evaluate({"order": {"total": 6}, "account": {"closed": False}})
    assert condition.paths == {"order.total", "account.closed"}
    assert "unknown name 'payload' (known: account, order)" in refused(
        "payload.x", names=("order", "account")).detail
    restored = pickle.loads(pickle.dumps(condition))
    assert restored.evaluate({"order": {"total": 6}, "account": {}})
    assert "unknown name 'x' (known: none)" in refused("x", names=()).detail
    assert compile_condition("1 < 2", names=()).evaluate({})


@pytest.mark.parametrize("name", ["_private", "true", "len", "class", "not an id", "", "ｐ", 5])
def test_bad_root_names_are_programming_errors(name: Any) -> None:
    with pytest.raises(ValueError, match="cannot be a root name"):
        compile_condition("1", names=[name])


def test_root_names_must_not_be_a_single_string() -> None:
    with pytest.raises(TypeError):
        compile_condition("payload", names="payload")


# --------------------------------------------------------------------------- totality

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 10**15, 10**400, 0.0, -0.0, float("nan"), float("inf"),
    Decimal("0"), Decimal("-1.5"), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
    Decimal("9e999999"), "", "abc", "12", "ä\x00", [], [1, "a", None], (), {}, {"a": {"b": 1}},
    {1: 2}, {(1, 2): 3}, {"a"}, frozenset({1}), object(), date(2024, 1, 1), b"bytes",
    complex(1, 2), [[[[[]]]]],
]

PROBES = [
    "payload.a == payload.b", "payload.a != payload.b", "payload.a < payload.b",
    "payload.a <= payload.b", "payload.a > payload.b", "payload.a >= payload.b",
    "payload.a in payload.b", "payload.a not in payload.b", "payload.a + payload.b",
    "payload.a - payload.b", "payload.a * payload.b", "payload.a / payload.b",
    "payload.a % payload.b", "-payload.a", "not payload.a", "payload.a and payload.b",
    "payload.a or payload.b", "len(payload.a)", "lower(payload.a)", "upper(payload.a)",
    "exists(payload.a)", "number(payload.a)", "payload.a.x", "payload.a[0]", "payload.a[-1]",
    "payload.a.b.c", "payload.a == [1, 'a', null]", "payload.a in [payload.b, 1, 'x']",
    "payload.a < 99.5", "payload.a == 0.1", "1 < payload.a < payload.b",
    "number(payload.a) > payload.b", "payload.a",
]


def odd_contexts() -> Iterator[dict[str, Any]]:
    for a, b in itertools.product(ODD_VALUES, repeat=2):
        yield {"payload": {"a": a, "b": b}}
    for value in ODD_VALUES:
        yield {"payload": value}
        yield {"payload": {"a": value}}


def test_evaluation_never_raises_on_any_data() -> None:
    """Property-style: every probe over every pair of odd values gives a bool."""
    conditions = [compile_condition(probe) for probe in PROBES]
    count = 0
    for context in odd_contexts():
        for condition in conditions:
            assert type(condition.evaluate(context)) is bool, (condition.source, context)
            count += 1
    assert count > 40_000


def test_deep_data_does_not_exhaust_the_stack() -> None:
    deep_a: Any = []
    deep_b: Any = []
    for _ in range(5000):
        deep_a, deep_b = [deep_a], [deep_b]
    condition = compile_condition("payload.a == payload.b")
    assert condition.evaluate(ctx(payload={"a": deep_a, "b": deep_b})) is False
    assert condition.evaluate(ctx(payload={"a": [[1]], "b": [[1.0]]})) is True
