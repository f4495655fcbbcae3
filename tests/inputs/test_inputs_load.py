"""load_data: format sniffing and dispatch."""

from __future__ import annotations

import pytest
from inputs_bill import BILL_JSON, BILL_SCHEMA, bill_xml

from ccm.errors import InputError, InputTooLargeError
from ccm.inputs import load_data, parse_json_data, sniff_format


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        ('{"a": 1}', "json"),
        (b'  \n{"a": 1}', "json"),
        ("<a/>", "xml"),
        ("\ufeff\n  <a/>", "xml"),
        (b"\xef\xbb\xbf <a/>", "xml"),
        ("<a/>".encode("utf-16"), "xml"),
        (b"", "json"),
    ],
)
def test_sniff_format(raw: bytes | str, fmt: str) -> None:
    assert sniff_format(raw) == fmt


def test_load_data_sniffs_and_both_formats_agree() -> None:
    from_json = load_data(BILL_JSON.encode(), schema=BILL_SCHEMA)
    from_xml = load_data(bill_xml().encode(), schema=BILL_SCHEMA)
    assert from_json == from_xml == parse_json_data(BILL_JSON)


def test_an_explicit_format_wins_over_sniffing() -> None:
    with pytest.raises(InputError, match="malformed JSON at line 1, column 1"):
        load_data("<a/>", fmt="json")
    with pytest.raises(InputError, match="malformed XML"):
        load_data('{"a": 1}', fmt="xml")


def test_an_unknown_format_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown data format 'yaml'"):
        load_data("a: 1", fmt="yaml")  # type: ignore[arg-type]


def test_the_size_limit_applies_to_both_formats() -> None:
    for raw in ('{"a": "xxxxxxxx"}', "<a>xxxxxxxxxxxxx</a>"):
        with pytest.raises(InputTooLargeError):
            load_data(raw, max_bytes=10)
