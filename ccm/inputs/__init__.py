"""Customer data in: JSON or XML from billing systems, read safely and checked.

Both formats give the same Python structure for the same data (dicts, lists, str,
int, ``Decimal`` for every non-integral number, bool, ``None``), so templates never
need to know which one a billing system sent. Typical use::

    data = load_data(raw, schema=template.schema)   # parse (XML guided by the schema)
    validate_data(data, template.schema)             # every violation at once

:func:`load_data` only parses; validating is always a separate, explicit step.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any, Literal

from ccm.errors import InputError
from ccm.inputs.json_data import DEFAULT_MAX_BYTES, normalise_numbers, parse_json_data
from ccm.inputs.validation import clear_validator_cache, validate_data
from ccm.inputs.xml_data import TEXT_KEY, parse_xml_data

__all__ = [
    "DEFAULT_MAX_BYTES",
    "TEXT_KEY",
    "clear_validator_cache",
    "load_data",
    "normalise_numbers",
    "parse_json_data",
    "parse_xml_data",
    "sniff_format",
    "validate_data",
]

_BOMS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


def sniff_format(raw: bytes | str) -> Literal["json", "xml"]:
    """``"xml"`` when the first non-whitespace character is ``<``, else ``"json"``.

    A leading byte order mark is skipped; NUL bytes are ignored so that UTF-16 and
    UTF-32 XML is recognised too. Only the first KiB is looked at.
    """
    if isinstance(raw, str):
        return "xml" if raw[:1024].lstrip("\ufeff \t\r\n").startswith("<") else "json"
    head = raw[:1024]
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    head = head.replace(b"\x00", b"").lstrip(b" \t\r\n")
    return "xml" if head.startswith(b"<") else "json"


def load_data(
    raw: bytes | str,
    *,
    fmt: Literal["json", "xml"] | None = None,
    schema: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """Parse customer data as JSON or XML (``fmt=None``: sniffed, see :func:`sniff_format`).

    ``schema`` guides the XML mapping (arrays, scalar types); JSON carries its own
    types and ignores it. No validation happens here: call :func:`validate_data`.

    Raises:
        InputTooLargeError, ForbiddenMarkupError, InputError: as the parsers do.
    """
    chosen = fmt if fmt is not None else sniff_format(raw)
    if chosen == "json":
        return parse_json_data(raw, max_bytes=max_bytes)
    if chosen == "xml":
        return parse_xml_data(raw, schema, max_bytes=max_bytes)
    raise InputError(f"unknown data format {chosen!r}: expected 'json' or 'xml'")
