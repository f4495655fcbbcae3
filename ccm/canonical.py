"""Canonical JSON: one text for equal data, whichever format or parser it came from.

Used for digests of customer data: ``12``, ``12.0`` and ``Decimal("12.00")`` are the same
amount and must give the same digest, so numbers are written in their shortest exact form.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any


def canonical_json(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


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
