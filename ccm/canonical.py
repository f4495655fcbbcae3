"""Canonical JSON: one text for equal data, whichever format or parser it came from.

Used for digests of customer data: ``12``, ``12.0`` and ``Decimal("12.00")`` are the same
amount and must give the same digest, so numbers are written in their shortest exact form.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any


def canonical_json(value: Any) -> str:
    # Fast path: numbers become marked strings, the C encoder writes everything (sorted
    # keys, no spaces), and the marks are then turned back into bare numbers. Data whose
    # text could be mistaken for a mark (a NUL character) or with keys that are not text
    # takes the slow path, which writes the same text piece by piece.
    try:
        marked = _mark_numbers(value)
        text = json.dumps(marked, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except _NotMarkable:
        parts: list[str] = []
        _write(value, parts)
        return "".join(parts)
    return _MARKED_NUMBER.sub(r"\1", text)


class _NotMarkable(Exception):
    pass


#: How a marked number looks once json.dumps has escaped its NUL marks.
_MARKED_NUMBER = re.compile(r'"\\u0000([-0-9.]+)\\u0000"')


def _mark_numbers(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise _NotMarkable
        return value
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return f"\x00{_number(value)}\x00"
    if isinstance(value, float):
        return f"\x00{_number(Decimal(repr(value)))}\x00"
    if isinstance(value, dict):
        if not all(type(key) is str for key in value):
            raise _NotMarkable
        return {key: _mark_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_numbers(item) for item in value]
    return _mark_numbers(str(value))


def canonical_digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _write(value: Any, parts: list[str]) -> None:
    if value is None or isinstance(value, bool | str):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, float):
        parts.append(_number(Decimal(repr(value))))
    elif isinstance(value, Decimal):
        parts.append(_number(value))
    elif isinstance(value, dict):
        parts.append("{")
        for index, key in enumerate(sorted(value, key=str)):
            if index:
                parts.append(",")
            parts.append(json.dumps(str(key), ensure_ascii=False))
            parts.append(":")
            _write(value[key], parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        parts.append(json.dumps(str(value), ensure_ascii=False))
