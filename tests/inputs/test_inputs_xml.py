"""parse_xml_data: the mapping to JSON's structure, and the refusal of hostile XML."""

from __future__ import annotations

import socket
import time
from decimal import Decimal
from typing import Any

import pytest
from inputs_bill import BILL_JSON, BILL_SCHEMA, ITEMS_REPEATED, ITEMS_WRAPPED, bill_xml

from ccm.errors import DataValidationError, ForbiddenMarkupError, InputError, InputTooLargeError
from ccm.inputs import load_data, parse_json_data, parse_xml_data, validate_data
from ccm.inputs.xml_data import MAX_ATTRIBUTES, parse_untrusted_xml

ITEM_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"description": {"type": "string"}, "amount": {"type": "number"}},
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}

# -- same data, same structure -----------------------------------------------------------


@pytest.mark.parametrize("items", [ITEMS_WRAPPED, ITEMS_REPEATED], ids=["wrapped", "repeated"])
def test_xml_and_json_of_the_same_bill_are_equal(items: str) -> None:
    from_json = parse_json_data(BILL_JSON)
    from_xml = parse_xml_data(bill_xml(items), BILL_SCHEMA)
    assert from_xml == from_json
    # Equal *and* of the same types, not merely Decimal('100') == 100.
    for got, want in zip(from_xml["items"], from_json["items"], strict=True):
        for key in want:
            assert type(got[key]) is type(want[key])
    assert str(from_xml["items"][1]["amount"]) == "0.10"
    assert from_xml["customer"]["id"] == 42  # attribute, coerced by the schema
    assert from_xml["paid"] is False
    assert from_xml["note"] is None
    validate_data(from_xml, BILL_SCHEMA)


def test_bytes_and_str_with_an_encoding_declaration_give_the_same_result() -> None:
    text = bill_xml()
    assert parse_xml_data(text.encode("utf-8"), BILL_SCHEMA) == parse_xml_data(text, BILL_SCHEMA)
    latin1 = '<?xml version="1.0" encoding="ISO-8859-1"?><d><name>Zoë</name></d>'
    assert parse_xml_data(latin1.encode("latin-1")) == {"name": "Zoë"}
    assert parse_xml_data(latin1) == {"name": "Zoë"}


@pytest.mark.parametrize(
    "xml",
    [
        "<d><items><item><description>Only</description><amount>1.5</amount></item></items></d>",
        "<d><items><description>Only</description><amount>1.5</amount></items></d>",
    ],
    ids=["wrapped", "repeated"],
)
def test_a_single_item_array_stays_a_list(xml: str) -> None:
    data = parse_xml_data(xml, ITEM_LIST_SCHEMA)
    assert data == {"items": [{"description": "Only", "amount": Decimal("1.5")}]}


def test_single_property_item_is_not_mistaken_for_a_wrapper() -> None:
    # The only child's tag is a property of the item schema: one item, repeated form.
    data = parse_xml_data("<d><items><amount>2</amount></items></d>", ITEM_LIST_SCHEMA)
    assert data == {"items": [{"amount": 2}]}


def test_arrays_of_scalars_in_both_forms() -> None:
    wrapped = parse_xml_data("<d><tags><tag>a</tag><tag>b</tag></tags></d>", ITEM_LIST_SCHEMA)
    repeated = parse_xml_data("<d><tags>a</tags><tags>b</tags></d>", ITEM_LIST_SCHEMA)
    single = parse_xml_data("<d><tags>a</tags></d>", ITEM_LIST_SCHEMA)
    assert wrapped == repeated == {"tags": ["a", "b"]}
    assert single == {"tags": ["a"]}


@pytest.mark.parametrize("empty", ["<items/>", "<items></items>", "<items>\n  </items>"])
def test_an_empty_wrapper_is_an_empty_list(empty: str) -> None:
    assert parse_xml_data(f"<d>{empty}</d>", ITEM_LIST_SCHEMA) == {"items": []}


def test_without_a_schema_scalars_stay_strings_and_repeats_become_lists() -> None:
    data = parse_xml_data(
        '<bill no="7"><amount>1.50</amount><line>a</line><line>b</line><empty/></bill>'
    )
    assert data == {"no": "7", "amount": "1.50", "line": ["a", "b"], "empty": ""}


def test_namespaces_are_reduced_to_local_names() -> None:
    xml = (
        '<b:bill xmlns:b="urn:b" xmlns:c="urn:c" c:ref="R1">'
        "<c:customer><b:name>Ada</b:name></c:customer></b:bill>"
    )
    assert parse_xml_data(xml) == {"ref": "R1", "customer": {"name": "Ada"}}


def test_type_lists_refs_nil_and_empty_elements() -> None:
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": ["string", "null"]},
            "blank": {"type": "string"},
            "discount": {"anyOf": [{"$ref": "#/$defs/money"}, {"type": "null"}]},
            "fee": {"$ref": "#/$defs/money"},
            "nil_number": {"type": "number"},
            "flags": {"type": "object", "properties": {"a": {"type": "boolean"}}},
            "switches": {"type": "array", "items": {"type": "boolean"}},
            "qty": {"type": ["integer", "string"]},
            "kind": {"enum": [1, 2, 3]},
        },
        "$defs": {"money": {"type": "number"}},
    }
    xml = """<d xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <note></note><blank></blank><discount/><fee> 12.345 </fee>
      <nil_number xsi:nil="true"/><flags a="TRUE"/>
      <switches><s>true</s><s>0</s><s>1</s><s>false</s></switches>
      <qty>0042</qty><kind>2</kind>
    </d>"""
    assert parse_xml_data(xml, schema) == {
        "note": None,
        "blank": "",
        "discount": None,
        "fee": Decimal("12.345"),
        "nil_number": None,
        "flags": {"a": True},
        "switches": [True, False, True, False],
        "qty": 42,
        "kind": 2,
    }


def test_values_that_cannot_be_coerced_stay_strings_for_validation_to_report() -> None:
    xml = bill_xml(ITEMS_WRAPPED.replace("<amount>100</amount>", "<amount>a lot</amount>"))
    xml = xml.replace("<quantity>30</quantity>", "<quantity>NaN</quantity>")
    xml = xml.replace("<paid>false</paid>", "<paid>maybe</paid>")
    data = parse_xml_data(xml, BILL_SCHEMA)
    assert data["items"][2]["amount"] == "a lot"
    assert data["items"][1]["quantity"] == "NaN"
    with pytest.raises(DataValidationError) as caught:
        validate_data(data, BILL_SCHEMA)
    assert [str(v) for v in caught.value.violations] == [
        "/items/1/quantity: expected integer",
        "/items/2/amount: expected number",
        "/paid: expected boolean",
    ]


def test_text_beside_attributes_is_kept_not_dropped() -> None:
    data = parse_xml_data('<d><amount currency="EUR">5.00</amount></d>')
    assert data == {"amount": {"currency": "EUR", "#text": "5.00"}}


def test_an_attribute_and_an_element_of_the_same_name_clash() -> None:
    with pytest.raises(InputError, match="/name: given both as an attribute and as an element"):
        parse_xml_data('<d name="a"><name>b</name></d>')


def test_comments_processing_instructions_and_predefined_entities() -> None:
    xml = '<?xml-stylesheet href="x.xsl"?><d><!-- c --><t>AT&amp;T &#233;<?pi x?></t></d>'
    assert parse_xml_data(xml) == {"t": "AT&T é"}


# -- hostile and broken XML --------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE bill [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bill><name>&xxe;</name></bill>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def _passwd_first_line() -> str:
    with open("/etc/passwd", encoding="utf-8") as handle:
        return handle.readline().strip()


def test_a_plain_doctype_is_refused() -> None:
    with pytest.raises(ForbiddenMarkupError) as caught:
        parse_xml_data("<!DOCTYPE bill><bill><a>1</a></bill>")
    assert str(caught.value) == "XML with a DTD (DOCTYPE) is not accepted"
    assert caught.value.code == "input_forbidden_markup"


def test_xxe_is_refused_and_the_file_never_appears() -> None:
    with pytest.raises(ForbiddenMarkupError) as caught:
        parse_xml_data(XXE)
    assert "DOCTYPE" in str(caught.value)
    assert _passwd_first_line() not in str(caught.value)


def test_xxe_is_refused_by_the_second_line_of_defence_too() -> None:
    # Straight to the parser, past the raw-text check: the locked-down parser
    # resolves nothing and the tree check refuses the DTD.
    with pytest.raises(ForbiddenMarkupError) as caught:
        parse_untrusted_xml(XXE)
    assert _passwd_first_line() not in str(caught.value)
    assert "root:" not in str(caught.value)


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    for attempt in (
        lambda: parse_xml_data(BILLION_LAUGHS),
        lambda: parse_untrusted_xml(BILLION_LAUGHS),
    ):
        with pytest.raises(ForbiddenMarkupError):
            attempt()
    assert time.perf_counter() - started < 0.5


def test_an_external_dtd_is_refused() -> None:
    with pytest.raises(ForbiddenMarkupError, match=r"DTD \(DOCTYPE\) is not accepted"):
        parse_xml_data('<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>')


def test_an_external_dtd_is_never_fetched() -> None:
    # A real listener on loopback: had the parser tried to fetch the DTD, the
    # connection would be waiting in the backlog.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        doc = f'<!DOCTYPE x SYSTEM "http://127.0.0.1:{port}/x.dtd"><x>&ext;</x>'.encode()
        with pytest.raises(ForbiddenMarkupError):
            parse_untrusted_xml(doc)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_entity_references_without_a_dtd_are_refused() -> None:
    with pytest.raises(ForbiddenMarkupError, match="entity references") as caught:
        parse_xml_data("<bill><name>&xxe;</name></bill>")
    assert "line 1" in str(caught.value)


def test_a_doctype_in_utf16_is_refused() -> None:
    with pytest.raises(ForbiddenMarkupError, match="DOCTYPE"):
        parse_xml_data(
            XXE.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16")
        )


def test_an_entity_declaration_is_refused() -> None:
    with pytest.raises(ForbiddenMarkupError, match="entity declaration"):
        parse_xml_data('<x><!ENTITY e "v"></x>')


@pytest.mark.parametrize(
    ("xml", "position"),
    [
        ("<bill>\n  <a>1</b>\n</bill>", "line 2, column"),
        ("<bill><t>AT&T</t></bill>", "line 1, column"),  # a stray '&' is a typo, not an attack
        ("", "line 1, column 1"),
    ],
)
def test_malformed_xml_names_line_and_column(xml: str, position: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_xml_data(xml)
    assert type(caught.value) is InputError
    assert str(caught.value).startswith("malformed XML at " + position)


def test_oversize_xml_is_refused_before_parsing() -> None:
    # Deliberately also malformed: the size check must come first.
    with pytest.raises(
        InputTooLargeError, match="XML data is 101 bytes, larger than the limit of 100"
    ):
        parse_xml_data(b"<" * 101, max_bytes=100)


# -- documents that would be slow to walk ------------------------------------------------


def _with_attributes(count: int) -> bytes:
    attributes = " ".join(f'a{i}="1"' for i in range(count))
    return f"<bill>\n<customer><name {attributes}/></customer></bill>".encode()


def test_an_element_with_too_many_attributes_is_refused() -> None:
    assert MAX_ATTRIBUTES == 256
    with pytest.raises(InputError) as caught:
        parse_xml_data(_with_attributes(MAX_ATTRIBUTES + 1))
    assert type(caught.value) is InputError
    assert str(caught.value) == (
        "XML element /bill/customer/name (line 2) has 257 attributes, more than the limit of 256"
    )


def test_an_element_with_as_many_attributes_as_the_limit_is_accepted() -> None:
    data = parse_xml_data(_with_attributes(MAX_ATTRIBUTES))
    assert data["customer"]["name"] == {f"a{i}": "1" for i in range(MAX_ATTRIBUTES)}


def test_xsi_attributes_count_towards_the_limit() -> None:
    # Dropped from the data, but read back all the same.
    attributes = " ".join(f'x:a{i}="1"' for i in range(MAX_ATTRIBUTES + 1))
    with pytest.raises(InputError, match="has 257 attributes"):
        parse_xml_data(f'<d xmlns:x="http://www.w3.org/2001/XMLSchema-instance" {attributes}/>')


def test_an_attribute_flood_is_refused_without_being_read() -> None:
    # 100,000 attributes on one element: about 1 MB, well within the size limit,
    # and half a minute to map had it got that far. Refused in milliseconds.
    flood = ("<r " + " ".join(f'a{i}="1"' for i in range(100_000)) + "/>").encode()
    with pytest.raises(InputError, match=r"XML element /r \(line 1\) has 100000 attributes"):
        load_data(flood, fmt="xml")


def test_nesting_deeper_than_256_is_refused() -> None:
    data: Any = parse_xml_data("<a>" * 256 + "</a>" * 256)
    for _ in range(255):  # the root element is the top-level object itself
        data = data["a"]
    assert data == ""
    with pytest.raises(InputError, match="Excessive depth"):
        parse_xml_data("<a>" * 257 + "</a>" * 257)
