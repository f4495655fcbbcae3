"""Reading customer data sent as JSON.

Billing systems send the data for one document (a bill, a letter, ...) as a JSON
object. Numbers that are not integers are read as :class:`~decimal.Decimal`, never
as ``float``: an amount of ``0.10`` must stay exactly ``0.10`` all the way to the
printed page. :func:`normalise_numbers` brings data that another JSON parser has
already read (a web framework's, say) to the same shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ccm.errors import InputError, InputTooLargeError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "check_size",
    "normalise_numbers",
    "parse_json_data",
]

#: Largest customer data document accepted by default (5 MiB); a bill is a few KiB.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


def check_size(raw: bytes | str, max_bytes: int, what: str) -> None:
    """Refuse ``raw`` when it is longer than ``max_bytes`` (counted in UTF-8 bytes).

    Called before any parsing so that an oversized document costs nothing but this
    check.
    """
    if isinstance(raw, str):
        # A str never has more characters than its UTF-8 form has bytes, so the
        # cheap length test settles the common oversized case without encoding.
        size = len(raw) if len(raw) > max_bytes else len(raw.encode("utf-8", "surrogatepass"))
    else:
        size = len(raw)
    if size > max_bytes:
        raise InputTooLargeError(
            f"{what} is {size} bytes, larger than the limit of {max_bytes} bytes"
        )


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and have no place
    # in an amount of money.
    raise InputError(f"malformed JSON: {name} is not a valid JSON number")


def parse_json_data(raw: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse customer data sent as JSON; the top level must be an object.

    Non-integral numbers become :class:`~decimal.Decimal` (exact money), integers
    stay ``int``.

    Raises:
        InputTooLargeError: ``raw`` is larger than ``max_bytes``.
        InputError: the JSON is malformed (the message names line and column) or
            its top level is not an object.
    """
    check_size(raw, max_bytes, "JSON data")
    if isinstance(raw, str) and raw.startswith("\ufeff"):
        # json.loads refuses a BOM in a str (it accepts one in bytes); editors on
        # Windows like to add one.
        raw = raw[1:]
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"JSON data is not valid UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise InputError("malformed JSON: nested too deeply") from None
    except ValueError as exc:
        # E.g. an integer longer than Python's int/str conversion limit.
        raise InputError(f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"JSON data must be an object at the top level, not {_json_kind(data)}")
    return data


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def normalise_numbers(value: Any) -> Any:
    """Return a deep copy of a JSON-like structure with every ``float`` as ``Decimal``.

    ``Decimal(repr(f))`` is used so that ``0.1`` becomes ``Decimal('0.1')``, exactly
    what :func:`parse_json_data` gives for the same text; bools and ints are kept.
    Mappings become dicts and tuples become lists, as JSON would give them.

    Raises:
        InputError: a float is NaN or infinite (not representable in JSON), or the
            structure is nested too deeply.
    """
    try:
        return _normalise(value)
    except RecursionError:
        raise InputError("data is nested too deeply") from None


def _normalise(value: Any) -> Any:
    # bool is a subclass of int, not of float, so it falls through untouched.
    if isinstance(value, str | int | Decimal) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value!r} is not a valid JSON number")
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value
