"""Checking customer data against a template's JSON Schema (Draft 2020-12).

Every violation is reported at once, each with a JSON Pointer and a short message a
billing-system operator can act on (``/items/3/amount: expected number``), instead
of jsonschema's first error in its own wording.

Data read by :mod:`ccm.inputs` carries non-integral numbers as ``Decimal``; the
validator counts a ``Decimal`` as a ``number`` and, when it has no fractional part,
as an ``integer`` (as jsonschema already does for ``3.0``). Compiled validators are
cached per schema, since one template schema validates thousands of documents.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import fastjsonschema
import referencing
import referencing.exceptions
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from ccm.errors import DataValidationError, InputError, Violation
from ccm.inputs.json_data import normalise_numbers

__all__ = ["clear_validator_cache", "validate_data"]

# Enough for every template of a registry; bounded so a caller sending ever-new
# schemas cannot grow memory without limit.
_CACHE_SIZE = 256

# Beyond this decimal exponent multipleOf is not computed exactly: the Fraction of
# 1E+999999999 alone would take gigabytes. No amount on a bill comes near it.
_MAX_EXPONENT = 4000


def _is_integer(checker: Any, instance: Any) -> bool:
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return bool(Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer"))


def _to_fraction(number: Any) -> Fraction | None:
    if isinstance(number, float):
        # repr gives the shortest decimal that round-trips: 0.01, not 0.01000000000000000020816...
        return Fraction(repr(number))
    if isinstance(number, Decimal):
        if not number.is_finite() or abs(number.as_tuple().exponent) > _MAX_EXPONENT:  # type: ignore[arg-type]
            return None
        return Fraction(number)
    if isinstance(number, int):
        return Fraction(number)
    return None


def _multiple_of(
    validator: Validator, divisor: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    # jsonschema's own multipleOf divides a Decimal by a float (TypeError) and uses
    # float arithmetic, in which 0.3 is not a multiple of 0.1. Money needs exact.
    if not validator.is_type(instance, "number"):
        return
    value, step = _to_fraction(instance), _to_fraction(divisor)
    if value is None or step is None or step == 0 or (value / step).denominator != 1:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


_Base = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={"multipleOf": _multiple_of},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _no_remote(uri: str) -> referencing.Resource[Any]:
    # jsonschema would otherwise download a remote $ref (with a warning). Template
    # schemas are self-contained; data validation never touches the network.
    # (referencing's attrs wrapper hides the constructor from mypy.)
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


_REGISTRY: referencing.Registry[Any] = referencing.Registry(retrieve=_no_remote)  # type: ignore[call-arg]

_cache: OrderedDict[str, Validator] = OrderedDict()
_cache_lock = threading.Lock()


def clear_validator_cache() -> None:
    """Forget every compiled validator (for tests, or after templates change)."""
    with _cache_lock:
        _cache.clear()
        _by_identity.clear()


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A schema's two validators: a compiled one that answers "valid?" in microseconds,
    and the full one that lists every violation with its path when the answer is no."""

    full: Validator
    fast: Callable[[Any], Any] | None


#: Same schema object -> its validators, without re-serialising the schema per document.
_by_identity: dict[int, tuple[Mapping[str, Any], _Compiled]] = {}


def _compiled_for(schema: Mapping[str, Any]) -> _Compiled:
    entry = _by_identity.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    full = _validator_for(schema)
    fast: Callable[[Any], Any] | None = None
    # The compiler speaks draft-07 and would fetch a remote $ref itself: schemas using
    # either a 2020-12-only keyword or an outside reference go to the full validator alone.
    keywords = set(_keywords(schema))
    if not keywords & _DRAFT_2020_ONLY and not any(
        not ref.startswith("#") for ref in _refs(schema)
    ):
        try:
            fast = fastjsonschema.compile(dict(schema))
        except Exception:  # a feature the compiler lacks: the full validator does it all
            fast = None
    compiled = _Compiled(full, fast)
    with _cache_lock:
        if len(_by_identity) >= _CACHE_SIZE:
            _by_identity.clear()
        _by_identity[id(schema)] = (schema, compiled)
    return compiled


_DRAFT_2020_ONLY = frozenset({
    "unevaluatedProperties", "unevaluatedItems", "dependentRequired", "dependentSchemas",
    "prefixItems", "$dynamicRef", "$dynamicAnchor", "$anchor", "minContains", "maxContains",
    "$recursiveRef",
})


def _keywords(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _keywords(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keywords(item)


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("$ref", "$dynamicRef", "$id") and isinstance(item, str):
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _validator_for(schema: Mapping[str, Any]) -> Validator:
    key = json.dumps(schema, sort_keys=True, default=str)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    try:
        _Base.check_schema(schema)
    except SchemaError as exc:
        where = _pointer(exc.absolute_path)
        raise InputError(
            f"template schema is invalid: {where + ': ' if where else ''}{exc.message}"
        ) from None
    # Floats in the schema (minimum: 0.01, enum: [0.5]) become Decimal so they
    # compare exactly with the Decimals in the data.
    validator: Validator = _Base(
        normalise_numbers(schema),
        registry=_REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    with _cache_lock:
        _cache[key] = validator
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return validator


def validate_data(data: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Check ``data`` against the JSON Schema ``schema`` (Draft 2020-12).

    Raises:
        DataValidationError: listing every violation, sorted by path.
        InputError: the schema itself is invalid (``template schema is invalid: ...``).
    """
    compiled = _compiled_for(schema)
    if compiled.fast is not None:
        try:
            compiled.fast(data)
            return
        except Exception:
            pass  # the full validator names every violation (or overrules a false alarm)
    validator = compiled.full
    found: dict[tuple[tuple[tuple[int, Any], ...], str], Violation] = {}
    try:
        for error in validator.iter_errors(data):
            for parts, message in _describe(error):
                found.setdefault((_sort_key(parts), message), Violation(_pointer(parts), message))
    except referencing.exceptions.Unresolvable as exc:
        raise InputError(f"template schema is invalid: cannot resolve $ref {exc}") from None
    if found:
        raise DataValidationError([found[key] for key in sorted(found)])


def _sort_key(parts: list[Any]) -> tuple[tuple[int, Any], ...]:
    # Numeric indexes sort as numbers (/items/2 before /items/10).
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in parts)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _describe(error: ValidationError) -> list[tuple[list[Any], str]]:
    """One error -> (path parts, message) pairs; some errors name several paths."""
    path = list(error.absolute_path)
    keyword = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance

    if keyword == "required" and isinstance(instance, Mapping):
        # Reported at the missing property's own path, one violation per property.
        return [
            ([*path, name], "required property is missing")
            for name in value
            if name not in instance
        ]
    if keyword == "dependentRequired" and isinstance(instance, Mapping):
        return [
            ([*path, name], "required property is missing")
            for present, needed in value.items()
            if present in instance
            for name in needed
            if name not in instance
        ]
    if keyword == "additionalProperties" and value is False and isinstance(instance, Mapping):
        extras = _extra_properties(instance, error.schema)
        if extras:
            return [([*path, name], "property is not allowed") for name in extras]
    if keyword == "unevaluatedProperties" and isinstance(instance, Mapping):
        # What counts as evaluated depends on every applicator around; jsonschema
        # has worked it out and names the culprits, quoted, in its message.
        extras = [name for name in instance if repr(name) in error.message]
        if extras:
            return [([*path, name], "property is not allowed") for name in extras]
    return [(path, _message(error, keyword, value))]


def _extra_properties(instance: Mapping[str, Any], schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    declared = schema.get("properties") or {}
    patterns = list(schema.get("patternProperties") or {})
    return [
        name
        for name in instance
        if name not in declared and not any(re.search(p, name) for p in patterns)
    ]


def _message(error: ValidationError, keyword: Any, value: Any) -> str:
    if keyword == "type":
        return f"expected {_types(value)}"
    if keyword == "enum":
        return "must be one of " + ", ".join(_show(v) for v in value)
    if keyword == "const":
        return f"must be {_show(value)}"
    if keyword == "minItems":
        return f"expected at least {value} {_plural(value, 'item')}"
    if keyword == "maxItems":
        return f"expected at most {value} {_plural(value, 'item')}"
    if keyword == "minLength":
        return f"expected at least {value} {_plural(value, 'character')}"
    if keyword == "maxLength":
        return f"expected at most {value} {_plural(value, 'character')}"
    if keyword == "minProperties":
        return f"expected at least {value} {_plural(value, 'property', 'properties')}"
    if keyword == "maxProperties":
        return f"expected at most {value} {_plural(value, 'property', 'properties')}"
    if keyword == "minimum":
        return f"must be at least {value}"
    if keyword == "maximum":
        return f"must be at most {value}"
    if keyword == "exclusiveMinimum":
        return f"must be greater than {value}"
    if keyword == "exclusiveMaximum":
        return f"must be less than {value}"
    if keyword == "multipleOf":
        return f"must be a multiple of {value}"
    if keyword == "pattern":
        return f"does not match pattern {value!r}"
    if keyword == "format":
        return f"does not match format {value!r}"
    if keyword == "uniqueItems":
        return "items must be unique"
    if keyword in ("anyOf", "oneOf"):
        # The common nullable form anyOf: [{type: number}, {type: null}] reads best as
        # "expected number or null"; anything richer gets a generic message.
        context = error.context or []
        if context and all(e.validator == "type" and not e.relative_path for e in context):
            return "expected " + _types([t for e in context for t in _as_list(e.validator_value)])
        if keyword == "oneOf" and not context:
            return "must match exactly one of the allowed forms, but matches several"
        return "does not match any of the allowed forms"
    if keyword == "not":
        return "is not allowed here"
    if keyword == "contains":
        return "expected at least one matching item"
    if keyword is None or value is False:
        return "no value is allowed here"
    return error.message


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _types(value: Any) -> str:
    names = list(dict.fromkeys(str(v) for v in _as_list(value)))
    return " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " or " + names[-1]


def _plural(count: Any, word: str, plural: str | None = None) -> str:
    return word if count == 1 else (plural or word + "s")


def _show(value: Any) -> str:
    # Values as a JSON author would recognise them, strings in quotes.
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return json.dumps(value, default=str, sort_keys=True)
